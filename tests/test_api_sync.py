"""/api/sync/*: status, a preview that writes nothing, runs in the background, 409 while running, and a reset
after which a full re-read leaves every total unchanged (dedup)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.api_server import ApiServer, data, error, sample_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """This module's own server: its tests add transcripts and reset bookkeeping."""
    srv = sample_server(tmp_path_factory.mktemp("sync"))
    yield srv
    stop_server(srv)


@pytest.fixture
def client(server: ApiServer) -> httpx.Client:
    return server.client()


def _turn(session_id: str, cwd: str, n: int, ts: str = "2026-02-10T12:00:00.000Z") -> list[dict[str, Any]]:
    """A user prompt and its two-line assistant response: 3 lines, 3 messages, 1 API request."""
    user_uuid, msg_id = str(uuid.uuid4()), f"msg_{uuid.uuid4().hex}"
    usage = {"input_tokens": 100 + n, "output_tokens": 50, "cache_creation_input_tokens": 0,
             "cache_read_input_tokens": 0}
    common = {"sessionId": session_id, "cwd": cwd, "version": "2.1.39", "timestamp": ts, "isSidechain": False}
    assistant = {**common, "type": "assistant", "parentUuid": user_uuid, "requestId": f"req_{msg_id}",
                 "message": {"id": msg_id, "model": "claude-sonnet-4-5-20250929", "role": "assistant",
                             "usage": usage}}
    return [
        {**common, "type": "user", "uuid": user_uuid, "message": {"role": "user", "content": f"prompt {n}"}},
        {**assistant, "uuid": str(uuid.uuid4()), "message": {**assistant["message"],
                                                              "content": [{"type": "text", "text": "ok"}]}},
        {**assistant, "uuid": str(uuid.uuid4()), "message": {**assistant["message"], "content": [
            {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex}", "name": "Read", "input": {"file_path": "/a"}}]}},
    ]


def _lines(entries: list[dict]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in entries)


def _appendable(server: ApiServer) -> tuple[Path, str, str]:
    """A main session file that ends with a complete line, with its session id and cwd."""
    for path in sorted((server.claude_dir / "projects").rglob("*.jsonl")):
        if "subagents" in path.parts or path.name.startswith("agent-"):
            continue
        raw = path.read_bytes()
        if not raw.endswith(b"\n"):
            continue
        for line in raw.splitlines():
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if isinstance(entry, dict) and entry.get("sessionId") and entry.get("cwd") and \
                    entry["sessionId"] == path.stem:
                return path, entry["sessionId"], entry["cwd"]
    raise AssertionError("no appendable sample session")


def _wait(server: ApiServer, client: httpx.Client) -> dict:
    status = server.wait_for_sync()
    assert status["lastSyncStatus"] == "ok", status
    return status


def _snapshot(client: httpx.Client) -> dict[str, Any]:
    """Every figure a reset must not change."""
    sessions = data(client.get("/api/analytics/sessions", params={"limit": 1000}))
    stats = data(client.get("/api/sync/stats"))
    return {
        "overview": data(client.get("/api/analytics/overview")),
        "daily": data(client.get("/api/analytics/daily-usage")),
        "models": data(client.get("/api/analytics/model-distribution")),
        "tools": data(client.get("/api/analytics/tool-usage")),
        "sessions": sessions,
        "stats": {k: stats[k] for k in ("totalSessions", "totalMessages", "totalRequests", "sourceFiles",
                                        "oldestSession", "newestSession", "retentionDays")},
    }


def test_status_after_start_up(server: ApiServer, client: httpx.Client) -> None:
    status = data(client.get("/api/sync/status"))
    assert status["isRunning"] is False and status["currentSyncId"] is None
    assert status["lastSync"].endswith("Z") and status["lastSyncDuration"] >= 0
    assert status["lastSyncStatus"] == "ok" and status["lastSyncError"] is None
    stats = status["lastSyncStats"]
    assert set(stats) >= {"filesProcessed", "sessionsAdded", "messagesAdded", "errors"}
    assert all(isinstance(v, int) and v >= 0 for v in stats.values())


def test_stats(client: httpx.Client) -> None:
    stats = data(client.get("/api/sync/stats"))
    overview = data(client.get("/api/analytics/overview"))
    assert stats["totalSessions"] == overview["totalSessions"] > 0
    assert stats["totalRequests"] >= overview["totalRequests"]  # plus <synthetic> ones, which cost nothing
    assert stats["totalMessages"] > stats["totalRequests"] and stats["sourceFiles"] > 100
    assert stats["oldestSession"] < stats["newestSession"]
    assert stats["retentionDays"] is None  # the default: keep everything forever
    assert stats["databaseSizeBytes"] > 0 and stats["databaseSize"].endswith(("KB", "MB", "GB"))


def test_preview_lists_new_and_grown_files_and_writes_nothing(server: ApiServer, client: httpx.Client) -> None:
    assert data(client.get("/api/sync/preview"))["totalPendingFiles"] == 0
    grown, session_id, cwd = _appendable(server)
    new_id = str(uuid.uuid4())
    new_file = server.claude_dir / "projects" / "-tmp-new-project" / f"{new_id}.jsonl"
    new_file.parent.mkdir(parents=True)
    new_file.write_bytes(_lines(_turn(new_id, "/tmp/new-project", 1) + _turn(new_id, "/tmp/new-project", 2)))
    with open(grown, "ab") as fh:
        fh.write(_lines(_turn(session_id, cwd, 3)))
    before_status, before_stats = data(client.get("/api/sync/status")), data(client.get("/api/sync/stats"))

    preview = data(client.get("/api/sync/preview"))
    assert preview == data(client.get("/api/sync/preview"))  # computed, not consumed
    files = {p["path"]: p for p in preview["pendingFiles"]}
    assert set(files) == {str(new_file), str(grown)}
    assert files[str(new_file)]["estimatedSessions"] == 1 and files[str(new_file)]["estimatedMessages"] == 6
    assert files[str(grown)]["estimatedSessions"] == 0 and files[str(grown)]["estimatedMessages"] == 3
    assert files[str(grown)]["pendingBytes"] == len(_lines(_turn(session_id, cwd, 3)))
    assert all(p["lastModified"].endswith("Z") for p in files.values())
    assert (preview["totalPendingFiles"], preview["estimatedNewSessions"], preview["estimatedNewMessages"]) == (2, 1, 9)
    assert data(client.get("/api/sync/status")) == before_status
    assert data(client.get("/api/sync/stats"))["totalMessages"] == before_stats["totalMessages"]

    started = data(client.post("/api/sync/run", json={"incremental": True}), 202)
    assert started["started"] is True and uuid.UUID(started["syncId"])
    status = _wait(server, client)
    assert status["lastSyncStats"]["filesProcessed"] == 2
    assert status["lastSyncStats"]["sessionsAdded"] == 1 and status["lastSyncStats"]["messagesAdded"] == 9
    assert data(client.get("/api/sync/preview"))["totalPendingFiles"] == 0
    after = data(client.get("/api/sync/stats"))
    assert after["totalSessions"] == before_stats["totalSessions"] + 1
    assert after["totalMessages"] == before_stats["totalMessages"] + 9
    assert after["sourceFiles"] == before_stats["sourceFiles"] + 1
    detail = data(client.get(f"/api/analytics/sessions/{new_id}"))
    assert detail["session"]["requests"] == 2 and detail["session"]["projectPath"] == "/tmp/new-project"
    assert [m["content"] for m in detail["messages"] if m["role"] == "user"] == ["prompt 1", "prompt 2"]


def _start_full_run_and_collide(client: httpx.Client) -> list[httpx.Response]:
    """Start a full re-read and hit it at once with a second run and a reset (retried if the first was done)."""
    for _ in range(5):
        first = data(client.post("/api/sync/run", json={"incremental": False}), 202)
        second, reset = client.post("/api/sync/run", json={}), client.post("/api/sync/reset")
        status = data(client.get("/api/sync/status"))
        if second.status_code == 409:
            assert status["currentSyncId"] in (first["syncId"], None)
            return [second, reset]
        time.sleep(1)
    raise AssertionError("could not catch a sync while it was running")


def test_a_second_run_or_a_reset_during_a_run_is_409(server: ApiServer, client: httpx.Client) -> None:
    second, reset = _start_full_run_and_collide(client)
    error(second, 409, "SYNC_IN_PROGRESS")
    if reset.status_code != 200:  # the run may have ended between the two requests
        error(reset, 409, "SYNC_IN_PROGRESS")
    _wait(server, client)
    assert data(client.post("/api/sync/run"), 202)["started"] is True  # free again once it has finished
    _wait(server, client)


def test_reset_then_rereading_everything_changes_no_total(server: ApiServer, client: httpx.Client) -> None:
    before = _snapshot(client)
    reset = data(client.post("/api/sync/reset"))
    assert reset["filesReset"] == before["stats"]["sourceFiles"]
    assert data(client.get("/api/sync/preview"))["totalPendingFiles"] == before["stats"]["sourceFiles"]
    assert _snapshot(client) == before  # a reset alone changes nothing but the bookkeeping
    data(client.post("/api/sync/run"), 202)
    status = _wait(server, client)
    assert status["lastSyncStats"]["filesProcessed"] == before["stats"]["sourceFiles"]
    assert status["lastSyncStats"]["sessionsAdded"] == status["lastSyncStats"]["messagesAdded"] == 0
    assert _snapshot(client) == before
    assert data(client.get("/api/sync/preview"))["totalPendingFiles"] == 0


def test_full_run_changes_no_total(server: ApiServer, client: httpx.Client) -> None:
    before = _snapshot(client)
    started = data(client.post("/api/sync/run", json={"incremental": False, "dryRun": False}), 202)
    assert "Full" in started["message"]
    _wait(server, client)
    assert _snapshot(client) == before


def test_dry_run_only_previews(server: ApiServer, client: httpx.Client) -> None:
    before = data(client.get("/api/sync/status"))
    extra = server.claude_dir / "projects" / "-tmp-dry" / "dry.jsonl"
    extra.parent.mkdir(parents=True, exist_ok=True)
    extra.write_bytes(_lines(_turn("dry", "/tmp/dry", 7)))
    dry = data(client.post("/api/sync/run", json={"dryRun": True}))
    assert dry["started"] is False and dry["syncId"] is None
    assert [p["path"] for p in dry["preview"]["pendingFiles"]] == [str(extra)]
    assert data(client.get("/api/sync/status")) == before
    error(client.get("/api/analytics/sessions/dry"), 404, "NOT_FOUND")
    data(client.post("/api/sync/run"), 202)
    _wait(server, client)
    assert data(client.get("/api/analytics/sessions/dry"))["session"]["requests"] == 1


@pytest.mark.parametrize("body", [
    {"incremental": "maybe"}, {"incremental": 1}, {"dryRun": "yes"}, {"incremental": None}, {"force": True},
    [True], "run",
])
def test_run_rejects_bad_bodies(client: httpx.Client, body: Any) -> None:
    error(client.post("/api/sync/run", json=body), 400, "VALIDATION_ERROR")


def test_run_rejects_a_body_that_is_not_json(client: httpx.Client) -> None:
    error(client.post("/api/sync/run", content=b"incremental=true",
                      headers={"Content-Type": "application/json"}), 400, "VALIDATION_ERROR")


def test_sync_routes_reject_wrong_methods(client: httpx.Client) -> None:
    error(client.get("/api/sync/run"), 405, "METHOD_NOT_ALLOWED")
    error(client.delete("/api/sync/reset"), 405, "METHOD_NOT_ALLOWED")
    error(client.post("/api/sync/status"), 405, "METHOD_NOT_ALLOWED")
