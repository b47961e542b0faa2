"""A private read connection for one export: its own transaction gives a consistent snapshot of the archive
(WAL lets ingest go on meanwhile), and closing it when the export ends or is abandoned frees it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from peewee import SqliteDatabase

# a small page cache: exports read each page about once, and memory must not grow with the archive
_PRAGMAS = {"query_only": 1, "cache_size": -4_000, "temp_store": "memory", "busy_timeout": 5_000}


@contextmanager
def snapshot(path: str | Path) -> Iterator[SqliteDatabase]:
    # thread_safe=False: one connection whichever thread resumes the generator (a server streams from a pool)
    db = SqliteDatabase(str(path), pragmas=_PRAGMAS, thread_safe=False, check_same_thread=False)
    db.connect()
    try:
        db.execute_sql("BEGIN")  # deferred: the first read fixes the snapshot every later query sees
        yield db
    finally:
        db.close()
