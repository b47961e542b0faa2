"""/api/analytics/* through the real server over the real samples: figures, filters, pagination, errors."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.api_server import TIMEZONE, ApiServer, cli, data, error

ONE_DAY = {"dateFrom": "2025-06-08", "dateTo": "2025-06-08"}
ENDPOINTS = ("overview", "sessions", "daily-usage", "model-distribution", "tool-usage")
# One range in 2025 and one crossing the New York DST change of 2026-03-08, as dates and as instants.
RANGES = [("2025-06-01", "2025-12-31"), ("2026-03-01", "2026-06-30"), ("2025-01-01", "2026-12-31")]


def _money(x: float) -> Decimal:
    return Decimal(str(x))


def _sums_to(parts: list[float], total: float) -> bool:
    """Each figure is rounded to 6 decimals on its own, so a sum of n of them may be off by n/2 micro-dollars."""
    return abs(sum(_money(p) for p in parts) - _money(total)) <= Decimal("0.0000005") * len(parts) + Decimal("1e-9")


def _report_totals(server: ApiServer, since: str | None = None, until: str | None = None) -> dict:
    args = ["report", "daily", "--no-ingest"]
    if since:
        args += ["--since", since]
    if until:
        args += ["--until", until]
    return cli(server, *args)


@pytest.mark.parametrize(("since", "until"), [(None, None), *RANGES])
def test_overview_equals_cli_report_for_the_same_range(api_server: ApiServer, api_client: httpx.Client,
                                                       since: str | None, until: str | None) -> None:
    params = {k: v for k, v in (("dateFrom", since), ("dateTo", until)) if v}
    overview = data(api_client.get("/api/analytics/overview", params=params))
    report = _report_totals(api_server, since, until)
    totals = report["totals"]
    assert overview["totalTokens"] == totals["totalTokens"] > 0
    assert overview["inputTokens"] == totals["inputTokens"]
    assert overview["outputTokens"] == totals["outputTokens"]
    assert overview["cacheCreationTokens"] == totals["cacheCreationTokens"]
    assert overview["cacheReadTokens"] == totals["cacheReadTokens"]
    assert overview["totalRequests"] == totals["requests"]
    assert _money(overview["totalCost"]) == _money(totals["totalCost"])
    assert overview["unpricedModels"] == report["unpricedModels"]


def test_overview_shape_and_consistency(api_client: httpx.Client) -> None:
    overview = data(api_client.get("/api/analytics/overview"))
    assert overview["totalSessions"] > 10
    assert overview["avgSessionDuration"] > 0
    assert overview["totalTokens"] == (overview["inputTokens"] + overview["outputTokens"]
                                       + overview["cacheCreationTokens"] + overview["cacheReadTokens"])
    top = overview["topModels"]
    assert 1 <= len(top) <= 5 and [m["count"] for m in top] == sorted((m["count"] for m in top), reverse=True)
    assert set(top[0]) == {"model", "count", "percentage"}
    assert overview["dateRange"]["from"] < overview["dateRange"]["to"]
    sessions = data(api_client.get("/api/analytics/sessions"))
    assert sessions["pagination"]["total"] == overview["totalSessions"]


def test_date_range_echoes_bounds_in_the_configured_zone(api_client: httpx.Client) -> None:
    overview = data(api_client.get("/api/analytics/overview", params=ONE_DAY))
    # New York is UTC-4 in June: the local day runs 04:00Z to 03:59:59.999Z the next day
    assert overview["dateRange"] == {"from": "2025-06-08T04:00:00.000Z", "to": "2025-06-09T03:59:59.999Z"}


def test_instant_bounds_equal_the_same_local_dates(api_client: httpx.Client) -> None:
    by_date = data(api_client.get("/api/analytics/overview", params={"dateFrom": "2025-06-08", "dateTo": "2025-06-10"}))
    by_instant = data(api_client.get("/api/analytics/overview", params={
        "dateFrom": "2025-06-08T00:00:00-04:00", "dateTo": "2025-06-11T03:59:59.999Z"}))
    naive_local = data(api_client.get("/api/analytics/overview", params={
        "dateFrom": "2025-06-08T00:00:00", "dateTo": "2025-06-10T23:59:59.999"}))
    for key in ("totalTokens", "totalCost", "totalSessions", "totalRequests", "topModels"):
        assert by_date[key] == by_instant[key] == naive_local[key]
    # whole dates are answered from the day rollup, date-times from the requests: both must agree
    dates, instants = {"dateFrom": "2025-06-01", "dateTo": "2026-06-30"}, {
        "dateFrom": "2025-06-01T04:00:00Z", "dateTo": "2026-07-01T03:59:59.999Z"}
    for endpoint in ("daily-usage", "model-distribution"):
        assert data(api_client.get(f"/api/analytics/{endpoint}", params=dates)) == \
            data(api_client.get(f"/api/analytics/{endpoint}", params=instants))


def test_an_instant_range_can_split_a_day(api_client: httpx.Client) -> None:
    day = data(api_client.get("/api/analytics/overview", params=ONE_DAY))
    first, last = day["dateRange"]["from"], day["dateRange"]["to"]
    morning = data(api_client.get("/api/analytics/overview",
                                  params={"dateFrom": first, "dateTo": "2025-06-08T14:59:59.999Z"}))
    afternoon = data(api_client.get("/api/analytics/overview",
                                    params={"dateFrom": "2025-06-08T15:00:00Z", "dateTo": last}))
    assert morning["totalRequests"] + afternoon["totalRequests"] == day["totalRequests"] > 0
    assert morning["totalTokens"] + afternoon["totalTokens"] == day["totalTokens"]
    assert _sums_to([morning["totalCost"], afternoon["totalCost"]], day["totalCost"])


def test_empty_range_gives_zeros(api_client: httpx.Client) -> None:
    params = {"dateFrom": "1999-01-01", "dateTo": "1999-12-31"}
    overview = data(api_client.get("/api/analytics/overview", params=params))
    assert overview["totalSessions"] == overview["totalTokens"] == overview["totalRequests"] == 0
    assert overview["totalCost"] == 0 and overview["topModels"] == [] and overview["avgSessionDuration"] == 0
    assert overview["dateRange"] == {"from": "1999-01-01T05:00:00.000Z", "to": "2000-01-01T04:59:59.999Z"}
    for endpoint in ("daily-usage", "model-distribution", "tool-usage"):
        assert data(api_client.get(f"/api/analytics/{endpoint}", params=params)) == []
    sessions = data(api_client.get("/api/analytics/sessions", params=params))
    assert sessions == {"sessions": [], "pagination": {"total": 0, "limit": 20, "offset": 0, "hasMore": False}}


@pytest.mark.parametrize(("since", "until"), RANGES)
def test_daily_usage_equals_cli_daily_report(api_server: ApiServer, api_client: httpx.Client, since: str,
                                             until: str) -> None:
    days = data(api_client.get("/api/analytics/daily-usage", params={"dateFrom": since, "dateTo": until}))
    report = _report_totals(api_server, since, until)["daily"]
    assert [d["date"] for d in days] == [r["date"] for r in report] and days
    for day, row in zip(days, report, strict=True):
        assert (day["inputTokens"], day["outputTokens"], day["totalTokens"], day["requests"]) == (
            row["inputTokens"], row["outputTokens"], row["totalTokens"], row["requests"])
        assert _money(day["cost"]) == _money(row["totalCost"])
        assert day["sessions"] >= 0 and day["avgDuration"] >= 0
        assert since <= day["date"] <= until


def test_daily_sessions_are_the_sessions_started_that_local_day(api_client: httpx.Client) -> None:
    sessions = data(api_client.get("/api/analytics/sessions", params={"limit": 1000}))["sessions"]
    zone = ZoneInfo(TIMEZONE)
    started: dict[str, list[float]] = defaultdict(list)
    for s in sessions:
        local = datetime.fromisoformat(s["startTime"]).astimezone(zone).date().isoformat()
        started[local].append(s["duration"])
    days = data(api_client.get("/api/analytics/daily-usage"))
    assert sum(d["sessions"] for d in days) > 0
    for d in days:
        assert d["sessions"] == len(started.get(d["date"], []))
        if d["sessions"]:
            assert abs(d["avgDuration"] - sum(started[d["date"]]) / d["sessions"]) < 0.2


def test_daily_usage_sessions_and_order(api_client: httpx.Client) -> None:
    days = data(api_client.get("/api/analytics/daily-usage"))
    assert [d["date"] for d in days] == sorted(d["date"] for d in days)
    assert set(days[0]) >= {"date", "sessions", "inputTokens", "outputTokens", "cost", "avgDuration"}
    overview = data(api_client.get("/api/analytics/overview"))
    assert sum(d["totalTokens"] for d in days) == overview["totalTokens"]
    assert _sums_to([d["cost"] for d in days], overview["totalCost"])


@pytest.mark.parametrize(("since", "until"), [(None, None), *RANGES])
def test_model_distribution_adds_up_to_the_overview(api_client: httpx.Client, since: str | None,
                                                    until: str | None) -> None:
    params = {k: v for k, v in (("dateFrom", since), ("dateTo", until)) if v}
    models = data(api_client.get("/api/analytics/model-distribution", params=params))
    overview = data(api_client.get("/api/analytics/overview", params=params))
    assert models and [m["count"] for m in models] == sorted((m["count"] for m in models), reverse=True)
    assert sum(m["count"] for m in models) == overview["totalRequests"]
    assert sum(m["totalTokens"] for m in models) == overview["totalTokens"]
    assert _sums_to([m["totalCost"] for m in models], overview["totalCost"])
    assert abs(sum(m["percentage"] for m in models) - 100) < 0.5
    assert [{"model": m["model"], "count": m["count"], "percentage": m["percentage"]} for m in models[:5]] == \
        overview["topModels"]
    for m in models:
        assert m["priced"] == (m["model"] not in overview["unpricedModels"])
        if not m["priced"]:
            assert m["totalCost"] == 0


def test_unpriced_models_are_flagged(api_client: httpx.Client) -> None:
    models = {m["model"]: m for m in data(api_client.get("/api/analytics/model-distribution"))}
    assert models["claude-3-sonnet-20240229"]["priced"] is False  # retired model: no price in the table


def test_tool_usage(api_client: httpx.Client) -> None:
    tools = data(api_client.get("/api/analytics/tool-usage"))
    names = {t["tool"] for t in tools}
    assert {"Bash", "Read", "Edit"} <= names
    assert [t["count"] for t in tools] == sorted((t["count"] for t in tools), reverse=True)
    assert abs(sum(t["percentage"] for t in tools) - 100) < 0.5
    narrow = data(api_client.get("/api/analytics/tool-usage", params=ONE_DAY))
    assert narrow and sum(t["count"] for t in narrow) < sum(t["count"] for t in tools)
    assert all(t["count"] <= next(a["count"] for a in tools if a["tool"] == t["tool"]) for t in narrow)


def _all_session_pages(api_client: httpx.Client, limit: int, **params: str) -> list[dict]:
    rows, offset = [], 0
    while True:
        page = data(api_client.get("/api/analytics/sessions", params={**params, "limit": limit, "offset": offset}))
        rows += page["sessions"]
        assert page["pagination"]["limit"] == limit and page["pagination"]["offset"] == offset
        if not page["pagination"]["hasMore"]:
            assert offset + len(page["sessions"]) == page["pagination"]["total"]
            return rows
        assert len(page["sessions"]) == limit
        offset += limit


def test_sessions_pages_cover_every_session_once_newest_first(api_client: httpx.Client) -> None:
    everything = data(api_client.get("/api/analytics/sessions", params={"limit": 1000}))
    assert not everything["pagination"]["hasMore"]
    all_rows = everything["sessions"]
    assert len(all_rows) == everything["pagination"]["total"]
    for limit in (1, 7, 20):
        assert [r["id"] for r in _all_session_pages(api_client, limit)] == [r["id"] for r in all_rows]
    starts = [r["startTime"] for r in all_rows]
    assert starts == sorted(starts, reverse=True)


def test_sessions_pagination_edges(api_client: httpx.Client) -> None:
    total = data(api_client.get("/api/analytics/sessions"))["pagination"]["total"]
    default = data(api_client.get("/api/analytics/sessions"))
    assert default["pagination"] == {"total": total, "limit": 20, "offset": 0, "hasMore": total > 20}
    assert len(default["sessions"]) == min(20, total)
    zero = data(api_client.get("/api/analytics/sessions", params={"limit": 0}))
    assert zero["sessions"] == [] and zero["pagination"]["hasMore"] is True
    last = data(api_client.get("/api/analytics/sessions", params={"limit": 5, "offset": total - 1}))
    assert len(last["sessions"]) == 1 and last["pagination"]["hasMore"] is False
    exact = data(api_client.get("/api/analytics/sessions", params={"limit": 5, "offset": total - 5}))
    assert len(exact["sessions"]) == 5 and exact["pagination"]["hasMore"] is False
    beyond = data(api_client.get("/api/analytics/sessions", params={"offset": total}))
    assert beyond["sessions"] == [] and beyond["pagination"]["hasMore"] is False
    far = data(api_client.get("/api/analytics/sessions", params={"offset": 10**12}))
    assert far["sessions"] == [] and far["pagination"]["total"] == total


@pytest.mark.parametrize(("since", "until"), RANGES)
def test_session_costs_in_a_range_add_up_to_the_overview(api_client: httpx.Client, since: str, until: str) -> None:
    params = {"dateFrom": since, "dateTo": until}
    rows = _all_session_pages(api_client, 1000, **params)
    overview = data(api_client.get("/api/analytics/overview", params=params))
    assert len(rows) == overview["totalSessions"] > 0
    assert sum(r["totalTokens"] for r in rows) == overview["totalTokens"]
    assert _sums_to([r["cost"] for r in rows], overview["totalCost"])
    for r in rows:  # every listed session was active in the range
        assert r["endTime"] >= overview["dateRange"]["from"] and r["startTime"] <= overview["dateRange"]["to"]


def test_session_row_fields(api_client: httpx.Client) -> None:
    rows = data(api_client.get("/api/analytics/sessions", params={"limit": 1000}))["sessions"]
    contract = {"id", "projectPath", "startTime", "endTime", "duration", "inputTokens", "outputTokens",
                "cacheCreationTokens", "cacheReadTokens", "cost", "model"}
    assert all(contract <= set(r) for r in rows)
    used = [r for r in rows if r["requests"]]
    assert used and all(r["model"] in r["models"] for r in used)
    assert any(r["projectPath"] and r["projectPath"].startswith("/") for r in rows)
    assert all(r["duration"] >= 0 for r in rows)


def test_session_detail(api_client: httpx.Client) -> None:
    rows = data(api_client.get("/api/analytics/sessions", params={"limit": 1000}))["sessions"]
    row = max(rows, key=lambda r: r["requests"])
    detail = data(api_client.get(f"/api/analytics/sessions/{row['id']}"))
    assert detail["session"] == row  # no range: the list shows whole-session figures too
    messages = detail["messages"]
    assert messages and all(m["sessionId"] == row["id"] for m in messages)
    stamps = [m["timestamp"] for m in messages if m["timestamp"]]
    assert stamps == sorted(stamps)
    assert {m["role"] for m in messages} >= {"user", "assistant"}
    assert all({"id", "sessionId", "timestamp", "role", "content", "inputTokens", "outputTokens"} <= set(m)
               for m in messages)
    # each API response's usage sits on one of its lines, so the messages add up to at most the session
    assert 0 < sum(m["outputTokens"] for m in messages) <= row["outputTokens"]
    assert sum(m["inputTokens"] for m in messages) <= row["inputTokens"]
    assert any(m["content"] for m in messages if m["role"] == "user")


def test_session_detail_of_a_session_with_odd_id(api_client: httpx.Client) -> None:
    rows = data(api_client.get("/api/analytics/sessions", params={"limit": 1000}))["sessions"]
    odd = next(r for r in rows if "#" in r["id"])  # fixture ids like "<uuid>#agent-x" must round-trip
    detail = data(api_client.get(f"/api/analytics/sessions/{quote(odd['id'], safe='')}"))
    assert detail["session"]["id"] == odd["id"]


@pytest.mark.parametrize("session_id", ["does-not-exist", "00000000-0000-0000-0000-000000000000", "%20", "x" * 200])
def test_unknown_session_is_404(api_client: httpx.Client, session_id: str) -> None:
    error(api_client.get(f"/api/analytics/sessions/{session_id}"), 404, "NOT_FOUND")


def test_overlong_session_id_is_a_validation_error(api_client: httpx.Client) -> None:
    error(api_client.get(f"/api/analytics/sessions/{'x' * 201}"), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("params", [
    {"dateFrom": "yesterday"}, {"dateTo": "2025-13-01"}, {"dateFrom": "2025-02-30"}, {"dateFrom": "20250608"},
    {"dateFrom": "2025-06-08T25:00:00Z"}, {"dateTo": "2025-06-08T10:00:00+25:00"}, {"dateFrom": "0000-01-01"},
    {"dateFrom": "2025-06-09", "dateTo": "2025-06-08"},
    {"dateFrom": "2025-06-08T12:00:00Z", "dateTo": "2025-06-08T11:00:00Z"},
    {"dateFrom": "x" * 65},
])
def test_bad_dates_are_validation_errors(api_client: httpx.Client, endpoint: str, params: dict) -> None:
    err = error(api_client.get(f"/api/analytics/{endpoint}", params=params), 400, "VALIDATION_ERROR")
    assert "date" in err["message"].lower()


@pytest.mark.parametrize("params", [
    {"limit": -1}, {"offset": -1}, {"limit": -100, "offset": -5}, {"limit": 1001}, {"limit": "ten"},
    {"offset": "1.5"}, {"limit": ""},
])
def test_bad_pagination_is_a_validation_error(api_client: httpx.Client, params: dict) -> None:
    err = error(api_client.get("/api/analytics/sessions", params=params), 400, "VALIDATION_ERROR")
    assert err["details"]["errors"][0]["location"][0] == "query"


def test_unknown_query_parameters_and_empty_dates_are_ignored(api_client: httpx.Client) -> None:
    everything = data(api_client.get("/api/analytics/overview"))
    assert data(api_client.get("/api/analytics/overview", params={"colour": "blue"})) == everything
    assert data(api_client.get("/api/analytics/overview", params={"dateFrom": "", "dateTo": ""})) == everything


def test_unknown_api_path_and_method(api_client: httpx.Client) -> None:
    error(api_client.get("/api/analytics/nothing-here"), 404, "NOT_FOUND")
    error(api_client.post("/api/analytics/overview"), 405, "METHOD_NOT_ALLOWED")
