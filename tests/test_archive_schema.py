"""The archive's schema bookkeeping: created once, reopened without change, refused when newer than us."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from store.db import SCHEMA_VERSION, _schema_complete, open_archive, schema_version
from store.ingest.runner import run_ingest
from store.sqlite.connection import ArchiveError
from store.sqlite.usage_rollup import rollup_differences
from tests.samples import build_tree, require_samples


def test_schema_is_recorded_and_reopening_keeps_data(tmp_path: Path) -> None:
    db = open_archive(tmp_path / "a.db")
    assert schema_version() == SCHEMA_VERSION
    db.execute_sql("INSERT INTO project (path) VALUES ('/kept')")
    db.close()
    db = open_archive(tmp_path / "a.db")
    assert db.execute_sql("SELECT path FROM project").fetchall() == [("/kept",)]
    assert db.execute_sql("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()


def test_a_complete_archive_opens_without_ddl_and_a_missing_object_is_recreated(tmp_path: Path) -> None:
    db = open_archive(tmp_path / "a.db")
    assert _schema_complete(db.connection())  # else every open would run the ~40 CREATE ... IF NOT EXISTS again
    objects = db.execute_sql("SELECT type, name FROM sqlite_master ORDER BY 1, 2").fetchall()
    db.close()
    with sqlite3.connect(tmp_path / "a.db") as conn:  # e.g. an older build's archive, or a hand-edited one
        conn.execute("DROP TRIGGER dr_session_usage_ins")
        conn.execute("DROP INDEX api_request_error")
        conn.execute("DROP TABLE session_note")
    db = open_archive(tmp_path / "a.db")
    assert db.execute_sql("SELECT type, name FROM sqlite_master ORDER BY 1, 2").fetchall() == objects
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


def test_version_1_archive_gains_an_exact_rollup(tmp_path: Path) -> None:
    """Migration 1 -> 2 fills the new usage rollup from the requests already archived, losing nothing."""
    require_samples()
    root = build_tree("ccusage-fixtures", tmp_path / "logs")
    db = open_archive(tmp_path / "a.db")
    run_ingest(db, [root], parallel=False)
    expected = db.execute_sql("SELECT * FROM usage_rollup ORDER BY 1, 2, 3, 4, 5, 6").fetchall()
    requests = db.execute_sql("SELECT count(*) FROM api_request").fetchone()
    assert expected and sum(row[-1] for row in expected) == requests[0]
    db.close()
    with sqlite3.connect(tmp_path / "a.db") as conn:  # what a version-1 archive looked like
        for (trigger,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DROP TABLE usage_rollup")
        conn.execute("UPDATE schema_meta SET value = '1' WHERE key = 'schema_version'")
    db = open_archive(tmp_path / "a.db")
    assert schema_version() == SCHEMA_VERSION
    assert db.execute_sql("SELECT * FROM usage_rollup ORDER BY 1, 2, 3, 4, 5, 6").fetchall() == expected
    assert rollup_differences(db.connection()) == []
    assert db.execute_sql("SELECT count(*) FROM api_request").fetchone() == requests
    db.close()


def test_rollup_follows_a_session_moving_to_another_project(tmp_path: Path) -> None:
    """A session's project can change when an earlier working directory turns up; its usage moves with it."""
    db = open_archive(tmp_path / "a.db")
    conn = db.connection()
    conn.execute("INSERT INTO project (id, path) VALUES (1, '/a'), (2, '/b')")
    conn.execute("INSERT INTO session (session_id, project_id) VALUES ('s', 1)")
    conn.executemany(
        "INSERT INTO api_request (request_key, session_id, model, ts_ms, input_tokens, output_tokens, cache_write_5m, "
        "cache_write_1h, cache_read, web_search_requests, web_fetch_requests, is_sidechain, is_compaction, "
        "is_api_error) VALUES (?, 's', 'claude-sonnet-4-5', ?, ?, ?, 0, 0, 0, 0, 0, 0, 0, 0)",
        [("k1", 1000, 10, 20), ("k2", 2000, 1, 2)])
    assert conn.execute("SELECT project_id, input_tokens, requests FROM usage_rollup").fetchall() == [(1, 11, 2)]
    conn.execute("UPDATE session SET project_id = 2 WHERE session_id = 's'")
    assert conn.execute("SELECT project_id, input_tokens, requests FROM usage_rollup").fetchall() == [(2, 11, 2)]
    conn.execute("UPDATE api_request SET output_tokens = 50, ts_ms = 999000000 WHERE request_key = 'k2'")
    conn.execute("DELETE FROM api_request WHERE request_key = 'k1'")
    assert conn.execute("SELECT slot, project_id, output_tokens, requests FROM usage_rollup").fetchall() == [
        (999000000 // (15 * 60 * 1000), 2, 50, 1)]
    assert rollup_differences(conn) == []
    db.close()
