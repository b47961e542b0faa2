"""The archive's schema bookkeeping: created once, reopened without change, refused when newer than us."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from store.db import SCHEMA_VERSION, open_archive, schema_version
from store.sqlite_backend import ArchiveError


def test_schema_is_recorded_and_reopening_keeps_data(tmp_path: Path) -> None:
    db = open_archive(tmp_path / "a.db")
    assert schema_version() == SCHEMA_VERSION
    db.execute_sql("INSERT INTO project (path) VALUES ('/kept')")
    db.close()
    db = open_archive(tmp_path / "a.db")
    assert db.execute_sql("SELECT path FROM project").fetchall() == [("/kept",)]
    assert db.execute_sql("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()


def test_archive_from_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    open_archive(tmp_path / "a.db").close()
    with sqlite3.connect(tmp_path / "a.db") as conn:
        conn.execute("UPDATE schema_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(ArchiveError, match="newer Devhelion"):
        open_archive(tmp_path / "a.db")
    with sqlite3.connect(tmp_path / "a.db") as conn:
        assert conn.execute("SELECT value FROM schema_meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION + 1),)
