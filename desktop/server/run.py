"""``devhelion serve``: open the archive, create the API key on first run, and serve until interrupted."""

from __future__ import annotations

import json
import logging
import os
import signal
from typing import Any

from desktop.relay import SERVER_FILE
from desktop.server.app import configure_app
from store.api_key import key_path, load_or_create_key
from store.archive import open_default
from store.paths import data_home

log = logging.getLogger(__name__)


def serve(host: str = "127.0.0.1", port: int = 8787, watch: bool = True) -> None:
    """Run headless in this thread; returns when the server stops (Ctrl+C or SIGTERM)."""
    from nicegui import app, ui  # imported here: the rest of the CLI must start fast

    archive = open_default()
    api_key = load_or_create_key()
    configure_app(app, archive, api_key, bind_host=host, live=watch)
    app.on_shutdown(archive.close)
    app.on_startup(lambda: _write_server_file(port))
    app.on_shutdown(_remove_server_file)
    print(f"Devhelion API on http://{_url_host(host)}:{port}/api/docs (key in {key_path()})", flush=True)
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler found before it
    # started: with these, a stop is a normal exit (status 0) instead of a death by signal.
    previous = signal.signal(signal.SIGTERM, _exit_normally)
    try:
        ui.run(host=host, port=port, reload=False, show=False, show_welcome_message=False, title="Devhelion",
               fastapi_docs=False, uvicorn_logging_level="warning")
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    print("Devhelion API stopped", flush=True)


def _write_server_file(port: int) -> None:
    """Tell local helpers (hook relay, statusline) where the running app listens."""
    path = data_home() / SERVER_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"port": port, "pid": os.getpid()}), "utf-8")
    os.replace(tmp, path)


def _remove_server_file() -> None:
    path = data_home() / SERVER_FILE
    try:
        if json.loads(path.read_text("utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def _exit_normally(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
