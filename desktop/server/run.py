"""``devhelion serve``: open the archive, create the API key on first run, and serve until interrupted."""

from __future__ import annotations

import logging
import signal
from typing import Any

from desktop.server.setup import UI_RUN_OPTIONS, prepare_server
from store.api_key import key_path

log = logging.getLogger(__name__)


def serve(host: str = "127.0.0.1", port: int = 8787, watch: bool = True) -> None:
    """Run headless in this thread; returns when the server stops (Ctrl+C or SIGTERM)."""
    from nicegui import ui  # imported here: the rest of the CLI must start fast

    server = prepare_server(host, port, watch=watch)
    print(f"Devhelion API on {server.base_url}/api/docs (key in {key_path()})", flush=True)
    print(f"Dashboard: {server.base_url}/ (it asks for that key)", flush=True)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler found before it
    # started: with these, a stop is a normal exit (status 0) instead of a death by signal.
    previous = signal.signal(signal.SIGTERM, _exit_normally)
    try:
        ui.run(host=host, port=port, **UI_RUN_OPTIONS)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    print("Devhelion API stopped", flush=True)


def _exit_normally(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
