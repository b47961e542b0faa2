"""Open the archive: one SQLite file in WAL mode, schema created and migrated without ever dropping data."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from peewee import SqliteDatabase

from store.models import ALL_MODELS, SchemaMeta, database
from store.paths import database_path
from store.sqlite_backend import (
    ArchiveError,
    explain_sqlite_error,
    install_rollup_triggers,
    make_database,
    rebuild_rollup,
)

SCHEMA_VERSION = 2

# version -> migration that brings the schema from version-1 to version. Migrations only add
# (tables, columns, indexes); they never drop or rewrite the user's history.
MIGRATIONS: dict[int, Callable[[SqliteDatabase], None]] = {
    2: lambda db: rebuild_rollup(db.connection()),  # usage_rollup: filled from the requests already archived
}


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


def _ensure_schema(db: SqliteDatabase) -> None:
    with db.atomic():
        db.create_tables(ALL_MODELS, safe=True)
        current = schema_version()
        if current > SCHEMA_VERSION:
            raise ArchiveError(
                f"The archive was written by a newer Devhelion (schema {current} > {SCHEMA_VERSION}). "
                "Update Devhelion; the archive was left untouched."
            )
        install_rollup_triggers(db.connection())
        for version in range(max(current, 1) + 1, SCHEMA_VERSION + 1):
            MIGRATIONS[version](db)
        SchemaMeta.replace(key="schema_version", value=str(SCHEMA_VERSION)).execute()


def schema_version() -> int:
    """The schema version recorded in the bound archive (0 for a new one)."""
    row = SchemaMeta.get_or_none(SchemaMeta.key == "schema_version")
    return int(row.value) if row else 0
