"""Desktop notifications through desktop-notifier: the freedesktop D-Bus service on Linux, the native centres on
macOS and Windows.

desktop-notifier swallows delivery errors (it only logs a warning), so this module checks the service first and
watches the ``on_dispatched`` callback: the caller learns whether a notification was shown, or why not, and can
say so in the log and keep the alert pending.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

APP_NAME = "Devhelion"
SERVICE_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Delivery:
    shown: bool
    reason: str | None = None  # why it was not shown


def session_bus_problem() -> str | None:
    """Why no D-Bus session bus can be reached on Linux (None: one can, or not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return None
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    if Path(runtime, "bus").exists():
        return None
    return "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set and there is no $XDG_RUNTIME_DIR/bus)"


class Notifier:
    """Sends from any one thread at a time (a lock serialises callers); owns a private event loop for D-Bus."""

    def __init__(self, app_name: str = APP_NAME, icon_path: Path | None = None) -> None:
        self.app_name = app_name
        self.icon_path = icon_path
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._api: object | None = None

    def send(self, title: str, message: str, critical: bool = False) -> Delivery:
        with self._lock:
            problem = session_bus_problem()
            if problem:
                return Delivery(False, problem)
            try:
                return self._run(self._send(title, message, critical))
            except Exception as exc:  # a notification must never break the caller
                return Delivery(False, f"notification failed: {exc or type(exc).__name__}")

    def close(self) -> None:
        with self._lock:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.close()
            self._loop, self._api = None, None

    def _run(self, coro: object) -> Delivery:
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(coro)  # type: ignore[arg-type]

    async def _send(self, title: str, message: str, critical: bool) -> Delivery:
        try:
            from desktop_notifier import DesktopNotifier, Icon, Urgency
        except ImportError:
            return Delivery(False, "the desktop-notifier package is not installed")
        if self._api is None:
            icon = Icon(path=self.icon_path) if self.icon_path and self.icon_path.exists() else None
            self._api = DesktopNotifier(app_name=self.app_name, app_icon=icon)
        api: DesktopNotifier = self._api  # type: ignore[assignment]
        try:  # raises when no service answers; desktop-notifier's send() would only log it
            await asyncio.wait_for(api.get_capabilities(), SERVICE_TIMEOUT_S)
        except Exception as exc:
            self._api = None  # retry from scratch next time: the service may start later
            detail = str(exc) or type(exc).__name__
            return Delivery(False, f"no desktop notification service answered ({detail})")
        shown = asyncio.Event()
        await asyncio.wait_for(api.send(title=title, message=message,
                                        urgency=Urgency.Critical if critical else Urgency.Normal,
                                        on_dispatched=shown.set), SERVICE_TIMEOUT_S)
        if shown.is_set():
            return Delivery(True)
        return Delivery(False, "the notification service refused the notification (see the warning above)")
