"""An archive written before the local-day rollups gains them, exact, on first open; nothing archived changes."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from store.db import REDUNDANT_INDEXES, SCHEMA_VERSION, open_archive, schema_version
from store.ingest.runner import run_ingest
from store.sqlite.day_rollups import DAY_ROLLUPS, FILE_TOUCH, SESSION_KEYS, SESSION_USAGE, day_rollup_differences
from tests.test_rollups_consistency import filed_differences, random_tree

_NEW_TABLES = (*(t.table for t in (*DAY_ROLLUPS, FILE_TOUCH)), "key_sessions", "zone_day", "error_pattern",
               "error_call", "error_pending", "prompt_line", "prompt_pending")
_SNAPSHOT = ("SELECT * FROM usage_day ORDER BY 1, 2, 3, 4, 5, 6", "SELECT * FROM tool_day ORDER BY 1, 2, 3, 4, 5",
             "SELECT * FROM key_sessions ORDER BY 1, 2, 3, 4, 5, 6", "SELECT * FROM file_touch ORDER BY 1, 2, 3",
             "SELECT project_id, day, category, prompts FROM prompt_day ORDER BY 1, 2, 3")


def test_a_version_3_archive_gains_exact_rollups(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "claude"
    for rel, data in random_tree(42).items():
        path = root / "projects" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    db = open_archive(tmp_path / "a.db")
    run_ingest(db, [root], parallel=False)
    assert filed_differences(db) == {"errors": [], "prompts": []}
    expected = [db.execute_sql(sql).fetchall() for sql in _SNAPSHOT]
    rows = db.execute_sql("SELECT count(*) FROM message").fetchone()
    db.close()
    with sqlite3.connect(tmp_path / "a.db") as conn:  # what a version-3 archive looked like
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND (name LIKE 'dr\\_%' "
                                    "ESCAPE '\\' OR name LIKE 'dq\\_%' ESCAPE '\\')").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        for table in _NEW_TABLES:
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM schema_meta WHERE key = 'rollup_zone'")
        conn.execute("UPDATE schema_meta SET value = '3' WHERE key = 'schema_version'")
    with caplog.at_level(logging.WARNING, logger="store.db"):
        db = open_archive(tmp_path / "a.db")
    # the upgrade says what it does: on a large archive it takes minutes
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 * (SCHEMA_VERSION - 3)
    assert messages[0].startswith("Upgrading the archive to schema 4: local-day rollups")
    assert messages[1].startswith("Schema 4 ready in ")
    try:
        assert schema_version() == SCHEMA_VERSION
        assert db.execute_sql("SELECT count(*) FROM message").fetchone() == rows
        assert {k: v for k, v in day_rollup_differences(db.connection()).items() if v} == {}
        assert db.execute_sql("SELECT count(*) FROM error_pending").fetchone()[0] == 0  # filed by the migration
        assert db.execute_sql("SELECT count(*) FROM prompt_pending").fetchone()[0] == 0
        assert filed_differences(db) == {"errors": [], "prompts": []}
        assert [db.execute_sql(sql).fetchall() for sql in _SNAPSHOT] == expected  # same zone, same rows
    finally:
        db.close()


def test_a_version_5_archive_gains_the_file_heatmap_per_day(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "claude"
    for rel, data in random_tree(9).items():
        path = root / "projects" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    db = open_archive(tmp_path / "a.db")
    run_ingest(db, [root], parallel=False)
    expected = db.execute_sql("SELECT * FROM file_day ORDER BY 1, 2, 3, 4").fetchall()
    assert expected
    db.close()
    with sqlite3.connect(tmp_path / "a.db") as conn:  # what a version-5 archive looked like
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE "
                                    "'dr\\_file\\_day%' ESCAPE '\\'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP TABLE file_day")
        conn.execute("UPDATE schema_meta SET value = '5' WHERE key = 'schema_version'")
    with caplog.at_level(logging.WARNING, logger="store.db"):
        db = open_archive(tmp_path / "a.db")
    assert caplog.records[0].getMessage().startswith("Upgrading the archive to schema 6: file heatmap per day")
    try:
        assert schema_version() == SCHEMA_VERSION
        assert db.execute_sql("SELECT * FROM file_day ORDER BY 1, 2, 3, 4").fetchall() == expected
        assert {k: v for k, v in day_rollup_differences(db.connection()).items() if v} == {}
    finally:
        db.close()


_OLD_SESSION_USAGE = (  # schema 4: keyed by session first, no project
    'CREATE TABLE "session_usage" ("session_id" TEXT NOT NULL, "day" INTEGER NOT NULL, "model" TEXT NOT NULL, '
    '"speed" TEXT NOT NULL, "geo" TEXT NOT NULL, "long_context" INTEGER NOT NULL, "input_tokens" INTEGER NOT NULL, '
    '"output_tokens" INTEGER NOT NULL, "cache_write_5m" INTEGER NOT NULL, "cache_write_1h" INTEGER NOT NULL, '
    '"cache_read" INTEGER NOT NULL, "web_search_requests" INTEGER NOT NULL, "requests" INTEGER NOT NULL, '
    'PRIMARY KEY ("session_id", "model", "speed", "geo", "long_context", "day")) WITHOUT ROWID')
# version 4's session_usage rollup: no project, so its rows did not follow a session to another project
_V4_SESSION_USAGE = replace(SESSION_USAGE, project=None, all_projects=True,
                            feeds=(replace(SESSION_USAGE.feeds[0], follow_sessions=False),))
_USAGE_COLUMNS = ("session_id, day, model, speed, geo, long_context, input_tokens, output_tokens, cache_write_5m, "
                  "cache_write_1h, cache_read, web_search_requests, requests")


def test_a_version_4_archive_gets_session_usage_keyed_by_project(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    trees = [random_tree(seed) for seed in (7, 8)]
    root = tmp_path / "claude"

    def write(tree: dict[str, bytes]) -> None:
        for rel, data in tree.items():
            path = root / "projects" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    write(trees[0])
    db = open_archive(tmp_path / "a.db")
    run_ingest(db, [root], parallel=False)
    expected = db.execute_sql("SELECT * FROM session_usage ORDER BY 1, 2, 3, 4, 5, 6, 7").fetchall()
    assert {pid for pid, *_ in expected} - {0}, "the sample must have sessions with a project"
    files = db.execute_sql("SELECT * FROM file_day ORDER BY 1, 2, 3, 4").fetchall()
    db.close()
    with sqlite3.connect(tmp_path / "a.db") as conn:  # what a version-4 archive looked like
        old_rows = conn.execute(f"SELECT {_USAGE_COLUMNS} FROM session_usage").fetchall()
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND (name LIKE "
                                    "'dr\\_session\\_usage%' ESCAPE '\\' OR name LIKE 'dr\\_file\\_day%' "
                                    "ESCAPE '\\')").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute("DROP TABLE file_day")  # new in 6
        conn.execute("DROP TABLE session_usage")  # and with it the triggers of the session keys it feeds
        conn.execute(_OLD_SESSION_USAGE)
        conn.executemany(f"INSERT INTO session_usage ({_USAGE_COLUMNS}) VALUES ({', '.join('?' * 13)})", old_rows)
        for statement in (*_V4_SESSION_USAGE.triggers(), *SESSION_KEYS.triggers()):  # version 4's triggers
            conn.execute(statement)
        conn.execute('CREATE INDEX "message_session_id" ON "message" ("session_id")')  # redundant since 5
        conn.execute('CREATE INDEX "summary_leaf_uuid" ON "summary" ("leaf_uuid")')
        conn.execute("UPDATE schema_meta SET value = '4' WHERE key = 'schema_version'")
    with caplog.at_level(logging.WARNING, logger="store.db"):
        db = open_archive(tmp_path / "a.db")
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0].startswith("Upgrading the archive to schema 5: per-project session usage")
    try:
        assert schema_version() == SCHEMA_VERSION
        assert db.execute_sql("SELECT * FROM session_usage ORDER BY 1, 2, 3, 4, 5, 6, 7").fetchall() == expected
        assert db.execute_sql("SELECT * FROM file_day ORDER BY 1, 2, 3, 4").fetchall() == files
        indexes = {name for (name,) in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert not indexes & set(REDUNDANT_INDEXES)
        write(trees[1])  # the new triggers keep it exact from then on
        run_ingest(db, [root], parallel=False)
        assert {k: v for k, v in day_rollup_differences(db.connection()).items() if v} == {}
    finally:
        db.close()
