"""GET /api/data/insights and POST /api/data/insights/{id}/read through a real server: the demo's insights for test
keys, the user's for live keys, every error, and a new insight reaching `/ws` as ``insight.created``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from store.db import open_archive
from store.demo.archive import DemoArchive
from store.insights.base import CATEGORIES, TYPES
from store.insights.records import list_insights
from tests.api_server import ApiServer, sample_server, start_server, stop_server, write_config

FIELDS = {"id", "title", "description", "value", "type", "category", "is_read", "created_at"}
DEMO_TITLES = [
    "High Token Usage Detected", "Session costs are up", "Unusual usage on Thursday 11 June", "Cache hit rate dropped",
    "Cache expired during idle gaps", "Bash is failing more often", "New model without a price: claude-nova-1-preview",
    "Subagent fan-out storm", "Frequent compactions", "Frequent compactions", "Most expensive sessions last week",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    srv = sample_server(tmp_path_factory.mktemp("insights"))
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def demo(server: ApiServer) -> httpx.Client:
    key = server.client().post("/api/keys", json={"name": "insights-demo", "test": True}).json()["key"]
    return server.client_for(key)


def _insights(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.get("/api/data/insights", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_demo_insights_are_the_same_everywhere(demo: httpx.Client, tmp_path: Path) -> None:
    served = _insights(demo)
    assert set(served) == {"insights", "hasTable", "unreadCount"} and served["hasTable"] is True
    assert [i["title"] for i in served["insights"]] == DEMO_TITLES and served["unreadCount"] == len(DEMO_TITLES)
    for insight in served["insights"]:
        assert set(insight) == FIELDS and insight["id"].startswith("ins_") and insight["value"]
        assert insight["type"] in TYPES and insight["category"] in CATEGORIES
        assert insight["created_at"] == "2026-06-15T12:00:00.000Z"  # the demo's clock
    template = open_archive(tmp_path / "template.db")
    built = DemoArchive(tmp_path / "demo", template.connection)
    try:
        assert list_insights(built.connection(), unread_only=False) == served
    finally:
        built.close()
        template.close()
    assert served["insights"][0]["value"] == "2,389,147 tokens"
    assert served["insights"][0]["description"].startswith("Your last 5 sessions used 163% more tokens than average")


def test_filter_and_mark_read(demo: httpx.Client) -> None:
    before = _insights(demo, filter="unread")
    first = before["insights"][0]
    response = demo.post(f"/api/data/insights/{first['id']}/read")
    assert response.status_code == 200 and response.json() == {"success": True}
    assert "x-ratelimit-remaining" in response.headers
    after = _insights(demo, filter="unread")
    assert after["unreadCount"] == before["unreadCount"] - 1 and first["id"] not in {i["id"] for i in after["insights"]}
    everything = _insights(demo, filter="all")
    assert everything["unreadCount"] == after["unreadCount"] and len(everything["insights"]) == len(DEMO_TITLES)
    assert next(i for i in everything["insights"] if i["id"] == first["id"])["is_read"] is True
    assert demo.post(f"/api/data/insights/{first['id']}/read").json() == {"success": True}  # idempotent
    assert _insights(demo)["unreadCount"] == after["unreadCount"]


def test_insight_errors(demo: httpx.Client, server: ApiServer) -> None:
    missing = demo.post("/api/data/insights/ins_0000000000000000/read")
    assert missing.status_code == 404
    assert missing.json() == {"error": "No insight with id 'ins_0000000000000000'", "code": "NOT_FOUND",
                              "id": "ins_0000000000000000"}
    for value in ("bogus", "", "UNREAD"):
        bad = demo.get("/api/data/insights", params={"filter": value})
        assert bad.status_code == 400 and bad.json()["parameter"] == "filter" and "filter" in bad.json()["error"]
    long_id = demo.post("/api/data/insights/" + "x" * 65 + "/read")
    assert long_id.status_code == 400 and long_id.json()["parameter"] == "insight_id"
    assert demo.get("/api/data/insights/x/read").status_code == 405
    with server.client(authenticated=False) as anonymous:
        assert anonymous.get("/api/data/insights").status_code == 401


def test_live_keys_read_the_users_insights(server: ApiServer, demo: httpx.Client) -> None:
    client = server.client()
    deadline = time.monotonic() + 30
    while not (data := _insights(client))["insights"] and time.monotonic() < deadline:
        time.sleep(0.2)  # the engine runs on its own thread after the start-up ingest
    titles = [i["title"] for i in data["insights"]]
    assert "New model without a price: claude-3-sonnet-20240229" in titles  # in the samples, and unpriced
    assert not {i["id"] for i in data["insights"]} & {i["id"] for i in _insights(demo)["insights"]}


def _assistant_line(model: str) -> bytes:
    now = datetime.now(UTC)
    return orjson.dumps({
        "type": "assistant", "sessionId": "s-zeta", "uuid": "zeta-1", "cwd": "/home/u/zeta", "version": "2.1.42",
        "timestamp": f"{now:%Y-%m-%dT%H:%M:%S}.000Z", "requestId": "req_zeta_1",
        "message": {"id": "msg_zeta_1", "role": "assistant", "model": model,
                    "content": [{"type": "text", "text": "hi"}], "usage": {"input_tokens": 1200, "output_tokens": 34}},
    }) + b"\n"


def test_new_insights_are_published_on_ws(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    (claude / "projects").mkdir(parents=True)
    write_config(tmp_path / "home")
    srv = start_server(tmp_path / "home", claude)  # watching the logs

    async def scenario() -> dict[str, Any]:
        async with websockets.connect(f"ws://127.0.0.1:{srv.port}/ws?token={srv.key}&types=insight") as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            transcript = claude / "projects" / "-home-u-zeta" / "s-zeta.jsonl"
            transcript.parent.mkdir(parents=True)
            transcript.write_bytes(_assistant_line("claude-zeta-9"))
            deadline = time.monotonic() + 30
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), max(deadline - time.monotonic(), 0.1)))
                if event.get("type") == "insight.created":
                    return event

    try:
        event = asyncio.run(scenario())
        insight = event["insight"]
        assert insight["title"] == "New model without a price: claude-zeta-9"
        assert insight["value"] == "1,234 tokens unpriced" and set(insight) == FIELDS
        listed = _insights(srv.client(), filter="unread")["insights"]
        assert [i["id"] for i in listed] == [insight["id"]]
    finally:
        stop_server(srv)
