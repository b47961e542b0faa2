"""Ingest reports what it added as events: new sessions, requests (priced), tool calls, failures, subagents."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from store.db import open_archive
from store.ingest.changes import collect
from store.ingest.runner import run_ingest
from store.pricing import PriceTable
from tests.samples import SAMPLES

SPOTTER = SAMPLES / "marot-spotter" / "test" / "fixtures" / "transcripts"
SID = "8463c716-a2ea-4c14-9efa-87158ebd9f20"


def _line(entry: dict) -> bytes:
    return orjson.dumps(entry) + b"\n"


def _turn(sid: str, n: int) -> list[bytes]:
    """An assistant line calling Bash (1,000 in / 200 out on Sonnet 4.5) and the user line with its failed result."""
    ts = f"2026-03-01T10:00:{n:02d}.000Z"
    call = {"type": "assistant", "sessionId": sid, "uuid": f"a-{n}", "timestamp": ts, "requestId": f"req_{n}",
            "cwd": "/home/u/proj", "message": {
                "id": f"msg_{n}", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                "content": [{"type": "tool_use", "id": f"toolu_{n}", "name": "Bash", "input": {"command": "false"}}],
                "usage": {"input_tokens": 1000, "output_tokens": 200}}}
    result = {"type": "user", "sessionId": sid, "uuid": f"u-{n}", "timestamp": ts, "cwd": "/home/u/proj",
              "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"toolu_{n}",
                                                       "is_error": True, "content": "Exit code 1"}]}}
    return [_line(call), _line(result)]


def test_appended_turn_becomes_events(tmp_path: Path) -> None:
    session = tmp_path / "root" / "projects" / "-home-u-proj" / "s1.jsonl"
    session.parent.mkdir(parents=True)
    session.write_bytes(b"".join(_turn("s1", 1)))
    db = open_archive(tmp_path / "a.db")
    prices = PriceTable.bundled()
    first = run_ingest(db, [tmp_path / "root"])
    kinds = [e["type"] for e in collect(db.connection(), first.changes, prices).events]
    assert kinds == ["session.created", "request.added", "tool.called", "tool.failed"]

    with session.open("ab") as fh:
        fh.write(b"".join(_turn("s1", 2)))
    second = run_ingest(db, [tmp_path / "root"], paths=[str(session)])
    changes = collect(db.connection(), second.changes, prices)
    assert not changes.truncated
    by_kind = {e["type"]: e for e in changes.events}
    assert sorted(by_kind) == ["request.added", "session.updated", "tool.called", "tool.failed"]
    request = by_kind["request.added"]
    assert request["request_key"] == "msg_2:req_2" and request["total_tokens"] == 1200
    # Sonnet 4.5: $3 per million input tokens, $15 per million output tokens
    assert Decimal(str(request["cost_usd"])) == Decimal("0.003") + Decimal("0.003")
    assert by_kind["tool.called"]["tool"] == "Bash" and by_kind["tool.called"]["tool_use_id"] == "toolu_2"
    assert by_kind["tool.failed"]["error"] == "Exit code 1"
    assert by_kind["session.updated"]["project_path"] == "/home/u/proj"
    third = run_ingest(db, [tmp_path / "root"])
    assert collect(db.connection(), third.changes, prices).events == []
    db.close()


def test_real_session_appended_half_lists_exactly_the_new_rows(tmp_path: Path) -> None:
    if not SPOTTER.is_dir():
        pytest.skip("samples missing")
    lines = (SPOTTER / f"{SID}.jsonl").read_bytes().splitlines(keepends=True)
    half = len(lines) // 2
    target = tmp_path / "root" / "projects" / "-p" / f"{SID}.jsonl"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"".join(lines[:half]))
    db = open_archive(tmp_path / "a.db")
    run_ingest(db, [tmp_path / "root"])
    keys_before = {r[0] for r in db.execute_sql("SELECT request_key FROM api_request").fetchall()}
    tools_before = {r[0] for r in db.execute_sql("SELECT tool_use_id FROM tool_call").fetchall()}
    with target.open("ab") as fh:
        fh.write(b"".join(lines[half:]))
    stats = run_ingest(db, [tmp_path / "root"], paths=[str(target)])
    events = collect(db.connection(), stats.changes, PriceTable.bundled()).events
    keys_after = {r[0] for r in db.execute_sql("SELECT request_key FROM api_request WHERE model IS NOT NULL")}
    tools_after = {r[0] for r in db.execute_sql("SELECT tool_use_id FROM tool_call WHERE name IS NOT NULL")}
    assert {e["request_key"] for e in events if e["type"] == "request.added"} == keys_after - keys_before
    assert {e["tool_use_id"] for e in events if e["type"] == "tool.called"} == tools_after - tools_before
    assert [e["session_id"] for e in events if e["type"] == "session.updated"] == [SID]
    assert all(e["cost_usd"] is not None for e in events if e["type"] == "request.added")
    db.close()


def test_event_limit_marks_truncation(tmp_path: Path) -> None:
    session = tmp_path / "root" / "projects" / "-p" / "s.jsonl"
    session.parent.mkdir(parents=True)
    session.write_bytes(b"".join(line for n in range(1, 30) for line in _turn("s", n)))
    db = open_archive(tmp_path / "a.db")
    stats = run_ingest(db, [tmp_path / "root"])
    changes = collect(db.connection(), stats.changes, PriceTable.bundled(), limit=10)
    assert len(changes.events) == 10 and changes.truncated
    db.close()


def test_paths_mode_marks_a_vanished_file_missing_and_ignores_strangers(tmp_path: Path) -> None:
    session = tmp_path / "root" / "projects" / "-p" / "s.jsonl"
    session.parent.mkdir(parents=True)
    session.write_bytes(b"".join(_turn("s", 1)))
    db = open_archive(tmp_path / "a.db")
    run_ingest(db, [tmp_path / "root"])
    session.unlink()
    stranger = tmp_path / "elsewhere.jsonl"
    stranger.write_bytes(b"".join(_turn("x", 1)))
    stats = run_ingest(db, [tmp_path / "root"], paths=[str(session), str(stranger)])
    assert (stats.files_missing, stats.files_changed) == (1, 0)
    assert db.execute_sql("SELECT count(*) FROM api_request").fetchone() == (1,)
    assert db.execute_sql("SELECT missing FROM source_file").fetchall() == [(1,)]
    # the run log keeps whole runs; a watcher's many targeted runs would flood it
    assert db.execute_sql("SELECT count(*) FROM ingest_run").fetchone() == (1,)
    db.close()
