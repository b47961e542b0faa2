"""The commands Claude Code runs over and over (statusline, command hooks), started without click or Peewee.

Also the little they need before anything else: a hard deadline and the data home, both without ``pathlib``,
``typing`` or ``platformdirs`` when ``DEVHELION_HOME`` is set (the statusline prints before importing more).
"""

from __future__ import annotations

import os
import sys

HOT_COMMANDS = ("statusline", "hook")
HOT_OPTIONS = ("--home", "--chain")


def dispatch(argv: list[str]) -> bool:
    """Run a hot command and exit; False when ``argv`` is for the regular CLI (``statusline install``, ``--help``).

    ``--home DIR`` (written by the installers) is the data folder, unless ``DEVHELION_HOME`` says otherwise.
    """
    if argv[:1] not in ([c] for c in HOT_COMMANDS):
        return False
    options = argv[1:]
    if len(options) % 2 or any(name not in HOT_OPTIONS for name in options[::2]):
        return False
    values = dict(zip(options[::2], options[1::2], strict=True))
    if values.get("--home"):
        os.environ.setdefault("DEVHELION_HOME", values["--home"])
    if argv[0] == "statusline":
        from desktop.statusline import main as statusline

        sys.exit(statusline(values.get("--chain")))
    from desktop.hook_relay import main as hook

    sys.exit(hook())


def exit_after(seconds: float) -> None:
    """Exit with status 0 after ``seconds`` whatever the process is doing (a locked archive, a hung app, a slow
    chained statusline): Claude Code must never wait on us. A thread, not SIGALRM, because a signal handler cannot
    run while SQLite sleeps in its busy handler. SQLite keeps the archive consistent if a write is cut short."""
    import threading

    def stop() -> None:
        try:
            sys.stdout.flush()
        finally:
            os._exit(0)

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()


def data_home_dir() -> str:
    """``store.paths.data_home()`` as a string; without importing it (and platformdirs) when the env var says."""
    override = os.environ.get("DEVHELION_HOME")
    if override:
        return os.path.expanduser(override)
    from store.paths import data_home

    return str(data_home())
