"""The dashboard window, alone in a child process (``python -m desktop.app.window``).

The webview toolkit owns this process's main thread, the tray owns the parent's: one GUI toolkit per process,
which every platform accepts, and closing the window gives its browser engine's memory back.

The parent writes the sign-in URL on stdin (never argv: other local users can read a command line), then keeps
the pipe open: ``show`` lines bring the window forward, and end-of-file (the parent quit or died, even by
SIGKILL) closes it, so a window can never outlive the app.

The backend is chosen here and only here (the packaging bundles what :func:`webview_gui` picks): Qt WebEngine
(PyQt6) on Linux; ``DEVHELION_WEBVIEW_GUI=gtk`` switches to WebKitGTK (the system's), and any other pywebview
backend name is passed through. macOS and Windows use their native web views (WKWebView, WebView2).
"""

from __future__ import annotations

import os
import sys
import threading

TITLE = "Devhelion"
GUI_ENV = "DEVHELION_WEBVIEW_GUI"


def webview_gui(environ: dict[str, str] | os._Environ[str] = os.environ) -> str | None:
    """The pywebview backend for this platform: ``qt`` on Linux unless overridden, else pywebview's own choice."""
    override = (environ.get(GUI_ENV) or "").strip().lower()
    if override:
        return override
    return "qt" if sys.platform.startswith("linux") else None


def prepare_qt(environ: dict[str, str] | os._Environ[str] = os.environ) -> None:
    """Environment Qt WebEngine reads at start-up; call before pywebview imports Qt.

    - qtpy (pywebview's Qt layer) would take PyQt5 or PySide first if one is installed: use the PyQt6 we ship.
    - Chromium refuses to run as root with its sandbox on ("Running as root without --no-sandbox is not
      supported") and the window stays blank; so as root, and only then, the sandbox is turned off.
    - Chromium logs harmless errors on every start (no system D-Bus, GPU fallbacks under Xvfb) to the app's
      terminal: only fatal ones, unless the user's own ``QTWEBENGINE_CHROMIUM_FLAGS`` set a ``--log-level``.
    """
    environ.setdefault("QT_API", "pyqt6")
    flags = environ.get("QTWEBENGINE_CHROMIUM_FLAGS", "")
    if "--log-level" not in flags:
        environ["QTWEBENGINE_CHROMIUM_FLAGS"] = f"{flags} --log-level=3".strip()
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        environ["QTWEBENGINE_DISABLE_SANDBOX"] = "1"


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
    gui = webview_gui()
    if gui == "qt":
        prepare_qt()
    import webview  # before the URL arrives: a window started early is ready as soon as the server is
    from webview.guilib import initialize

    # load the toolkit now too (pywebview would at start()): the first window then shows as soon as its URL comes
    initialize(gui)  # type: ignore[arg-type]

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

    webview.start(started, gui=gui, private_mode=True)  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    sys.exit(main())
