"""The demo archive that ``sk_test_`` keys read: built once from the bundled generator, then reused.

It lives in ``$DEVHELION_HOME/demo/`` (transcripts in ``claude/``, the archive in ``demo.db``) and is opened on its
own ``SqliteDatabase``, never through the Peewee models (they stay bound to the user's archive). Its schema is
copied from the open archive, so both always have the same tables, indexes and triggers; a build stamp (generator
version + schema digest) rebuilds it when either changes. Insights are computed at build time with the demo's
fixed clock, so test keys see the same insights, numbers and ids on every machine.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

from peewee import SqliteDatabase

from store.demo.generate import DEMO_NOW_MS, generate
from store.ingest.runner import run_ingest
from store.insights.base import Context
from store.insights.engine import run_insights
from store.pricing import PriceTable
from store.sqlite.connection import make_database

DEMO_VERSION = 1  # bump when the generator's output changes
DEMO_USER_ID = "usr_demo"
STAMP_KEY = "demo_build"


def schema_of(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(type, sql) of every table, index, view and trigger, tables first (so the rest can be created after).

    The shadow tables of virtual tables (full-text indexes) are left out: creating the virtual table makes them.
    """
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END, name").fetchall()
    shadow = _shadow_tables(conn, [name for _, name, sql in rows if sql.upper().startswith("CREATE VIRTUAL TABLE")])
    return [(kind, sql) for kind, name, sql in rows if name not in shadow]


_SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config", "_segments", "_segdir", "_stat", "_node",
                    "_parent", "_rowid")


def _shadow_tables(conn: sqlite3.Connection, virtual: list[str]) -> set[str]:
    try:  # SQLite 3.37+ says which tables are shadow tables
        return {row[1] for row in conn.execute("PRAGMA table_list") if row[2] == "shadow"}
    except sqlite3.Error:
        return {v + suffix for v in virtual for suffix in _SHADOW_SUFFIXES}


def build_stamp(template: sqlite3.Connection) -> str:
    digest = hashlib.sha256(repr(schema_of(template)).encode()).hexdigest()[:16]
    return f"{DEMO_VERSION}:{digest}"


class DemoArchive:
    """Thread-safe, lazily built; ``connection()`` is the calling thread's connection to the demo archive."""

    now_ms = DEMO_NOW_MS
    user_id = DEMO_USER_ID

    def __init__(self, folder: Path, template: Callable[[], sqlite3.Connection]) -> None:
        self.folder = folder
        self.path = folder / "demo.db"
        self._template = template
        self._db: SqliteDatabase | None = None
        self._lock = threading.Lock()

    def connection(self) -> sqlite3.Connection:
        return self.database().connection()

    def database(self) -> SqliteDatabase:
        db = self._db
        if db is None:
            with self._lock:
                if self._db is None:
                    self._db = self._open_or_build()
                db = self._db
        return db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()

    def _open_or_build(self) -> SqliteDatabase:
        stamp = build_stamp(self._template())
        if self.path.exists():
            db = make_database(self.path)
            try:
                row = db.connection().execute("SELECT value FROM schema_meta WHERE key = ?", (STAMP_KEY,)).fetchone()
            except sqlite3.Error:
                row = None
            if row is not None and row[0] == stamp:
                return db
            db.close()
        self._build(stamp)
        return make_database(self.path)

    def _build(self, stamp: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        logs = self.folder / "claude"
        shutil.rmtree(logs, ignore_errors=True)
        generate(logs)
        tmp = self.folder / f".demo-{os.getpid()}-{threading.get_ident()}.db"
        db = make_database(tmp)
        try:
            conn = db.connection()
            for _, sql in schema_of(self._template()):
                conn.execute(sql)
            run_ingest(db, [logs], parallel=False)
            run_insights(Context(conn, DEMO_NOW_MS, PriceTable.bundled(), UTC, 0))
            conn.execute("INSERT OR REPLACE INTO schema_meta (key, value) VALUES (?, ?)", (STAMP_KEY, stamp))
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
        for suffix in ("-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        os.replace(tmp, self.path)
        for suffix in ("-wal", "-shm"):
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
