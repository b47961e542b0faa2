"""Live end to end: a real server watching real files, a real WebSocket client, real hook payloads."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from tests.api_server import ApiServer, start_server, stop_server, write_config
from tests.samples import SAMPLES

HOOK_LOG = SAMPLES / "oneryalcin-fasthooks" / "specs" / "data" / "sample_hook_logs.jsonl"
PROJECT = "-home-u-live"


def _assistant(sid: str, n: int, out: int = 50) -> bytes:
    return orjson.dumps({
        "type": "assistant", "sessionId": sid, "uuid": f"{sid}-a{n}", "timestamp": f"2026-03-01T10:00:{n:02d}.000Z",
        "requestId": f"req_{sid}_{n}", "cwd": "/home/u/live", "version": "2.1.39",
        "message": {"id": f"msg_{sid}_{n}", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                    "content": [{"type": "text", "text": f"answer {n}"}],
                    "usage": {"input_tokens": 100, "output_tokens": out}}}) + b"\n"


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[ApiServer]:
    claude = tmp_path / "claude"
    (claude / "projects").mkdir(parents=True)
    write_config(tmp_path / "home")
    server = start_server(tmp_path / "home", claude)
    yield server
    stop_server(server)


def _ws_url(server: ApiServer, query: str = "") -> str:
    return f"ws://127.0.0.1:{server.port}/ws?token={server.key}{query}"


async def _expect(ws: Any, predicate: Any, timeout: float = 5.0) -> list[dict]:
    """Receive until ``predicate(events)`` holds; returns the events (heartbeats left out)."""
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    while not predicate(events):
        left = deadline - time.monotonic()
        assert left > 0, f"timed out; got {[e.get('type') or e.get('hook_event_name') for e in events]}"
        event = json.loads(await asyncio.wait_for(ws.recv(), left))
        if event.get("type") != "heartbeat":
            events.append(event)
    return events


def _types(events: list[dict]) -> list[str]:
    return [e.get("type") or e.get("hook_event_name") for e in events]


def test_appends_half_lines_subagents_and_replacements_reach_ws(live_server: ApiServer) -> None:
    session = live_server.claude_dir / "projects" / PROJECT / "s1.jsonl"

    async def scenario() -> float:
        async with websockets.connect(_ws_url(live_server)) as ws:
            hello = json.loads(await ws.recv())
            assert hello["type"] == "hello"
            session.parent.mkdir(parents=True)
            start = time.monotonic()
            session.write_bytes(_assistant("s1", 1))
            events = await _expect(ws, lambda ev: "request.added" in _types(ev))
            latency = time.monotonic() - start
            assert _types(events)[:2] == ["session.created", "request.added"]
            added = events[_types(events).index("request.added")]
            assert added["request_key"] == "msg_s1_1:req_s1_1" and added["total_tokens"] == 150
            assert added["cost_usd"] == pytest.approx(100 * 3e-6 + 50 * 15e-6)

            line = _assistant("s1", 2)  # half a line now, the rest later: read once, when complete
            with session.open("ab") as fh:
                fh.write(line[:40])
            with pytest.raises(TimeoutError):
                await _expect(ws, lambda ev: "request.added" in _types(ev), timeout=0.6)
            with session.open("ab") as fh:
                fh.write(line[40:])
            events = await _expect(ws, lambda ev: "request.added" in _types(ev))
            assert [e["request_key"] for e in events if e.get("type") == "request.added"] == ["msg_s1_2:req_s1_2"]

            agent = session.parent / "s1" / "subagents" / "agent-abc.jsonl"
            agent.parent.mkdir(parents=True)
            agent.write_bytes(_assistant("s1", 3).replace(b'"sessionId"', b'"agentId":"abc","isSidechain":true,'
                                                                            b'"sessionId"'))
            events = await _expect(ws, lambda ev: {"subagent.started", "request.added"} <= set(_types(ev)))
            assert next(e for e in events if e.get("type") == "subagent.started")["agent_id"] == "abc"

            replacement = session.with_suffix(".new")  # replaced by rename: new inode, old lines plus one
            replacement.write_bytes(session.read_bytes() + _assistant("s1", 4))
            replacement.replace(session)
            events = await _expect(ws, lambda ev: "request.added" in _types(ev))
            assert [e["request_key"] for e in events if e.get("type") == "request.added"] == ["msg_s1_4:req_s1_4"]
            return latency

    latency = asyncio.run(scenario())
    assert latency < 2.0
    with live_server.client() as client:
        stats = client.get("/api/stats", params={"from": "2026-03-01", "to": "2026-03-01"}).json()
    assert stats["period"]["output_tokens"] == 4 * 50  # nothing counted twice through all of that


def test_hooks_are_stored_broadcast_and_answered_empty(live_server: ApiServer) -> None:
    payloads = []
    for raw in HOOK_LOG.read_text().splitlines()[:12]:
        entry = json.loads(raw)
        payload = entry.get("payload") or entry.get("data") or entry
        if isinstance(payload, dict):
            payload = {k: v for k, v in payload.items() if k not in ("event", "ts")}
            payload["hook_event_name"] = entry.get("event") or entry.get("hook_event_name") or "Notification"
            payloads.append(payload)
    assert payloads

    async def scenario() -> list[dict]:
        async with websockets.connect(_ws_url(live_server, "&types=hook")) as ws:
            await ws.recv()  # hello
            async with httpx.AsyncClient(base_url=live_server.base_url, headers=live_server.auth) as client:
                for payload in payloads:
                    response = await client.post("/api/hooks", json=payload)
                    assert response.status_code == 200 and response.content == b""
            return await _expect(ws, lambda ev: len(ev) >= len(payloads))

    events = asyncio.run(scenario())
    assert [e["hook_event_name"] for e in events] == [p["hook_event_name"] for p in payloads]
    assert all("received_at" in e for e in events)
    with live_server.client() as client:
        bad = client.post("/api/hooks", content=b"not json")
        assert bad.status_code == 400
        assert client.post("/api/hooks", json={"no": "name"}).status_code == 400


def test_ws_refuses_missing_key_and_foreign_origin(live_server: ApiServer) -> None:
    async def scenario() -> None:
        with pytest.raises(websockets.exceptions.InvalidStatus):
            async with websockets.connect(f"ws://127.0.0.1:{live_server.port}/ws") as ws:
                await ws.recv()
        with pytest.raises(websockets.exceptions.InvalidStatus):
            async with websockets.connect(_ws_url(live_server), origin="http://evil.example") as ws:
                await ws.recv()
        headers = {"Authorization": f"Bearer {live_server.key}"}
        async with websockets.connect(f"ws://127.0.0.1:{live_server.port}/ws", additional_headers=headers) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"

    asyncio.run(scenario())


def test_pause_stops_ingest_and_resume_catches_up(live_server: ApiServer) -> None:
    session = live_server.claude_dir / "projects" / PROJECT / "s2.jsonl"
    with live_server.client() as client:
        assert client.post("/api/live/pause").json()["data"]["watching"] is False
        session.parent.mkdir(parents=True, exist_ok=True)
        session.write_bytes(_assistant("s2", 1))
        time.sleep(0.8)
        assert client.get("/api/stats", params={"from": "2026-03-01"}).json()["period"]["output_tokens"] == 0
        assert client.post("/api/live/resume").json()["data"]["watching"] is True
        deadline = time.monotonic() + 5
        while client.get("/api/stats", params={"from": "2026-03-01"}).json()["period"]["output_tokens"] != 50:
            assert time.monotonic() < deadline, "resume did not catch up"
            time.sleep(0.1)


def test_quota_from_statusline_post(live_server: ApiServer) -> None:
    payload = {"session_id": "s9", "model": {"id": "claude-opus-4-6"}, "cost": {"total_cost_usd": 1.25},
               "rate_limits": {"five_hour": {"used_percentage": 42.5, "resets_at": 4_102_444_800},
                               "seven_day": {"used_percentage": 12.0, "resets_at": 4_102_444_800}}}
    with live_server.client() as client:
        assert client.post("/api/statusline", json=payload).json()["data"] == {"recorded": 2}
        latest = client.get("/api/quota").json()["data"]["latest"]
        assert latest["five_hour"]["usedPercentage"] == 42.5 and latest["seven_day"]["usedPercentage"] == 12.0
        assert client.post("/api/statusline", content=b"[1]").status_code == 400


def test_command_hook_relay_forwards_to_the_running_app(live_server: ApiServer) -> None:
    """`devhelion hook` (the command-hook form) finds the app through server.json and the event reaches /ws."""
    import subprocess
    import sys

    assert json.loads((live_server.home / "server.json").read_text())["port"] == live_server.port
    payload = {"hook_event_name": "PostToolUse", "session_id": "relay-1", "tool_name": "Bash",
               "cwd": "/home/u/live", "tool_input": {"command": "ls"}}

    async def scenario() -> dict:
        async with websockets.connect(_ws_url(live_server, "&types=PostToolUse")) as ws:
            await ws.recv()  # hello
            start = time.monotonic()
            done = await asyncio.to_thread(
                subprocess.run, [sys.executable, "-m", "desktop", "hook"], input=json.dumps(payload).encode(),
                env=live_server.env(), capture_output=True, timeout=10)
            assert done.returncode == 0 and done.stdout == b""
            assert time.monotonic() - start < 5
            (event,) = await _expect(ws, lambda ev: len(ev) >= 1)
            return event

    event = asyncio.run(scenario())
    assert event["session_id"] == "relay-1" and event["tool_name"] == "Bash"


def test_a_hook_posted_while_the_archive_is_locked_is_spooled_then_archived(live_server: ApiServer) -> None:
    """A bulk ingest by the CLI holds the write lock for its whole run: the app answers the hook, broadcasts it,
    and keeps it in the spool until its next sync run moves it into the archive."""
    import sqlite3

    payload = {"hook_event_name": "Stop", "session_id": "locked-1", "cwd": "/work"}
    holder = sqlite3.connect(live_server.home / "devhelion.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # what a bulk ingest holds
    try:
        with live_server.client() as client:
            response = client.post("/api/hooks", json=payload, timeout=30)
        assert response.status_code == 200 and response.content == b""
        assert (live_server.home / "spool" / "hooks.jsonl").read_bytes().count(b"\n") == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with live_server.client() as client:
        deadline = time.monotonic() + 30
        while client.post("/api/sync/run", json={}).status_code != 202:  # 409: the start-up run is still going
            assert time.monotonic() < deadline, "no sync run could be started"
            time.sleep(0.1)
        while client.get("/api/sync/status").json()["data"]["isRunning"] or \
                (live_server.home / "spool" / "hooks.jsonl").read_bytes():
            assert time.monotonic() < deadline, "the spool was not emptied by the sync run"
            time.sleep(0.1)
    with sqlite3.connect(live_server.home / "devhelion.db") as conn:
        rows = conn.execute("SELECT event_name, session_id FROM hook_event").fetchall()
    assert rows == [("Stop", "locked-1")]
