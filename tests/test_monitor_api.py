"""The session monitor API (Surface 2) through the real server over the real samples: every route, filters,
pagination edges, unknown ids, bad dates and negative limits, and figures that agree with the other surfaces."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import quote

import httpx
import pytest

from tests.api_server import ApiServer, cli, sample_server, stop_server

SPOTTER = "8463c716-a2ea-4c14-9efa-87158ebd9f20"  # spotter sample: subagents, a compaction, 141 tool calls
HASHED = "11110000-0000-4000-8000-000000000001#agent-ag000003"  # a session id that must be URL-encoded

ROUTES: dict[str, set[str]] = {
    "/api/sessions": {"sessions", "total", "limit", "offset", "has_more"},
    f"/api/sessions/{SPOTTER}": {"session", "messages", "tool_calls", "subagents", "compactions", "messages_total"},
    f"/api/sessions/{SPOTTER}/timeline": {"events", "counts", "duration_ms", "total_tokens", "total"},
    "/api/messages": {"messages", "total", "has_more"},
    "/api/tool-calls": {"tool_calls", "total", "has_more"},
    "/api/subagents": {"subagents", "total", "has_more"},
    "/api/stats": {"period_label", "period", "total", "active_sessions", "timezone"},
    "/api/stats/daily": {"days", "timezone", "unpriced_models"},
    "/api/stats/tools": {"tools", "total_calls"},
    "/api/stats/models": {"models", "total", "unpriced_models"},
    "/api/stats/projects": {"projects", "total"},
    "/api/stats/skills": {"skills", "total_calls"},
    "/api/stats/mcp": {"servers", "total_calls"},
    "/api/stats/errors": {"total_errors", "error_rate", "by_tool", "patterns", "trend"},
    "/api/stats/token-efficiency": {"cache_hit_rate", "avg_tokens_per_message", "avg_tokens_per_tool_call",
                                    "read_savings_usd", "net_savings_usd", "by_model"},
    "/api/stats/prompt-patterns": {"categories", "daily", "total_prompts"},
    "/api/stats/file-heatmap?project=claude-code-log": {"files", "directories", "project_paths"},
    f"/api/stats/session-breakdown?session_id={SPOTTER}": {"models", "token_classes", "agents", "tools", "files"},
    "/api/stats/project-breakdown?project=claude-code-log": {"models", "token_classes", "top_sessions", "branches"},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    running = sample_server(tmp_path_factory.mktemp("monitor-api"))
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def http(server: ApiServer) -> httpx.Client:
    return server.client()


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def bad(response: httpx.Response, status: int, parameter: str) -> str:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert detail["parameter"] == parameter and detail["error"], detail
    return detail["error"]


def _d(x: float) -> Decimal:
    return Decimal(str(x))


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_answers_with_its_fields(http: httpx.Client, route: str) -> None:
    assert ROUTES[route] <= ok(http.get(route)).keys()


@pytest.mark.parametrize("route", ["/api/sessions", f"/api/sessions/{SPOTTER}", "/api/stats",
                                   "/api/stats/file-heatmap?project=x"])
def test_routes_need_the_key(server: ApiServer, route: str) -> None:
    response = server.client(authenticated=False).get(route)
    assert response.status_code == 401


def test_openapi_documents_every_route(http: httpx.Client) -> None:
    paths = http.get("/api/openapi.json").json()["paths"]
    for route in ROUTES:
        path = route.split("?")[0].replace(SPOTTER, "{session_id}")
        assert path in paths and "400" in paths[path]["get"]["responses"], path


def test_session_pages_are_disjoint_complete_and_newest_first(http: httpx.Client) -> None:
    everything = ok(http.get("/api/sessions", params={"limit": 500}))
    assert not everything["has_more"] and everything["total"] == len(everything["sessions"]) > 50
    ids = [s["id"] for s in everything["sessions"]]
    paged: list[str] = []
    for offset in range(0, everything["total"], 13):
        page = ok(http.get("/api/sessions", params={"limit": 13, "offset": offset}))
        assert page["has_more"] == (offset + 13 < everything["total"])
        paged += [s["id"] for s in page["sessions"]]
    assert paged == ids
    ends = [s["ended_at"] for s in everything["sessions"] if s["ended_at"]]
    assert ends == sorted(ends, reverse=True)
    assert len(ok(http.get("/api/sessions"))["sessions"]) == 50  # the default limit


def test_pagination_edges(http: httpx.Client) -> None:
    total = ok(http.get("/api/sessions"))["total"]
    empty = ok(http.get("/api/sessions", params={"limit": 0}))
    assert (empty["sessions"], empty["total"], empty["has_more"]) == ([], total, True)
    beyond = ok(http.get("/api/sessions", params={"offset": total}))
    assert (beyond["sessions"], beyond["has_more"]) == ([], False)
    last = ok(http.get("/api/sessions", params={"offset": total - 1}))
    assert len(last["sessions"]) == 1 and not last["has_more"]
    for route in ("/api/messages", "/api/tool-calls", "/api/subagents"):
        key = route.rsplit("/", 1)[-1].replace("-", "_")
        first = ok(http.get(route, params={"limit": 500}))
        assert len(first[key]) == min(500, first["total"])
        tail = ok(http.get(route, params={"limit": 500, "offset": first["total"] - 2}))
        assert len(tail[key]) == 2 and not tail["has_more"]


@pytest.mark.parametrize(("route", "params", "parameter"), [
    ("/api/sessions", {"from": "yesterday"}, "from"),
    ("/api/sessions", {"to": "2026-02-30"}, "to"),
    ("/api/sessions", {"from": "2026-05-02", "to": "2026-05-01"}, "from"),
    ("/api/sessions", {"limit": -1}, "limit"),
    ("/api/sessions", {"limit": 501}, "limit"),
    ("/api/sessions", {"limit": "ten"}, "limit"),
    ("/api/sessions", {"offset": -1}, "offset"),
    ("/api/messages", {"limit": -5, "session_id": SPOTTER}, "limit"),
    ("/api/tool-calls", {"offset": -1}, "offset"),
    ("/api/subagents", {"from": "2026-05-01T25:00:00Z"}, "from"),
    ("/api/stats", {"from": "2026-05-01", "to": "2026-04-01"}, "from"),
    ("/api/stats", {"to": "not a date"}, "to"),
    ("/api/stats/daily", {"days": 0}, "days"),
    ("/api/stats/daily", {"days": -3}, "days"),
    ("/api/stats/errors", {"from": "1900-01-01"}, "from"),
    ("/api/stats/token-efficiency", {"to": "2026-5-1"}, "to"),
    ("/api/stats/prompt-patterns", {"from": "2026-01-01T00:00:00+25:00"}, "from"),
    ("/api/stats/file-heatmap", {}, "project"),
    ("/api/stats/file-heatmap", {"project": " "}, "project"),
    ("/api/stats/session-breakdown", {}, "session_id"),
    ("/api/stats/project-breakdown", {}, "project"),
    (f"/api/sessions/{SPOTTER}/timeline", {"limit": 5001}, "limit"),
    (f"/api/sessions/{SPOTTER}/timeline", {"offset": -1}, "offset"),
])
def test_bad_parameters_are_400_naming_the_parameter(http: httpx.Client, route: str, params: dict,
                                                     parameter: str) -> None:
    bad(http.get(route, params=params), 400, parameter)


@pytest.mark.parametrize(("route", "parameter"), [
    ("/api/sessions/nope", "session_id"),
    ("/api/sessions/nope/timeline", "session_id"),
    ("/api/messages?session_id=nope", "session_id"),
    ("/api/tool-calls?session_id=nope", "session_id"),
    ("/api/subagents?session_id=nope", "session_id"),
    ("/api/stats/session-breakdown?session_id=nope", "session_id"),
    ("/api/stats/project-breakdown?project=nope", "project"),
    ("/api/stats/file-heatmap?project=nope", "project"),
])
def test_unknown_ids_are_404(http: httpx.Client, route: str, parameter: str) -> None:
    bad(http.get(route), 404, parameter)


def test_session_ids_are_path_segments(http: httpx.Client) -> None:
    assert ok(http.get(f"/api/sessions/{quote(HASHED, safe='')}"))["session"]["id"] == HASHED
    assert ok(http.get(f"/api/sessions/{quote(HASHED, safe='')}/timeline"))["session_id"] == HASHED


def test_session_filters(http: httpx.Client) -> None:
    def ids(**params: str) -> set[str]:
        return {s["id"] for s in ok(http.get("/api/sessions", params={"limit": 500, **params}))["sessions"]}

    everything = ids()
    project = ids(project="claude-code-log")
    assert project and project < everything
    assert ids(project="/Users/dain/workspace/claude-code-log") == project
    june = ok(http.get("/api/sessions", params={"from": "2025-06-01", "to": "2025-06-30", "limit": 500}))
    for row in june["sessions"]:  # active in June, New York time
        assert row["ended_at"] >= "2025-06-01T04:00:00.000Z" and row["started_at"] < "2025-07-01T04:00:00.000Z"
    assert 0 < june["total"] < len(everything)
    by_instant = ids(**{"from": "2025-06-01T00:00:00-04:00", "to": "2025-07-01T03:59:59.999Z"})
    assert by_instant == {s["id"] for s in june["sessions"]}
    opus = ok(http.get("/api/sessions", params={"model": "claude-opus-4-6", "limit": 500}))["sessions"]
    assert opus and all("claude-opus-4-6" in s["models"] or "claude-opus-4-6-fast" in s["models"] for s in opus)
    assert SPOTTER in ids(search="spotter-fum")
    assert ids(search="no such text anywhere 1f9a") == set()


def test_session_detail_matches_the_lists(http: httpx.Client) -> None:
    detail = ok(http.get(f"/api/sessions/{SPOTTER}"))
    session = detail["session"]
    assert session["project_name"] == "spotter-fum" and session["compaction_count"] == 1
    tools = ok(http.get("/api/tool-calls", params={"session_id": SPOTTER, "limit": 500}))
    assert detail["tool_calls_total"] == tools["total"] == session["tool_call_count"] == 141
    assert [t["id"] for t in detail["tool_calls"]] == [t["id"] for t in tools["tool_calls"]]
    lines = ok(http.get("/api/messages", params={"session_id": SPOTTER, "limit": 500}))
    assert detail["messages_total"] == lines["total"] == session["message_count"]
    per_line = sum(Decimal(str(m["usage"]["cost_usd"])) for m in lines["messages"] if m["usage"])
    assert abs(per_line - _d(session["usage"]["cost_usd"])) < Decimal("0.0001")
    kinds = {a["kind"] for a in ok(http.get("/api/subagents", params={"session_id": SPOTTER}))["subagents"]}
    assert kinds == {"subagent", "compaction"}
    timeline = ok(http.get(f"/api/sessions/{SPOTTER}/timeline", params={"limit": 5000}))
    assert timeline["counts"]["tool_call"] == 141 and timeline["counts"]["compaction"] == 1
    assert timeline["total_tokens"] == session["usage"]["total_tokens"]
    assert timeline["duration_ms"] == session["duration_ms"] > 0
    stamps = [e["timestamp"] for e in timeline["events"] if e["timestamp"]]
    assert stamps == sorted(stamps)
    breakdown = ok(http.get("/api/stats/session-breakdown", params={"session_id": SPOTTER}))
    assert breakdown["usage"] == session["usage"]


def test_list_filters(http: httpx.Client) -> None:
    users = ok(http.get("/api/messages", params={"type": "user", "limit": 500}))["messages"]
    assert users and {m["type"] for m in users} == {"user"}
    bash = ok(http.get("/api/tool-calls", params={"tool_name": "Bash", "limit": 500}))
    assert bash["total"] > 100 and {t["tool_name"] for t in bash["tool_calls"]} == {"Bash"}
    errors = ok(http.get("/api/tool-calls", params={"status": "error", "limit": 500}))
    assert errors["total"] == ok(http.get("/api/stats/errors"))["total_errors"]
    warmups = ok(http.get("/api/subagents", params={"kind": "warmup", "limit": 500}))["subagents"]
    assert warmups and {a["kind"] for a in warmups} == {"warmup"}
    in_project = ok(http.get("/api/tool-calls", params={"project": "claude-code-log", "limit": 1}))["total"]
    assert 0 < in_project < ok(http.get("/api/tool-calls", params={"limit": 1}))["total"]


@pytest.mark.parametrize(("since", "until"), [("2025-06-01", "2025-12-31"), ("2026-03-01", "2026-06-30"),
                                              ("2025-01-01", "2026-12-31")])
def test_stats_agree_with_the_report_and_the_dashboard_api(server: ApiServer, http: httpx.Client, since: str,
                                                           until: str) -> None:
    period = ok(http.get("/api/stats", params={"from": since, "to": until}))["period"]
    report = cli(server, "report", "daily", "--no-ingest", "--since", since, "--until", until)["totals"]
    assert period["total_tokens"] == report["totalTokens"] > 0
    assert period["cache_read_tokens"] == report["cacheReadTokens"]
    assert period["requests"] == report["requests"]
    assert _d(period["cost_usd"]) == _d(report["totalCost"])
    overview = http.get("/api/analytics/overview", params={"dateFrom": since, "dateTo": until}).json()["data"]
    assert (overview["totalTokens"], _d(overview["totalCost"])) == (period["total_tokens"], _d(period["cost_usd"]))


def test_stats_today_daily_and_totals(http: httpx.Client) -> None:
    summary = ok(http.get("/api/stats"))
    assert summary["period_label"] == "today" and summary["timezone"] == "America/New_York"
    assert summary["total"]["sessions"] == ok(http.get("/api/sessions"))["total"]
    daily = ok(http.get("/api/stats/daily", params={"days": 7}))["days"]
    # New York is behind UTC, so its local midnight falls on the same UTC date: the last row is today
    assert len(daily) == 7 and daily[-1]["date"] == summary["period"]["from"][:10]
    long = ok(http.get("/api/stats/daily", params={"days": 3660}))["days"]
    assert sum(d["requests"] for d in long) == summary["total"]["requests"]
    project = ok(http.get("/api/stats", params={"project": "claude-code-log"}))["total"]
    assert 0 < project["requests"] < summary["total"]["requests"]


def test_dimension_stats_add_up(http: httpx.Client) -> None:
    total = ok(http.get("/api/stats"))["total"]
    models = ok(http.get("/api/stats/models"))
    assert sum(m["requests"] for m in models["models"]) == total["requests"]
    assert "claude-3-sonnet-20240229" in models["unpriced_models"]
    projects = ok(http.get("/api/stats/projects"))["projects"]
    assert sum(p["requests"] for p in projects) == total["requests"]
    tools = ok(http.get("/api/stats/tools"))
    assert tools["total_calls"] == total["tool_calls"]
    assert ok(http.get("/api/stats/skills"))["total_calls"] >= 1
    efficiency = ok(http.get("/api/stats/token-efficiency"))
    assert efficiency["requests"] == total["requests"] and 0 < efficiency["cache_hit_rate"] < 1


def test_errors_patterns_and_prompts(http: httpx.Client) -> None:
    errors = ok(http.get("/api/stats/errors", params={"project": "claude-code-log"}))
    assert 0 < errors["total_errors"] < ok(http.get("/api/stats/errors"))["total_errors"]
    assert len(errors["trend"]) == 30
    ranged = ok(http.get("/api/stats/errors", params={"from": "2025-06-01", "to": "2025-07-31"}))
    assert ranged["trend"][-1]["date"] == "2025-07-31"
    prompts = ok(http.get("/api/stats/prompt-patterns", params={"from": "2025-01-01", "to": "2026-12-31"}))
    assert prompts["total_prompts"] > 50
    assert sum(c["count"] for c in prompts["categories"]) == prompts["total_prompts"]
    assert sum(d["total"] for d in prompts["daily"]) == prompts["total_prompts"]


def test_file_heatmap_and_project_breakdown(http: httpx.Client) -> None:
    heat = ok(http.get("/api/stats/file-heatmap", params={"project": "claude-code-log"}))
    assert heat["files"] and len(heat["files"]) <= 50 and len(heat["directories"]) <= 20
    totals = [f["total"] for f in heat["files"]]
    assert totals == sorted(totals, reverse=True)
    breakdown = ok(http.get("/api/stats/project-breakdown", params={"project": "claude-code-log"}))
    projects = {p["project"]: p for p in ok(http.get("/api/stats/projects"))["projects"]}
    assert breakdown["usage"]["cost_usd"] == projects["/Users/dain/workspace/claude-code-log"]["cost_usd"]
    assert breakdown["sessions"] == projects["/Users/dain/workspace/claude-code-log"]["sessions"]
