"""``devhelion`` with a display: one process owning the server (thread), the tray (main thread) and the watcher,
plus the dashboard window in a child process while it is open.

Start: take the single-instance lock (or ask the running app to show its window and leave), serve on a thread,
wait until it answers, run the tray. Quit (menu, SIGTERM, SIGINT, SIGHUP): leave the tray loop, close the window
process, stop the server, whose shutdown stops the watcher, waits for the ingest in progress (each file is one
transaction) and the budget monitor, then closes the archive.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time

from desktop.app.controller import DesktopController
from desktop.app.instance import LOCAL, InstanceLock, show_running_instance
from desktop.app.signals import install_python_handlers
from desktop.server.setup import UI_RUN_OPTIONS, Server, prepare_server
from store.api_key import key_path
from store.paths import data_home

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        if os.name == "posix":  # as uvicorn binds: a closed connection lingering in TIME_WAIT is no obstacle
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def pick_port(host: str, port: int) -> int:
    """The requested port, else a free one (``server.json`` tells the relays which)."""
    if port_is_free(host, port):
        return port
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        free = sock.getsockname()[1]
    log.warning("port %s is in use; serving on %s instead", port, free)
    return free


def start_server_thread(server: Server) -> threading.Thread:
    from nicegui import ui

    def run() -> None:
        ui.run(host=server.host, port=server.port, **UI_RUN_OPTIONS)

    thread = threading.Thread(target=run, name="devhelion-server", daemon=True)
    thread.start()
    return thread


def wait_until_serving(server: Server, thread: threading.Thread, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not thread.is_alive():
            raise RuntimeError("the server stopped during start-up (see the messages above)")
        try:
            with LOCAL.open(f"{server.base_url}/api/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the server did not answer within {timeout:.0f} s")


def stop_server(thread: threading.Thread) -> bool:
    from nicegui import app

    if thread.is_alive():
        app.shutdown()  # uvicorn's graceful exit, then NiceGUI's shutdown handlers (watcher, ingest, archive)
        thread.join(STOP_TIMEOUT_S)
    return not thread.is_alive()


def run_desktop(host: str = "127.0.0.1", port: int = 8787, watch: bool = True, hidden: bool = False) -> int:
    started = time.monotonic()
    lock = InstanceLock()
    if not lock.acquire():
        outcome = show_running_instance()
        if outcome == "shown":
            print("Devhelion is already running: its window was brought forward.", flush=True)
            return 0
        if outcome == "headless":
            print("Devhelion is already running headless (it has no window): see server.json for its port.",
                  flush=True)
            return 0
        print("Devhelion is already running but did not answer; if it is stuck, stop it and start again.",
              file=sys.stderr, flush=True)
        return 1
    thread: threading.Thread | None = None
    controller: DesktopController | None = None
    try:
        from desktop.app.icons import write_icon
        from desktop.notify import Notifier

        icon_path = write_icon(data_home() / "icons" / "devhelion.png")
        server = prepare_server(host, pick_port(host, port), watch=watch, notifier=Notifier(icon_path=icon_path),
                                desktop=True)
        controller = DesktopController(server, hidden=hidden, icon_path=icon_path)
        controller.started = started
        from desktop.app.control_api import router
        from desktop.server.app import include_routers

        include_routers(server.app, [router])
        server.app.state.desktop = controller
        install_python_handlers(controller.quit)
        if not hidden:
            controller.window.prestart()
        thread = start_server_thread(server)
        wait_until_serving(server, thread)
        print(f"Devhelion is running: tray icon and dashboard window ({server.base_url}/, API key in {key_path()}). "
              "Quit from the tray menu.", flush=True)
        controller.run()
        return 0
    finally:
        if controller is not None:
            controller.shutdown()
        if thread is not None and not stop_server(thread):
            log.error("the server did not stop within %.0f s", STOP_TIMEOUT_S)
        lock.release()
        print("Devhelion stopped", flush=True)
