"""One assembly for ``devhelion serve`` and the desktop app: the API (``configure_app``), the dashboard's session
gate and page, the budget monitor, ``server.json`` for the relays. Only how the server is run differs."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from desktop.budgets.monitor import BudgetMonitor
from desktop.notify import Notifier
from desktop.relay import SERVER_FILE
from desktop.server.app import configure_app
from desktop.server.dashboard_auth import DashboardAuth, install_dashboard_auth
from store.archive import Archive, open_default
from store.keys import archive_keys, ensure_local_key
from store.paths import data_home


@dataclass
class Server:
    app: FastAPI
    archive: Archive
    api_key: str
    auth: DashboardAuth
    budgets: BudgetMonitor
    host: str
    port: int

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        host = "127.0.0.1" if host in ("0.0.0.0", "[::]") else host
        return f"http://{host}:{self.port}"


# ``ui.run`` options of every entry point (headless ``serve`` and the desktop app). No gzip: the server listens
# on loopback unless told otherwise, where compressing saves nothing and costs CPU on every answer (Starlette's
# level 9 took ~12 ms of a 40 KB API answer, and more for the dashboard's scripts on every page load).
UI_RUN_OPTIONS: dict[str, Any] = {"reload": False, "show": False, "show_welcome_message": False,
                                  "title": "Devhelion", "fastapi_docs": False, "uvicorn_logging_level": "warning",
                                  "gzip_middleware_factory": None}


def prepare_server(host: str, port: int, watch: bool = True, notifier: Notifier | None = None,
                   desktop: bool = False) -> Server:
    """Open the archive and wire NiceGUI's app; the caller runs it (``ui.run``) on the thread it chooses."""
    from nicegui import app

    archive = open_default()
    try:
        api_key = ensure_local_key(archive_keys(archive))  # the key file's key, a live key of the key store
        auth = install_dashboard_auth(app, api_key)  # before configure_app: inside its security middleware
        configure_app(app, archive, api_key, bind_host=host, live=watch)
        monitor = BudgetMonitor(archive, app.state.bus, notifier if notifier is not None else Notifier())
        monitor.attach(app.state.sync)
        app.state.budgets = monitor
    except BaseException:
        archive.close()
        raise
    app.on_startup(monitor.start)
    app.on_startup(lambda: _write_server_file(port, desktop))
    app.on_shutdown(lambda: monitor.stop())  # after the live service stops: the last ingest is counted
    app.on_shutdown(archive.close)
    app.on_shutdown(_remove_server_file)
    return Server(app, archive, api_key, auth, monitor, host, port)


def _write_server_file(port: int, desktop: bool) -> None:
    """Tell local helpers (hook relay, statusline, a second launch) where the running app listens."""
    path = data_home() / SERVER_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"port": port, "pid": os.getpid(), "desktop": desktop}), "utf-8")
    os.replace(tmp, path)


def _remove_server_file() -> None:
    path = data_home() / SERVER_FILE
    try:
        if json.loads(path.read_text("utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass
