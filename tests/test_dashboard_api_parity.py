"""The same figures on a dashboard page and from the REST API for the same filter (range and project): the pages
call the store directly, the API goes through its routes, and both must show the same money and counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from nicegui.testing import User

from tests.dashboard_tools import SampleHome, api_key, one, settled, text, use_home
from ui import fmt

FILTERS = [{"from": "2025-06-01", "to": "2026-06-30"},
           {"from": "2025-07-01", "to": "2025-11-30", "project": "/Users/dain/workspace/claude-code-log"},
           {"from": "2025-06-01", "to": "2026-06-30", "project": "/path/to/Demo"}]


@pytest.fixture(scope="module", autouse=True)
def home(sample_home: SampleHome) -> Iterator[SampleHome]:
    yield from use_home(sample_home)


async def api(user: User, path: str, params: dict[str, str]) -> Any:
    response = await user.http_client.get(path, params=params, headers={"Authorization": f"Bearer {api_key()}"})
    assert response.status_code == 200, response.text
    body = response.json()
    return body["data"] if isinstance(body, dict) and "success" in body else body


async def page(user: User, path: str, params: dict[str, str]) -> None:
    await user.open(f"{path}?{urlencode(params)}")
    await settled(user)


@pytest.mark.parametrize("params", FILTERS, ids=["all-projects", "project-window", "one-model-project"])
async def test_overview_range_total_matches_the_api(user: User, params: dict[str, str]) -> None:
    await page(user, "/", params)
    stats = (await api(user, "/api/stats", params))["period"]
    expected = f"{fmt.money(stats['cost_usd'], bool(stats['unpriced_models']))} · {fmt.tokens(stats['total_tokens'])}"
    assert text(user, "range-total").startswith(expected + " tokens")
    if "project" not in params:  # the analytics surface has no project filter
        overview = await api(user, "/api/analytics/overview", {"dateFrom": params["from"], "dateTo": params["to"]})
        assert fmt.money(overview["totalCost"]) == fmt.money(stats["cost_usd"])


@pytest.mark.parametrize("params", FILTERS, ids=["all-projects", "project-window", "one-model-project"])
async def test_models_and_projects_match_the_api(user: User, params: dict[str, str]) -> None:
    await page(user, "/models", params)
    rows = {r["model"]: r for r in one(user, "models-table").rows}
    models = (await api(user, "/api/stats/models", params))["models"]
    assert set(rows) == {m["model"] for m in models}
    for m in models:
        assert rows[m["model"]]["requests"] == m["requests"]
        assert rows[m["model"]]["cost"] == (fmt.money(m["cost_usd"]) if m["priced"] else "unpriced")
    if "project" not in params:
        await page(user, "/projects", params)
        table = {r["path"]: r for r in one(user, "projects-table").rows}
        for p in (await api(user, "/api/stats/projects", params))["projects"]:
            if p["sessions"] or p["requests"]:
                assert table[p["project"] or ""]["cost_text"] == fmt.money(p["cost_usd"], bool(p["unpriced_models"]))
                assert table[p["project"] or ""]["sessions"] == p["sessions"]


@pytest.mark.parametrize("params", FILTERS[:2], ids=["all-projects", "project-window"])
async def test_sessions_tools_errors_and_efficiency_match_the_api(user: User, params: dict[str, str]) -> None:
    await page(user, "/sessions", params)
    sessions = await api(user, "/api/sessions", params)
    assert text(user, "session-count") == f"{fmt.integer(sessions['total'])} sessions"
    assert [r["id"] for r in one(user, "sessions-table").rows] == [s["id"] for s in sessions["sessions"][:25]]

    await page(user, "/tools", params)
    tools = await api(user, "/api/stats/tools", params)
    assert fmt.integer(tools["total_calls"]) in text(user, "kpi-tool-calls")
    assert {r["tool"]: r["calls"] for r in one(user, "tools-table").rows} == {
        t["tool_name"]: t["calls"] for t in tools["tools"]}

    await page(user, "/errors", params)
    errors = await api(user, "/api/stats/errors", params)
    assert fmt.integer(errors["total_errors"]) in text(user, "kpi-errors")

    await page(user, "/efficiency", params)
    efficiency = await api(user, "/api/stats/token-efficiency", params)
    assert fmt.percent(efficiency["cache_hit_rate"]) in text(user, "kpi-cache-rate")
    assert fmt.money(efficiency["net_savings_usd"]) in text(user, "kpi-net-savings")


async def test_session_page_matches_the_api(user: User) -> None:
    sid = "741790a4-4fe2-4644-9a51-fb4482074060"
    await page(user, f"/sessions/{sid}", {})
    detail = await api(user, f"/api/sessions/{sid}", {})
    usage = detail["session"]["usage"]
    assert fmt.money(usage["cost_usd"], bool(usage["unpriced_models"])) in text(user, "session-cost")
