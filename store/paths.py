"""Where Devhelion keeps its own data and where Claude Code writes its transcripts."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import platformdirs

APP_NAME = "devhelion"
DB_FILENAME = "devhelion.db"


def data_home() -> Path:
    """The data home: ``$DEVHELION_HOME`` when set, else the platform's user data dir."""
    override = os.environ.get("DEVHELION_HOME")
    home = Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    home.mkdir(parents=True, exist_ok=True)
    return home


def database_path() -> Path:
    return data_home() / DB_FILENAME


def default_config_dirs() -> list[Path]:
    """Claude Code config dirs, read the way Claude Code and ccusage read them.

    ``CLAUDE_CONFIG_DIR`` may hold a comma-separated list; when set, only those are used.
    Otherwise both ``~/.claude`` and ``$XDG_CONFIG_HOME/claude`` (``~/.config/claude``).
    """
    env = os.environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if env:
        return [Path(p.strip()).expanduser() for p in env.split(",") if p.strip()]
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [Path.home() / ".claude", Path(xdg) / "claude"]


def projects_dir(root: Path) -> Path:
    """The ``projects/`` folder of a root given as a config dir or as the projects dir itself."""
    candidate = root / "projects"
    if candidate.is_dir():
        return candidate
    return root


def resolve_roots(extra: Iterable[str | Path] = ()) -> list[Path]:
    """Config dirs (default and extra) as unique absolute paths, in a stable order."""
    seen: dict[str, Path] = {}
    for root in [*default_config_dirs(), *(Path(p).expanduser() for p in extra)]:
        absolute = root.absolute()
        seen.setdefault(str(absolute), absolute)
    return list(seen.values())
