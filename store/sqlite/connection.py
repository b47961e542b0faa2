"""Opening the archive with SQLite: its pragmas, explicit write transactions, and errors translated into words a
user can act on."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from peewee import SqliteDatabase

PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",  # WAL + NORMAL: a crash loses at most the last commits, never consistency
    "foreign_keys": 1,
    "cache_size": -64_000,  # 64 MB page cache
    "temp_store": "memory",
    "busy_timeout": 5_000,
}


class ArchiveError(RuntimeError):
    """The archive cannot be used; the message says why in words a user can act on."""


def explain_sqlite_error(exc: sqlite3.Error, path: str | Path) -> ArchiveError:
    """Translate SQLite errors into messages that name the file and the fix."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        msg = f"The archive {path} is locked by another process (is Devhelion already ingesting?). Try again."
    elif "full" in text:
        msg = f"The disk holding the archive {path} is full. Free some space and run again; nothing was lost."
    elif "readonly" in text or "read-only" in text:
        msg = f"The archive {path} is read-only. Check its permissions (or the DEVHELION_HOME folder)."
    elif "unable to open" in text:
        msg = f"Cannot open the archive {path}. Check that the folder exists and is writable."
    elif "malformed" in text or "not a database" in text:
        msg = f"The archive {path} is damaged ({exc}). Move it aside and run `devhelion ingest` to rebuild."
    else:
        msg = f"Archive error on {path}: {exc}"
    return ArchiveError(msg)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """An explicit write transaction. Peewee opens connections in autocommit mode, where ``with conn:`` would
    commit every statement on its own; rows and the offsets that produced them must commit together."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # SQLite may already have rolled back (e.g. on a full disk)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def make_database(path: str | Path) -> SqliteDatabase:
    return SqliteDatabase(str(path), pragmas=PRAGMAS, check_same_thread=False, timeout=5)
