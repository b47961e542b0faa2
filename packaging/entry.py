"""The bundle's entry point (PyInstaller freezes this file as ``devhelion``).

    devhelion                   the desktop app (tray + dashboard window; headless without a display)
    devhelion --serve [opts]    the server alone, headless (``devhelion serve``: --host, --port, --no-watch)
    devhelion --window          internal: the dashboard window process (``desktop/app/window_process.py``)
    devhelion --version         the version
    devhelion --bundle-check    internal: import the parts that only load at run time, print JSON (packaging test)
    devhelion <command> ...     every ``devhelion`` command (report, doctor, hooks, statusline, budgets, ...)

Claude Code's hooks and statusline run ``<python> -I -m desktop <hook|statusline> ...`` (``relay_command``); a
bundle's ``sys.executable`` is the bundle itself, so that interpreter prefix is dropped here before dispatching.
"""

from __future__ import annotations

import multiprocessing
import os
import sys

INTERPRETER_PREFIXES = (["-I", "-m", "desktop"], ["-m", "desktop"])

# Imported by name only at run time (the window's pywebview backend as desktop/app/window.py picks it, pystray's
# and desktop-notifier's backends): --bundle-check proves they are in.
RUNTIME_MODULES = {
    "linux": ("webview.platforms.qt", "qtpy.QtWebEngineWidgets", "pystray._appindicator", "pystray._gtk",
              "desktop_notifier.backends.dbus", "nicegui", "desktop.app.window", "desktop.app.main"),
    "darwin": ("webview.platforms.cocoa", "pystray._darwin", "desktop_notifier.backends.macos", "nicegui",
               "desktop.app.window", "desktop.app.main"),
    "win32": ("webview.platforms.edgechromium", "pystray._win32", "desktop_notifier.backends.winrt", "nicegui",
              "desktop.app.window", "desktop.app.main"),
}


def bundle_check() -> int:
    import importlib
    import json

    results: dict[str, str] = {}
    platform = "linux" if sys.platform.startswith("linux") else sys.platform
    for name in RUNTIME_MODULES.get(platform, ()):
        try:
            importlib.import_module(name)
            results[name] = "ok"
        except Exception as exc:  # report every module, not just the first failure
            results[name] = f"{type(exc).__name__}: {exc}"
    static = os.path.join(getattr(sys, "_MEIPASS", ""), "nicegui", "static")
    results["nicegui static files"] = "ok" if os.path.isdir(static) and os.listdir(static) else f"missing: {static}"
    print(json.dumps(results, indent=2))
    return 0 if all(v == "ok" for v in results.values()) else 1


def main(argv: list[str]) -> None:
    for prefix in INTERPRETER_PREFIXES:
        if argv[: len(prefix)] == prefix:
            argv = argv[len(prefix):]
            break
    if argv[:1] == ["--window"]:
        from desktop.app.window import main as window

        sys.exit(window())
    if argv[:1] == ["--bundle-check"]:
        sys.exit(bundle_check())
    if argv[:1] == ["--serve"]:
        argv = ["serve", *argv[1:]]
    from desktop.fast_entry import dispatch

    if not dispatch(argv):  # statusline / hook: Claude Code's hot paths, before click is imported
        from desktop.cli import cli

        cli.main(args=argv, prog_name="devhelion")


if __name__ == "__main__":
    multiprocessing.freeze_support()  # a frozen app must not re-run main() in a multiprocessing child
    main(sys.argv[1:])
