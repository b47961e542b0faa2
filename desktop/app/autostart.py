"""Start at login. Linux: an XDG autostart entry (``$XDG_CONFIG_HOME/autostart/devhelion.desktop``), which GNOME,
KDE, XFCE and most other desktops honour. macOS (a LaunchAgent) and Windows (a shortcut in the Startup folder)
are documented in the README, not automated here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENTRY_NAME = "devhelion.desktop"
MARKER = "X-Devhelion-Autostart=true"


def supported() -> bool:
    return sys.platform.startswith("linux") or "bsd" in sys.platform


def autostart_path() -> Path:
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "autostart" / ENTRY_NAME


def launch_command() -> list[str]:
    """How to start the app: the bundle itself, the ``devhelion`` script next to this Python, or ``-m desktop``."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    script = Path(sys.executable).with_name("devhelion")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "desktop"]


def exec_line(argv: list[str]) -> str:
    # Desktop Entry spec: arguments with reserved characters are double-quoted; `%` must be doubled
    def quote(arg: str) -> str:
        arg = arg.replace("%", "%%")
        if any(c in arg for c in ' \t\n"\'\\><~|&;$*?#()`'):
            return '"' + arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$") + '"'
        return arg

    return " ".join(quote(a) for a in argv)


def is_enabled() -> bool:
    path = autostart_path()
    try:
        text = path.read_text("utf-8")
    except OSError:
        return False
    return MARKER in text and "Hidden=true" not in text


def set_enabled(enabled: bool, icon_path: Path | None = None) -> None:
    if not supported():
        raise NotImplementedError("start at login is automated on Linux only; see the README for macOS and Windows")
    path = autostart_path()
    if not enabled:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["[Desktop Entry]", "Type=Application", "Name=Devhelion",
             "Comment=Claude Code usage, budgets and notifications",
             f"Exec={exec_line([*launch_command(), 'app', '--hidden'])}",  # at login: the tray, no window
             "Terminal=false", "X-GNOME-Autostart-enabled=true", MARKER]
    if icon_path is not None:
        lines.insert(5, f"Icon={icon_path}")
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n", "utf-8")
    os.replace(tmp, path)
