"""Bulk mode of ingest (store/ingest/runner.py): a large run drops the derived tables' per-row triggers, writes
every row and rebuilds the derived tables set-based, all in one transaction.

Its derived tables must equal those the row-by-row triggers keep (usage_rollup, every day rollup, error and
prompt filings, the search index), and a process killed in the middle must leave the archive exactly as it was
before the run, which the next run completes.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from peewee import SqliteDatabase

import store.ingest.runner as runner
from bench.loggen import generate
from store.db import open_archive
from store.ingest.runner import BULK_MIN_BYTES, run_ingest
from store.monitor.error_filing import file_pending
from store.monitor.prompt_filing import file_prompts
from store.search import search
from store.sqlite.day_rollups import DAY_ROLLUPS, FILE_TOUCH, day_rollup_differences
from store.sqlite.rollup_tables import KIND_PATTERN
from store.sqlite.search import search_index_problems
from store.sqlite.usage_rollup import rollup_differences
from tests.samples import TREES, build_tree

REPO = Path(__file__).resolve().parents[1]
TERMS = ("error", "file", "test", "the", "import", "session", "read*", "function", "bash", "python")


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two log roots: every real sample tree, and a generated tree (subagents, replays, split responses)."""
    samples = tmp_path_factory.mktemp("samples")
    for name in TREES:
        build_tree(name, samples)
    generated = tmp_path_factory.mktemp("generated")
    generate(generated / "out", size_mb=3, seed=5)
    return samples, generated / "out"


def _filed(db: SqliteDatabase) -> None:
    """File the queues the way readers do before reading (trickle ingest leaves them to the first reader)."""
    assert file_pending(db) and file_prompts(db)


def derived(db: SqliteDatabase) -> dict[str, list[tuple]]:
    """Every derived table, non-empty rows, error patterns named by signature (ids depend on filing order)."""
    conn = db.connection()
    signature = dict(conn.execute("SELECT id, signature FROM error_pattern").fetchall())
    out: dict[str, list[tuple]] = {}
    for table in (*DAY_ROLLUPS, FILE_TOUCH):
        rows = conn.execute(f"SELECT {', '.join(table.columns)} FROM {table.table} WHERE NOT ({table.empty})")
        named = []
        for row in rows.fetchall():
            values = dict(zip(table.columns, row, strict=True))
            if "pattern_id" in values:
                values["pattern_id"] = signature[values["pattern_id"]]
            if table.table == "session_key_day" and values["kind"] == KIND_PATTERN:
                values["key"] = signature[int(values["key"])]
            named.append(tuple(values.values()))
        out[table.table] = sorted(named, key=repr)
    out["usage_rollup"] = sorted(conn.execute("SELECT slot, project_id, model, speed, geo, long_context, "
                                              "input_tokens, output_tokens, cache_write_5m, cache_write_1h, "
                                              "cache_read, web_search_requests, requests FROM usage_rollup "
                                              "WHERE requests != 0").fetchall())
    out["key_sessions"] = sorted(((pid, kind, day, signature[int(key)] if kind == KIND_PATTERN else key, *rest)
                                  for pid, kind, day, key, *rest in conn.execute(
                                      "SELECT project_id, kind, day, key, key2, prev, sessions FROM key_sessions "
                                      "WHERE sessions != 0").fetchall()), key=repr)
    out["error_call"] = sorted(conn.execute("SELECT e.tool_use_id, p.signature, e.session_id, e.call_ts_ms, e.name "
                                            "FROM error_call e JOIN error_pattern p ON p.id = e.pattern_id"
                                            ).fetchall(), key=repr)
    out["prompt_line"] = sorted(conn.execute("SELECT uuid, session_id, ts_ms, category FROM prompt_line"
                                             ).fetchall(), key=repr)
    for fts in ("search_message", "search_tool_input", "search_tool_result"):
        out[fts] = [tuple(r) for r in conn.execute(f"SELECT rowid FROM {fts} WHERE {fts} MATCH 'a* OR e* OR s* "
                                                   f"OR t* OR 1* OR r*' ORDER BY rowid").fetchall()]
    return out


def searches(db: SqliteDatabase) -> dict[str, dict]:
    return {term: search(db, term, limit=200) for term in TERMS}


def triggers(db: SqliteDatabase) -> list[str]:
    return [r[0] for r in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY 1")]


def assert_exact(db: SqliteDatabase) -> None:
    conn = db.connection()
    assert rollup_differences(conn) == []
    assert {k: v for k, v in day_rollup_differences(conn).items() if v} == {}
    assert search_index_problems(conn) == []
    assert conn.execute("SELECT count(*) FROM error_pending").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM prompt_pending").fetchone()[0] == 0


@pytest.fixture(scope="module")
def trickle(roots: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The reference: both roots ingested row by row (every trigger live), queues filed as a reader would."""
    db = open_archive(tmp_path_factory.mktemp("trickle") / "a.db")
    try:
        stats = run_ingest(db, list(roots), parallel=False, bulk=False)
        assert not stats.bulk
        _filed(db)
        assert derived(db)["error_call"] and derived(db)["prompt_line"]  # the data exercises the filings
        return {"derived": derived(db), "search": searches(db), "triggers": triggers(db),
                "requests": db.execute_sql("SELECT count(*) FROM api_request").fetchone()[0]}
    finally:
        db.close()


def test_bulk_into_empty_archive_equals_trickle(roots: tuple[Path, Path], trickle: dict, tmp_path: Path) -> None:
    db = open_archive(tmp_path / "bulk.db")
    try:
        stats = run_ingest(db, list(roots), parallel=False, bulk=True)
        assert stats.bulk and stats.requests_added == trickle["requests"]
        assert_exact(db)
        assert triggers(db) == trickle["triggers"]  # every trigger is back
        assert derived(db) == trickle["derived"]
        assert searches(db) == trickle["search"]
    finally:
        db.close()


def test_bulk_onto_an_archive_equals_trickle(roots: tuple[Path, Path], trickle: dict, tmp_path: Path) -> None:
    """Bulk on top of rows already there (their filings and rollups are rebuilt too), then trickle on top."""
    samples, generated = roots
    db = open_archive(tmp_path / "mixed.db")
    try:
        assert not run_ingest(db, [samples], parallel=False, bulk=False).bulk
        _filed(db)
        assert run_ingest(db, [samples, generated], parallel=False, bulk=True).bulk
        assert_exact(db)
        assert derived(db) == trickle["derived"]
        assert searches(db) == trickle["search"]
        # the triggers work again after a bulk run: an appended turn is rolled up row by row
        session = next(generated.glob("projects/*/*.jsonl"))
        data = session.read_bytes().splitlines(keepends=True)
        with session.open("ab") as fh:
            fh.writelines(data[-5:])  # replayed lines: dedup keeps the totals
        assert not run_ingest(db, [samples, generated], parallel=False).bulk
        _filed(db)
        assert_exact(db)
        assert derived(db) == trickle["derived"]
    finally:
        db.close()


def test_automatic_choice(tmp_path: Path) -> None:
    """Bulk when there is a lot to read relative to the archive; trickle for small runs and watcher runs."""
    root = tmp_path / "logs"
    generate(root, size_mb=(BULK_MIN_BYTES >> 20) + 6, seed=9)
    db = open_archive(tmp_path / "auto.db")
    try:
        files = sorted(root.glob("projects/**/*.jsonl"), key=lambda p: p.stat().st_size)
        assert not run_ingest(db, [root], paths=[str(p) for p in files[:3]]).bulk  # a watcher's run
        stats = run_ingest(db, [root])
        assert stats.bulk
        assert_exact(db)
        with files[-1].open("ab") as fh:
            fh.write(files[-1].read_bytes().splitlines(keepends=True)[-1])
        assert not run_ingest(db, [root]).bulk  # one line appended: row by row
        _filed(db)
        assert_exact(db)
    finally:
        db.close()


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from store.db import open_archive
from store.ingest.runner import run_ingest

def progress(state):
    print("progress", state.bytes_done, flush=True)
    time.sleep(0.02)

if __name__ == "__main__":
    db = open_archive(sys.argv[1])
    run_ingest(db, [Path(p) for p in sys.argv[2:]], progress=progress, parallel=True, bulk=True)
    print("finished", flush=True)
"""


def _kill_mid_bulk(db_path: Path, roots: list[Path]) -> None:
    """Run a bulk ingest in a child process and SIGKILL it (and its workers) once it has written rows."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(db_path), *map(str, roots)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, text=True)
    try:
        deadline = time.monotonic() + 120
        written = 0
        while written < 2 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f"ingest ended before the kill: {proc.communicate()}"
            assert line != "finished\n"
            if line.startswith("progress") and int(line.split()[1]) > 0:
                written += 1  # the rows of at least two parsed ranges went into the bulk transaction
        assert written >= 2, "no progress within 120 s"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_mid_bulk_leaves_the_archive_as_before_and_the_next_run_completes(
        roots: tuple[Path, Path], trickle: dict, tmp_path: Path) -> None:
    samples, generated = roots
    db_path = tmp_path / "killed.db"
    db = open_archive(db_path)
    try:
        run_ingest(db, [samples], parallel=False, bulk=False)  # derived tables with something in them
        _filed(db)
        before = derived(db), triggers(db), db.execute_sql("SELECT count(*) FROM api_request").fetchone()
    finally:
        db.close()
    _kill_mid_bulk(db_path, [samples, generated])
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT status FROM ingest_run ORDER BY id DESC LIMIT 1").fetchone()[0] == "running"
    db = open_archive(db_path)
    try:
        assert (derived(db), triggers(db), db.execute_sql("SELECT count(*) FROM api_request").fetchone()) == before
        assert_exact(db)  # the killed run's rows, trigger drops and rebuild were one transaction: none of it stays
        run_ingest(db, [samples, generated], parallel=False)
        _filed(db)
        assert_exact(db)
        assert triggers(db) == trickle["triggers"]
        assert derived(db) == trickle["derived"]
        assert searches(db) == trickle["search"]
    finally:
        db.close()


def test_readers_during_a_bulk_run_see_exact_figures(roots: tuple[Path, Path], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """While a bulk run has written rows without their derived tables, another connection (an API thread, another
    process opening the archive) reads the state before the run, whose derived tables are exact, and opening the
    archive does not wait for the run."""
    samples, generated = roots
    path = tmp_path / "live.db"
    db = open_archive(path)
    seen: list[tuple[int, int]] = []
    monkeypatch.setattr(runner, "COMMIT_ROWS", 200)  # write rows many times within the run (3 MB to read)
    try:
        run_ingest(db, [samples], parallel=False, bulk=False)

        def progress(state: object) -> None:
            written = db.connection().execute("SELECT count(*) FROM api_request").fetchone()[0]
            started = time.monotonic()
            reader = open_archive(path)  # its own connection, as another process or thread has
            try:
                assert time.monotonic() - started < 2
                conn = reader.connection()
                assert rollup_differences(conn) == []  # rows written without their rollups: none of them visible
                assert {k: v for k, v in day_rollup_differences(conn).items() if v} == {}
                seen.append((written, conn.execute("SELECT count(*) FROM api_request").fetchone()[0]))
            finally:
                reader.close()

        stats = run_ingest(db, [samples, generated], parallel=False, bulk=True, progress=progress)
        assert stats.bulk
        assert any(written > visible for written, visible in seen)  # checked while uncommitted rows existed
        assert_exact(db)
    finally:
        db.close()
