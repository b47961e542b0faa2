"""``devhelion app`` (what plain ``devhelion`` runs): the desktop app with a display, the headless server without.

Only click is imported here, so the rest of the CLI keeps starting fast.
"""

from __future__ import annotations

import logging
import os
import sys

import click


def has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _configure_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("desktop", "store"):
        logging.getLogger(name).setLevel(logging.INFO)


@click.command("app")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (keep it local).")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(1, 65535),
              help="TCP port (the desktop app takes a free one if it is in use).")
@click.option("--no-watch", is_flag=True, help="Do not watch the logs: ingest at start-up, then on request.")
@click.option("--hidden", is_flag=True, help="Start in the tray, without opening the window (start at login).")
@click.option("--headless", is_flag=True, help="No tray or window even with a display (like `devhelion serve`).")
def app(host: str, port: int, no_watch: bool, hidden: bool, headless: bool) -> None:
    """The desktop app: tray icon, dashboard window, budgets and notifications; headless without a display.

    On Linux the window uses Qt WebEngine (PyQt6); DEVHELION_WEBVIEW_GUI=gtk uses WebKitGTK instead
    (gir1.2-webkit2-4.1). PYSTRAY_BACKEND=gtk|appindicator picks the tray's.
    """
    from store.api_key import ApiKeyError
    from store.config import ConfigError
    from store.sqlite.connection import ArchiveError

    _configure_logging()
    try:
        if not headless and has_display():
            from desktop.app.main import run_desktop

            sys.exit(run_desktop(host, port, watch=not no_watch, hidden=hidden))
        if not headless:
            click.echo("No display found (neither DISPLAY nor WAYLAND_DISPLAY is set): running headless, without "
                       "tray or window. Open the dashboard URL below in a browser. Stop with Ctrl+C.", err=True)
        _headless(host, port, watch=not no_watch)
    except (ArchiveError, ConfigError, ApiKeyError) as exc:
        click.echo(f"devhelion: {exc}", err=True)
        sys.exit(2)


def _headless(host: str, port: int, watch: bool) -> None:
    """``devhelion serve``, holding the single-instance lock so a desktop launch finds it running."""
    from desktop.app.instance import InstanceLock
    from desktop.server.run import serve

    lock = InstanceLock()
    if not lock.acquire():
        click.echo("Devhelion is already running (see server.json in the data folder for its port).", err=True)
        return
    try:
        serve(host, port, watch=watch)
    finally:
        lock.release()
