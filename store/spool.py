"""A spool for hook events the archive cannot take at once (no archive yet, one being created or migrated, or
locked by a long write).

Claude Code's command hooks give the relay under a second: creating a new archive, migrating an old one or
waiting for a writer can take longer, and an event dropped there would be lost. So the relay appends the event
to ``spool/hooks.jsonl`` in the data home (one small ``write`` under an exclusive lock, well under a
millisecond), and whoever opens the archive next (the app, any CLI command, every sync run) moves the spooled
events into it in one transaction and empties the file.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from store.paths import data_home

log = logging.getLogger(__name__)

HOOKS = "hooks"


def spool_file(kind: str, home: Path | None = None) -> Path:
    return (home or data_home()) / "spool" / f"{kind}.jsonl"


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: appends of one small write are not interleaved there either
        return
    fcntl.flock(fd, fcntl.LOCK_EX)


def append(kind: str, record: dict[str, Any], home: Path | None = None) -> Path:
    """Add one record (a JSON line) to the spool of ``kind``."""
    path = spool_file(kind, home)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        _lock(fd)
        os.write(fd, line)
    finally:
        os.close(fd)  # also releases the lock
    return path


def drain(kind: str, conn: sqlite3.Connection, store: Callable[[sqlite3.Connection, dict[str, Any]], None],
          home: Path | None = None) -> int:
    """Store every spooled record of ``kind`` with ``store(conn, record)`` in one transaction, then empty the
    spool; returns how many were stored. On a database error nothing is emptied (the next drain retries), so a
    record is never lost nor stored twice. Lines that are not records, and records ``store`` refuses with a
    ``ValueError``, are logged and dropped."""
    path = spool_file(kind, home)
    if not path.exists():
        return 0
    fd = os.open(path, os.O_RDWR)
    try:
        _lock(fd)  # writers wait for the few milliseconds this takes
        with os.fdopen(os.dup(fd), "rb") as fh:
            lines = fh.read().splitlines()
        records = []
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if isinstance(record, dict):
                records.append(record)
            elif line.strip():
                log.warning("spool %s line %d is not a record; dropped: %.200r", path, number, line)
        stored = 0
        if records:
            from store.sqlite.connection import transaction  # not on the relay's append path

            with transaction(conn):
                for record in records:
                    try:
                        store(conn, record)
                        stored += 1
                    except ValueError as exc:  # a record the store refuses would otherwise block the spool
                        log.warning("spooled %s record dropped: %s", kind, exc)
        os.ftruncate(fd, 0)
        return stored
    finally:
        os.close(fd)
