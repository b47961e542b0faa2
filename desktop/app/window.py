"""The dashboard window, alone in a child process (``python -m desktop.app.window``).

The webview toolkit owns this process's main thread, the tray owns the parent's: one GUI toolkit per process,
which every platform accepts, and closing the window gives its browser engine's memory back.

The parent writes the sign-in URL on stdin (never argv: other local users can read a command line), then keeps
the pipe open: ``show`` lines bring the window forward, and end-of-file (the parent quit or died, even by
SIGKILL) closes it, so a window can never outlive the app.
"""

from __future__ import annotations

import os
import sys
import threading

TITLE = "Devhelion"


def _die_with_parent() -> None:
    """Linux: get SIGTERM when the parent dies (a second guard besides the pipe)."""
    if sys.platform.startswith("linux"):
        import contextlib
        import ctypes
        import signal

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def main() -> int:
    _die_with_parent()
    import webview  # before the URL arrives: a window started early is ready as soon as the server is

    url = sys.stdin.readline().strip()
    if not url:
        return 2

    window = webview.create_window(TITLE, url, width=1100, height=760, min_size=(520, 400),
                                   background_color="#f4f6f8")

    def follow_parent() -> None:
        for line in sys.stdin:
            if line.strip() == "show":
                window.restore()  # de-iconify and raise
                window.show()
        window.destroy()  # stdin closed: the app is quitting (or gone)

    def started() -> None:
        threading.Thread(target=follow_parent, name="devhelion-window-stdin", daemon=True).start()

    webview.start(started, gui=os.environ.get("DEVHELION_WEBVIEW_GUI") or None, private_mode=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
