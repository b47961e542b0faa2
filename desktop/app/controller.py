"""The desktop app's moving parts together: server, tray, window process, and the worker that keeps the tray's
figures live (today's spend, the 5-hour block, budget states) from bus events and a one-minute timer."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from desktop.app import autostart
from desktop.app.signals import install_glib_handlers
from desktop.app.tray import Tray
from desktop.app.tray_model import TrayModel
from desktop.app.window_process import WindowProcess
from desktop.budgets.monitor import status_line
from desktop.server.setup import Server
from desktop.usage_summary import usage_summary
from store.sync_runner import SyncInProgress

log = logging.getLogger(__name__)

REFRESH_EVENTS = ("request.added", "sync.finished", "budgets.status", "budget.warning", "budget.exceeded",
                  "watch.paused", "watch.resumed")
PERIODIC_REFRESH_S = 60.0  # the day and the 5-hour block roll over without any event
DEBOUNCE_S = 0.25
TRAY_CHECK_S = 10.0  # a tray host embeds the icon within a moment of it appearing


class DesktopController:
    def __init__(self, server: Server, hidden: bool = False, icon_path: Any = None) -> None:
        self.server = server
        self.hidden = hidden
        self.icon_path = icon_path
        self.started = time.monotonic()
        self.model = TrayModel(watching=server.app.state.live is not None)
        self.window = WindowProcess(lambda: server.auth.open_url(server.base_url))
        self.tray: Tray | None = None
        self.quitting = threading.Event()
        self._dirty = threading.Event()
        self._updater: threading.Thread | None = None

    # -- tray actions (GUI thread: quick, or handed to a worker) -------------------------------------
    def open_window(self) -> str:
        return self.window.open()

    def toggle_pause(self) -> None:
        live = self.server.app.state.live
        if live is None:
            return
        if live.paused:
            live.resume()
        else:
            live.pause()
        self._dirty.set()

    def sync_now(self) -> None:
        try:
            self.server.app.state.sync.start()
        except SyncInProgress:
            log.info("sync now: a sync is already running")

    def toggle_autostart(self) -> None:
        autostart.set_enabled(not autostart.is_enabled(), self.icon_path)
        self._dirty.set()

    def quit(self) -> None:
        """Leave the GUI loop; :meth:`shutdown` then stops everything in order."""
        if self.quitting.is_set():
            return
        self.quitting.set()
        self._dirty.set()
        if self.tray is not None:
            self.tray.stop()

    # -- life cycle ----------------------------------------------------------------------------------
    def run(self) -> None:
        """Build the tray and run its loop on this (main) thread until Quit or a signal."""
        self.tray = Tray(self)
        self.server.app.state.bus.add_listener(self._on_event)
        self._updater = threading.Thread(target=self._update_loop, name="devhelion-tray", daemon=True)
        self._updater.start()
        if self.quitting.is_set():  # a signal arrived during start-up
            return
        self.tray.run(self._ready)

    def _ready(self) -> None:
        install_glib_handlers(self.quit)
        if not self.hidden:
            self.open_window()
        log.info("tray ready (%s backend), %.1f s after start", self.tray.backend if self.tray else "?",
                 time.monotonic() - self.started)
        check = threading.Timer(TRAY_CHECK_S, self._check_tray)
        check.daemon = True
        check.start()

    def _check_tray(self) -> None:
        if self.tray is not None and self.tray.embedded() is False and not self.quitting.is_set():
            log.warning("no system tray shows the icon (on GNOME, install the AppIndicator extension): after the "
                        "window is closed, run `devhelion` again to reopen it")

    def shutdown(self) -> None:
        """Close the window, stop the tray worker; the server is stopped by the caller."""
        self.quitting.set()
        self.server.app.state.sync.cancel()  # an ingest winds down (to its next commit) while the rest closes
        self._dirty.set()
        self.server.app.state.bus.remove_listener(self._on_event)
        self.window.close()
        if self._updater is not None:
            self._updater.join(5)

    # -- live figures --------------------------------------------------------------------------------
    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("type") in REFRESH_EVENTS:  # runs on the publisher's thread: only flag it
            self._dirty.set()

    def _update_loop(self) -> None:
        archive = self.server.archive
        try:
            while not self.quitting.is_set():
                self._refresh_model()
                if self.tray is not None:
                    self.tray.refresh()
                self._dirty.wait(PERIODIC_REFRESH_S)
                if self.quitting.is_set():
                    break
                self.quitting.wait(DEBOUNCE_S)  # let a burst of events settle into one refresh
                self._dirty.clear()
        except Exception:
            log.exception("tray updates stopped")
        finally:
            archive.db.close()  # this thread's connection

    def _refresh_model(self) -> None:
        try:
            summary = usage_summary(self.server.archive)
        except Exception:  # e.g. the archive is busy; the next event or tick retries
            log.exception("could not read today's usage for the tray")
            return
        monitor = self.server.budgets
        live = self.server.app.state.live
        m = self.model
        with m.lock:
            m.today, m.block = summary.today_text(), summary.block_text()
            m.budget_lines = [status_line(s) for s in monitor.statuses]
            m.budget_level = monitor.level
            m.paused = bool(live is not None and live.paused)

    def status(self) -> dict[str, Any]:
        tray = self.tray
        return {"window": {"open": self.window.is_open, "pid": self.window.pid, "opened": self.window.opened},
                "tray": {"backend": tray.backend if tray else None, "state": tray.state if tray else None,
                         "embedded": tray.embedded() if tray else None, "tooltip": self.model.tooltip,
                         "menu": tray.menu_texts() if tray else []},
                "budgets": {"level": self.server.budgets.level, "evaluations": self.server.budgets.evaluations},
                "watching": self.model.watching and not self.model.paused,
                "dashboard_clients": dashboard_clients()}


def dashboard_clients() -> int:
    """Dashboard pages with a live connection (a window that finished loading counts one)."""
    from nicegui import Client

    return sum(1 for client in list(Client.instances.values()) if client.has_socket_connection)
