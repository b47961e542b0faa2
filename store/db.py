"""Open the archive: one SQLite file in WAL mode, schema created and migrated without ever dropping data."""

from __future__ import annotations

import logging
import re
import sqlite3
import time
from collections.abc import Callable
from datetime import tzinfo
from pathlib import Path

from peewee import SqliteDatabase

from store.config import ConfigError, load_settings
from store.models import ALL_MODELS
from store.models.base import SchemaMeta, database
from store.models.rollups import SessionUsage
from store.paths import database_path
from store.sqlite.connection import ArchiveError, explain_sqlite_error, make_database
from store.sqlite.day_rollups import (
    FILE_DAY,
    SESSION_USAGE,
    drop_day_triggers,
    install_day_rollups,
    installed_statements,
    rebuild_day_rollups,
    rollup_zone,
)
from store.sqlite.queues import queue_all_errors, queue_all_prompts
from store.sqlite.search import rebuild_search_index
from store.sqlite.usage_rollup import install_rollup_triggers, rebuild_rollup
from store.timezones import resolve_timezone

log = logging.getLogger(__name__)

SCHEMA_VERSION = 6

# version -> migration that brings the schema from version-1 to version. Migrations never drop or rewrite what
# was archived; derived tables (rollups, the search index) and indexes may be rebuilt or dropped.
MIGRATIONS: dict[int, Callable[[SqliteDatabase], None]] = {
    2: lambda db: rebuild_rollup(db.connection()),  # usage_rollup: filled from the requests already archived
    3: lambda db: rebuild_search_index(db.connection()),  # full-text search over what is archived
    4: lambda db: add_day_rollups(db.connection()),  # the dashboard's rollups, from what is archived
    5: lambda db: rekey_session_usage(db.connection()),  # per-session usage keyed by project first
    6: lambda db: FILE_DAY.rebuild(db.connection()),  # the file heatmap per local day, from what is archived
}
MIGRATION_STEPS = {2: "15-minute usage rollup", 3: "full-text search index", 4: "local-day rollups",
                   5: "per-project session usage, fewer indexes", 6: "file heatmap per day"}


def open_archive(path: str | Path | None = None) -> SqliteDatabase:
    """Open (creating if needed) the archive and bind the models to it."""
    path = Path(path) if path else database_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    db = make_database(path)
    try:
        db.connect(reuse_if_open=True)
        database.initialize(db)
        _ensure_schema(db)
    except sqlite3.Error as exc:
        db.close()
        raise explain_sqlite_error(exc, path) from exc
    except ArchiveError:
        db.close()
        raise
    return db


def _expected_objects() -> frozenset[str]:
    """Names of every table, index and trigger an open makes sure of (what ``_ensure_schema`` would create)."""
    global _EXPECTED
    if _EXPECTED is None:
        names = {m._meta.table_name for m in ALL_MODELS}
        names |= {index._name for m in ALL_MODELS for index in m._meta.fields_to_index()}
        names |= {match.group(1).strip('"') for statement in installed_statements()
                  if (match := _DDL_NAME.match(statement))}
        _EXPECTED = frozenset(names)
    return _EXPECTED


_EXPECTED: frozenset[str] | None = None
_DDL_NAME = re.compile(r"CREATE (?:UNIQUE )?(?:TRIGGER|INDEX) IF NOT EXISTS (\S+)")


def _schema_complete(conn: sqlite3.Connection) -> bool:
    """The archive is at this version with every table, index and trigger in place: an open has nothing to
    create, so it skips some 140 CREATE ... IF NOT EXISTS statements (a quarter of a short command's time)."""
    try:
        row = conn.execute("SELECT value FROM schema_meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError:
        return False  # a new archive: no schema_meta yet
    if row is None or row[0] != str(SCHEMA_VERSION):
        return False
    present = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    return _expected_objects() <= present


def _ensure_schema(db: SqliteDatabase) -> None:
    if _schema_complete(db.connection()):
        return
    with db.atomic():
        db.create_tables(ALL_MODELS, safe=True)
        current = schema_version()
        if current > SCHEMA_VERSION:
            raise ArchiveError(
                f"The archive was written by a newer Devhelion (schema {current} > {SCHEMA_VERSION}). "
                "Update Devhelion; the archive was left untouched."
            )
        for version in range(max(current, 1) + 1, SCHEMA_VERSION + 1):
            _migrate(db, version, announce=current > 0)
        # after the migrations: a trigger of this version may read a table in its new shape only
        install_rollup_triggers(db.connection())
        install_day_rollups(db.connection())
        if current != SCHEMA_VERSION:  # written only when it changes: an open must not need the write lock (a
            SchemaMeta.replace(key="schema_version", value=str(SCHEMA_VERSION)).execute()  # bulk ingest holds it)


# Single-column indexes that a composite index starting with the same column already serves (dropped by
# migration 5: each one cost every ingested row an extra B-tree insert).
REDUNDANT_INDEXES = ("message_session_id", "session_project_id", "summary_leaf_uuid")


def rekey_session_usage(conn: sqlite3.Connection) -> None:
    """Rebuild ``session_usage`` keyed by project first and drop the redundant indexes (migration to version 5);
    derived tables and indexes only, so nothing archived changes. An archive that skipped version 4 already has
    the new shape."""
    for index in REDUNDANT_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {index}")
    conn.execute("DELETE FROM schema_meta WHERE key = 'derived_stale'")  # an older build's bulk-ingest marker
    columns = [row[1] for row in conn.execute("PRAGMA table_info(session_usage)").fetchall()]
    if "project_id" in columns:
        return
    drop_day_triggers(conn)  # the old ones write the old shape; the open installs this version's afterwards
    conn.execute("DROP TABLE session_usage")
    SessionUsage.create_table(safe=False)
    SESSION_USAGE.rebuild(conn)  # session_key_day, which it feeds, does not change: each session has one project


def _migrate(db: SqliteDatabase, version: int, announce: bool) -> None:
    """Run one migration; on an existing archive, say what is happening (on a large archive a migration takes
    minutes, and an upgrade that sits silent looks hung). A warning, so it shows without logging set up."""
    if not announce:
        MIGRATIONS[version](db)
        return
    log.warning("Upgrading the archive to schema %d: %s (once; a large archive takes a few minutes)...",
                version, MIGRATION_STEPS[version])
    started = time.perf_counter()
    MIGRATIONS[version](db)
    log.warning("Schema %d ready in %.1f s.", version, time.perf_counter() - started)


def schema_version() -> int:
    """The schema version recorded in the bound archive (0 for a new one)."""
    row = SchemaMeta.get_or_none(SchemaMeta.key == "schema_version")
    return int(row.value) if row else 0


def default_zone() -> tzinfo:
    """The zone the dashboard most likely asks in (the configured one, else the machine's): day rollups are first
    built for it; queries in another zone rebuild them."""
    try:
        return resolve_timezone(load_settings().timezone)
    except (ConfigError, ValueError, OSError):
        return resolve_timezone(None)


def rollup_tz(conn: sqlite3.Connection) -> tzinfo:
    """The zone the day rollups are kept in (the default one if none is recorded yet)."""
    key = rollup_zone(conn)
    if key:
        try:
            return resolve_timezone(key)
        except (ValueError, OSError):
            pass
    return default_zone()


def add_day_rollups(conn: sqlite3.Connection) -> None:
    """Build the local-day rollups, file every errored call under its pattern and categorise every prompt
    (migration to version 4)."""
    from store.monitor.error_filing import file_queue  # pattern and prompt rules live with their statistics
    from store.monitor.prompt_filing import file_prompt_queue

    drop_day_triggers(conn)  # filed below without them, then every rollup built once
    queue_all_errors(conn)
    file_queue(conn)
    queue_all_prompts(conn)
    file_prompt_queue(conn)
    rebuild_day_rollups(conn, default_zone(), with_files=True)
