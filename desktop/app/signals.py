"""Quit cleanly on SIGTERM, SIGINT and SIGHUP, before and after the GUI loop starts.

Python runs its signal handlers only when the main thread executes Python code, which a GLib main loop rarely
does; so once the tray's GLib loop runs, GLib's own handlers (``unix_signal_add``) take over.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def install_python_handlers(quit_app: Callable[[], None]) -> None:
    def on_signal(signum: int, frame: Any) -> None:
        quit_app()

    for sig in SIGNALS:
        signal.signal(sig, on_signal)


def install_glib_handlers(quit_app: Callable[[], None]) -> bool:
    """False when GLib is not there (a non-GTK tray backend: the Python handlers keep working there)."""
    try:
        from gi.repository import GLib
    except ImportError:
        return False

    def on_signal(*_: Any) -> bool:
        quit_app()
        return GLib.SOURCE_CONTINUE

    for sig in SIGNALS:
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, on_signal)
    return True
