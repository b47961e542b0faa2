"""GET /api/data/events through a real server: the reference's fields, filters, pagination, stats, every 400, and
live (the sample archive) against test keys (the demo archive: fixed clock, identical on every machine)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from store.data_api.events import EventQuery, query_events
from store.db import open_archive
from store.demo.archive import DemoArchive
from store.demo.generate import DEMO_NOW_MS
from store.timezones import DAY_MS, format_utc_iso_ms
from tests.api_server import ApiServer, sample_server, stop_server

FIELDS = {"id", "time", "event_type", "tool", "project_path", "user_id", "tokens_used", "model"}
ROOMY = {"rate_per_minute": 10_000, "rate_per_hour": 100_000, "team_rate_per_hour": 100_000}  # limits: elsewhere


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    srv = sample_server(tmp_path_factory.mktemp("events"), data_api=ROOMY)
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def live(server: ApiServer) -> httpx.Client:
    return server.client()


@pytest.fixture(scope="module")
def demo(server: ApiServer) -> httpx.Client:
    key = server.client().post("/api/keys", json={"name": "events-demo", "test": True}).json()["key"]
    return server.client_for(key)


def _get(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.get("/api/data/events", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _all(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    events, page = [], 0
    while True:
        data = _get(client, limit=1000, page=page, **params)
        events += data["events"]
        if not data["events"]:
            return events
        page += 1


def test_fields_order_and_totals_match_the_archive(server: ApiServer, live: httpx.Client) -> None:
    data = _get(live, limit=5)
    assert set(data) == {"events", "totalCount", "stats", "page", "limit"} and (data["page"], data["limit"]) == (0, 5)
    assert set(data["stats"]) == {"totalEvents", "projects", "totalTokens", "toolsUsed"}
    events = _all(live)
    assert len(events) == data["totalCount"] == data["stats"]["totalEvents"]
    assert all(set(e) == FIELDS and e["tool"] == "claude_code" and e["id"].startswith("evt_") for e in events)
    assert len({e["id"] for e in events}) == len(events)
    assert [e["time"] for e in events] == sorted((e["time"] for e in events), reverse=True)
    assert len({e["user_id"] for e in events}) == 1 and events[0]["user_id"].startswith("usr_")
    conn = sqlite3.connect(server.home / "devhelion.db")
    requests, tokens = conn.execute(
        "SELECT count(*), sum(input_tokens + output_tokens + cache_write_5m + cache_write_1h + cache_read) FROM "
        "api_request WHERE model IS NOT NULL AND model != '<synthetic>'").fetchone()
    tools, names = conn.execute("SELECT count(*), count(DISTINCT name) FROM tool_call WHERE call_ts_ms IS NOT NULL "
                                "AND name IS NOT NULL").fetchone()
    projects = conn.execute("SELECT count(DISTINCT coalesce(p.path, s.cwd)) FROM session s LEFT JOIN project p "
                            "ON p.id = s.project_id").fetchone()[0]
    conn.close()
    kinds = [e["event_type"] for e in events]
    assert kinds.count("assistant") == requests and kinds.count("tool_use") == tools and kinds.count("user") > 0
    assert data["stats"]["totalTokens"] == tokens == sum(e["tokens_used"] for e in events)
    assert data["stats"]["toolsUsed"] == names and 1 < data["stats"]["projects"] <= projects


def test_event_types_partition_the_feed(live: httpx.Client) -> None:
    total = _get(live, limit=1)["totalCount"]
    counts = {}
    for kind in ("user", "assistant", "tool_use"):
        data = _get(live, eventType=kind, limit=200)
        counts[kind] = data["totalCount"]
        assert {e["event_type"] for e in data["events"]} == {kind}
        if kind != "assistant":
            assert {e["tokens_used"] for e in data["events"]} == {0} and data["stats"]["totalTokens"] == 0
        assert (data["stats"]["toolsUsed"] > 0) == (kind == "tool_use")
    assert sum(counts.values()) == total
    prompts = _get(live, eventType="user", limit=1000)["events"]
    assert all(e["model"] is None for e in prompts)


def test_pages_tile_the_feed(live: httpx.Client) -> None:
    everything = _get(live, limit=1000, eventType="assistant")
    pages, page = [], 0
    while page * 37 < min(everything["totalCount"], 1000):
        data = _get(live, limit=37, page=page, eventType="assistant")
        assert data["totalCount"] == everything["totalCount"] and data["stats"] == everything["stats"]
        pages += data["events"]
        page += 1
    assert pages[:1000] == everything["events"] and len(pages) >= min(everything["totalCount"], 1000)
    beyond = _get(live, limit=37, page=everything["totalCount"] // 37 + 3, eventType="assistant")
    assert beyond["events"] == [] and beyond["totalCount"] == everything["totalCount"]
    assert beyond["page"] == everything["totalCount"] // 37 + 3


def test_project_filter(live: httpx.Client) -> None:
    events = _all(live)
    path = max({e["project_path"] for e in events if e["project_path"]},
               key=lambda p: sum(e["project_path"] == p for e in events))
    mine = _get(live, project=path, limit=1000)
    assert mine["totalCount"] == sum(e["project_path"] == path for e in events) > 0
    assert {e["project_path"] for e in mine["events"]} == {path} and mine["stats"]["projects"] == 1
    assert _get(live, project=path + "/", limit=1)["totalCount"] == mine["totalCount"]
    nobody = _get(live, project="/no/such/project")
    assert nobody["events"] == [] and nobody["stats"] == {"totalEvents": 0, "projects": 0, "totalTokens": 0,
                                                          "toolsUsed": 0}


@pytest.mark.parametrize(("parameter", "value"), [
    ("eventType", "bogus"), ("eventType", ""), ("eventType", "USER"), ("timeRange", "1y"), ("timeRange", "24"),
    ("limit", "0"), ("limit", "1001"), ("limit", "abc"), ("limit", "-5"), ("page", "-1"), ("page", "x"),
    ("page", "1000001"), ("project", "p" * 4097),
])
def test_bad_parameters_get_400_naming_them(live: httpx.Client, parameter: str, value: str) -> None:
    response = live.get("/api/data/events", params={parameter: value})
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and body["parameter"] == parameter
    assert body["error"].startswith(f"Invalid {parameter}:")
    assert response.headers["x-ratelimit-limit"] == "10000"  # errors count and carry the headers too


def test_unknown_paths_and_methods(live: httpx.Client) -> None:
    missing = live.get("/api/data/nothing")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    wrong = live.post("/api/data/events")
    assert wrong.status_code == 405 and isinstance(wrong.json()["error"], str)


def test_test_keys_read_the_demo_not_the_archive(live: httpx.Client, demo: httpx.Client) -> None:
    mine, theirs = _get(live, limit=1000), _get(demo, limit=1000)
    assert {e["project_path"] for e in theirs["events"]} <= {"/home/demo/webshop", "/home/demo/data-pipeline",
                                                            "/home/demo/mobile-app"}
    assert not {e["project_path"] for e in mine["events"]} & {e["project_path"] for e in theirs["events"]}
    assert {e["user_id"] for e in theirs["events"]} == {"usr_demo"} and mine["totalCount"] != theirs["totalCount"]


def test_demo_time_ranges_count_back_from_the_demo_clock(demo: httpx.Client) -> None:
    counts = {}
    for window, days in (("24h", 1), ("7d", 7), ("30d", 30)):
        events = _all(demo, timeRange=window)
        counts[window] = len(events)
        oldest = format_utc_iso_ms(DEMO_NOW_MS - days * DAY_MS)
        assert events and all(oldest <= e["time"] <= "2026-06-15T12:00:00.000Z" for e in events)
    everything = _get(demo, limit=1)["totalCount"]
    assert 0 < counts["24h"] < counts["7d"] < counts["30d"] < everything


def test_demo_numbers_are_stable(demo: httpx.Client, tmp_path: Path) -> None:
    """The same request gets the same answer from a demo archive built elsewhere (here, in this process)."""
    served = _get(demo, timeRange="7d", limit=20, page=1)
    template = open_archive(tmp_path / "template.db")
    built = DemoArchive(tmp_path / "demo", template.connection)
    try:
        query = EventQuery(time_range="7d", limit=20, page=1)
        assert query_events(built.connection(), query, DEMO_NOW_MS, "usr_demo") == served
    finally:
        built.close()
        template.close()
    week = _get(demo, timeRange="7d", eventType="assistant", limit=1)
    assert week["stats"] == {"totalEvents": 415, "projects": 3, "totalTokens": 31018026, "toolsUsed": 0}
