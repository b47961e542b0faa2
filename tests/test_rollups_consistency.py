"""The local-day rollups stay exactly equal to a rebuild from the archived rows, whatever happens to those rows.

Random transcript trees (several days around a DST change, subagent files, errors, prompts, a session whose
working directory changes when an earlier line turns up) are ingested in random pieces and orders through the
real ingest, with re-reads, retention and zone changes in between. After every step each rollup must equal a
fresh GROUP BY over the rows, and the filed error patterns and prompt categories must equal a fresh computation.
"""

from __future__ import annotations

import random
import sqlite3
from collections import defaultdict
from contextlib import closing
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from peewee import SqliteDatabase

from store.db import open_archive
from store.ingest.runner import run_ingest
from store.monitor.error_filing import file_pending
from store.monitor.errors import error_signature
from store.monitor.prompt_filing import file_prompts
from store.monitor.prompts import TEXT_LIMIT, categorize, is_prompt
from store.retention import prune_sessions
from store.sqlite.day_rollups import day_rollup_differences, rebuild_day_rollups
from store.sqlite.usage_rollup import rollup_differences
from store.timezones import resolve_timezone
from tests.monitor_tree import Transcript, ms

PROMPTS = ("fix the failing test", "add a CI workflow", "why does it crash?", "<command-name>/clear</command-name>",
           "refactor the loader", "explain the parser", "[Request interrupted by user]", "commit and push")
ERRORS = ("Exit code 1\ncat: a.txt: No such file or directory", "Exit code 2\ncat: /x/b.py: No such file or directory",
          "File has not been read yet. Read it first before writing to it.", "Request failed with status code 503")
MODELS = ("claude-opus-4-6", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001", "claude-nova-9")
ZONES = ("UTC", "America/New_York", "Asia/Kolkata")
START = ms("2026-03-07T20:00:00+00:00")  # two days before the US DST change


def _tools(rng: random.Random, cwd: str) -> list[tuple[str, dict]]:
    choices = [("Bash", {"command": rng.choice(("pytest -q", "git commit -m x", "ls", "docker build ."))}),
               ("Read", {"file_path": f"{cwd}/src/m{rng.randrange(4)}.py"}),
               ("Edit", {"file_path": f"{cwd}/src/m{rng.randrange(4)}.py"}), ("Skill", {"skill": rng.choice("ab")}),
               ("mcp__github__get_issue", {"n": 1}), ("Grep", {"pattern": "x"})]
    return rng.sample(choices, rng.randrange(0, 3))


def _iso(ts: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _transcript(rng: random.Random, sid: str, cwd: str, start: int, *, agent: str | None = None) -> Transcript:
    """A session file: prompts, replies with tool calls and their results, spread over a few hours or days."""
    t = Transcript(sid, cwd, _iso(start), agent=agent)
    ts = start
    for _ in range(rng.randrange(2, 7)):
        ts += rng.choice((60_000, 3_600_000, 6 * 3_600_000, 26 * 3_600_000))
        t.prompt(rng.choice(PROMPTS), at=_iso(ts), **({"isMeta": True} if rng.random() < 0.1 else {}))
        for _ in range(rng.randrange(1, 3)):
            ts += rng.randrange(1_000, 900_000)
            calls = t.reply(model=rng.choice(MODELS), inp=rng.randrange(1, 5_000), out=rng.randrange(0, 900),
                            cr=rng.choice((0, 50_000, 210_000)), tools=_tools(rng, cwd), at=_iso(ts),
                            speed="fast" if rng.random() < 0.1 else None)
            for call in calls:
                if rng.random() < 0.8:
                    ts += rng.randrange(500, 60_000)
                    error = rng.random() < 0.4
                    t.result(call, rng.choice(ERRORS) if error else "ok", error=error, at=_iso(ts))
    return t


def random_tree(seed: int) -> dict[str, bytes]:
    """Transcript files (paths below ``projects/``) of a few random sessions."""
    rng = random.Random(seed)
    cwds = ["/p/alpha", "/p/beta", "/q/alpha"]
    files: dict[str, bytes] = {}
    for n in range(rng.randrange(2, 5)):
        sid = f"s{seed % 997}-{n}"
        cwd = rng.choice(cwds)
        start = START + rng.randrange(0, 4 * 86_400_000)
        main = _transcript(rng, sid, cwd, start)
        folder = cwd.replace("/", "-")
        files[f"{folder}/{sid}.jsonl"] = _bytes(main)
        if rng.random() < 0.5:
            agent = _transcript(rng, sid, cwd, start + 120_000, agent=f"a{n}{seed % 89}")
            files[f"{folder}/{sid}/subagents/agent-{agent.agent}.jsonl"] = _bytes(agent)
        if rng.random() < 0.4:  # an earlier line from elsewhere: the session moves to another project
            other = rng.choice([c for c in cwds if c != cwd])
            early = _transcript(rng, sid, other, start - 3_600_000)
            files[f"{other.replace('/', '-')}/{sid}-early.jsonl"] = _bytes(early)
    return files


def _bytes(t: Transcript) -> bytes:
    import orjson

    return b"".join(orjson.dumps(line) + b"\n" for line in t.lines)


def filed_differences(db: SqliteDatabase) -> dict[str, list]:
    """Filed error patterns and prompt categories that differ from a fresh computation (after filing)."""
    assert file_pending(db) and file_prompts(db)
    errors = {tid: (error_signature(text), sid, ts, name) for tid, text, sid, ts, name in db.execute_sql(
        "SELECT tool_use_id, error_text, session_id, call_ts_ms, name FROM tool_call WHERE status = 'error'")}
    filed = {tid: (sig, sid, ts, name) for tid, sig, sid, ts, name in db.execute_sql(
        "SELECT e.tool_use_id, p.signature, e.session_id, e.call_ts_ms, e.name FROM error_call e "
        "JOIN error_pattern p ON p.id = e.pattern_id")}
    return {"errors": sorted(set(errors.items()) ^ set(filed.items()), key=str),
            "prompts": sorted(set(_fresh_prompts(db).items()) ^ set(_filed_prompts(db).items()), key=str)}


def _filed_prompts(db: SqliteDatabase) -> dict[str, tuple]:
    return {uuid: (sid, ts, category) for uuid, sid, ts, category in db.execute_sql(
        "SELECT uuid, session_id, ts_ms, category FROM prompt_line")}


def _fresh_prompts(db: SqliteDatabase) -> dict[str, tuple]:
    """Every candidate line's category over its whole turn, computed from scratch."""
    lines = db.execute_sql(
        f"SELECT uuid, session_id, ts_ms, substr(text, 1, {TEXT_LIMIT}) FROM message WHERE type = 'user' "
        "AND is_sidechain = 0 AND is_meta = 0 AND text IS NOT NULL AND ts_ms IS NOT NULL").fetchall()
    starts: dict[str, list[int]] = defaultdict(list)
    for _, sid, ts, text in lines:
        if is_prompt(text):
            starts[sid].append(ts)
    calls = defaultdict(list)
    for sid, ts, name, command in db.execute_sql(
            "SELECT session_id, call_ts_ms, name, CASE WHEN name = 'Bash' AND json_valid(input_json) THEN "
            "json_extract(input_json, '$.command') END FROM tool_call WHERE call_ts_ms IS NOT NULL"):
        calls[sid].append((ts, name, command if isinstance(command, str) else None))
    result = {}
    for uuid, sid, ts, text in lines:
        category = None
        if is_prompt(text):
            later = [s for s in starts[sid] if s > ts]
            end = min(later) if later else None
            turn = [(n, c) for t, n, c in sorted(calls[sid]) if t >= ts and (end is None or t < end)]
            category = categorize(text, turn)
        result[uuid] = (sid, ts, category)
    return result


def assert_exact(db: SqliteDatabase) -> None:
    conn = db.connection()
    assert {k: v for k, v in day_rollup_differences(conn).items() if v} == {}
    assert rollup_differences(conn) == []
    assert filed_differences(db) == {"errors": [], "prompts": []}
    assert {k: v for k, v in day_rollup_differences(conn).items() if v} == {}  # filing kept them exact too


def _write(root: Path, rel: str, data: bytes) -> None:
    path = root / "projects" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as fh:
        fh.write(data)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31), data=st.data())
def test_rollups_equal_a_rebuild_after_any_ingest_schedule(tmp_path_factory: pytest.TempPathFactory, seed: int,
                                                           data: st.DataObject) -> None:
    files = random_tree(seed)
    rng = random.Random(seed)
    work = tmp_path_factory.mktemp("rollups")
    root = work / "claude"
    pieces = []
    for rel, content in files.items():  # each file in up to three line-aligned pieces, in a shuffled order
        lines = content.splitlines(keepends=True)
        cuts = sorted(rng.sample(range(1, len(lines)), min(2, len(lines) - 1))) if len(lines) > 1 else []
        bounds = [0, *cuts, len(lines)]
        pieces += [(rel, b"".join(lines[a:b])) for a, b in pairwise(bounds)]
    order = data.draw(st.permutations(range(len(pieces))), label="order")
    done: dict[str, int] = defaultdict(int)
    with closing(open_archive(work / "a.db")) as db:
        for step, i in enumerate(order):
            rel = pieces[i][0]
            part = [p for p in pieces if p[0] == rel][done[rel]]  # a file's pieces are appended in order
            done[rel] += 1
            _write(root, rel, part[1])
            run_ingest(db, [root], parallel=False)
            if step % 3 == 0:
                assert_exact(db)
        assert_exact(db)
        with db.atomic():  # another zone: every day-keyed rollup rebuilt, and still followed exactly
            rebuild_day_rollups(db.connection(), resolve_timezone(data.draw(st.sampled_from(ZONES), label="zone")))
        db.execute_sql("UPDATE source_file SET committed_offset = 0, size = 0, mtime_ns = 0")
        run_ingest(db, [root], parallel=False)  # everything read again: upserts must not double count
        assert_exact(db)
        cutoff = START + data.draw(st.integers(0, 6 * 86_400_000), label="retention cutoff")
        prune_sessions(db, 1, now_ms=cutoff + 86_400_000)
        assert_exact(db)


def test_a_session_moving_project_moves_its_rollups(tmp_path: Path) -> None:
    """An earlier line with another working directory re-files the whole session under the other project."""
    root = tmp_path / "claude"
    late = Transcript("mover", "/p/one", "2026-03-08T12:00:00Z")
    late.prompt("add tests")
    (call,) = late.reply(tools=[("Read", {"file_path": "/p/one/a.py"})])
    late.result(call, "Exit code 1\nboom", error=True)
    late.write(root, "-p-one/mover.jsonl")
    with closing(open_archive(tmp_path / "a.db")) as db:
        run_ingest(db, [root], parallel=False)
        assert_exact(db)
        early = Transcript("mover", "/p/two", "2026-03-08T08:00:00Z")
        early.prompt("start here")
        early.write(root, "-p-two/mover-early.jsonl")
        run_ingest(db, [root], parallel=False)
        assert db.execute_sql("SELECT p.path FROM session s JOIN project p ON p.id = s.project_id").fetchall() == [
            ("/p/two",)]
        assert_exact(db)
        assert db.execute_sql("SELECT DISTINCT p.path FROM file_touch f JOIN project p ON p.id = f.project_id"
                              ).fetchall() == [("/p/two",)]


def test_rebuilding_for_a_zone_moves_requests_between_local_days(tmp_path: Path) -> None:
    root = tmp_path / "claude"
    t = Transcript("z", "/p/z", "2026-03-08T03:30:00Z")
    t.prompt("hi")
    t.reply(inp=10, out=1)  # 22:30 on 7 March in New York, 8 March in UTC
    t.write(root, "-p-z/z.jsonl")
    with closing(open_archive(tmp_path / "a.db")) as db:
        run_ingest(db, [root], parallel=False)
        conn = db.connection()
        days = {}
        for zone in ("UTC", "America/New_York"):
            with db.atomic():
                rebuild_day_rollups(conn, resolve_timezone(zone))
            days[zone] = conn.execute("SELECT day FROM usage_day WHERE project_id = -1").fetchone()[0]
            assert {k: v for k, v in day_rollup_differences(conn).items() if v} == {}
        assert days["UTC"] - days["America/New_York"] == 1


def test_a_locked_archive_still_answers(tmp_path: Path) -> None:
    """Queued errors and prompts cannot be filed while another process writes: queries read the rows instead."""
    from store.monitor.errors import error_patterns
    from store.monitor.params import Scope

    root = tmp_path / "claude"
    t = Transcript("l", "/p/l", "2026-03-08T10:00:00Z")
    t.prompt("fix it")
    (call,) = t.reply(tools=[("Bash", {"command": "ls"})])
    t.result(call, "Exit code 1\nls: nope", error=True)
    t.write(root, "-p-l/l.jsonl")
    with closing(open_archive(tmp_path / "a.db")) as db:
        run_ingest(db, [root], parallel=False)
        other = sqlite3.connect(tmp_path / "a.db")
        other.execute("BEGIN IMMEDIATE")
        db.execute_sql("PRAGMA busy_timeout = 50")
        try:
            assert not file_pending(db)
            (pattern,) = error_patterns(db, Scope(resolve_timezone("UTC")))
        finally:
            other.rollback()
            other.close()
        assert pattern["count"] == 1 and pattern["pattern"].startswith("Exit code <n>")
        assert file_pending(db)
        assert error_patterns(db, Scope(resolve_timezone("UTC"))) == [pattern]
