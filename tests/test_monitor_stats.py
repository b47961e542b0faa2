"""/api/stats figures: local days by request time, today vs all time, agreement with ``devhelion report``, and
the per tool / model / project / skill / MCP server breakdowns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from peewee import Database

from store.monitor import dimensions, stats
from store.monitor.params import Scope, make_scope
from store.pricing import PriceTable
from store.reports.usage import Filters, grand_total, usage_by_period
from store.timezones import resolve_timezone
from tests.monitor_tree import Transcript, ingest, ms, sample_archive

NY = resolve_timezone("America/New_York")
PRICES = PriceTable.bundled()
NOW = ms("2026-03-09T04:40:00+00:00")  # 00:40 EDT on 9 March


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from sample_archive(tmp_path_factory)


def _d(x: float) -> Decimal:
    return Decimal(str(x))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    root = tmp_path_factory.mktemp("monitor-stats") / "claude"
    one = Transcript("s1", "/p/one", "2026-03-08T04:30:00Z")
    one.prompt("commit this", at="2026-03-08T04:30:00Z")  # 23:30 EST, 7 March
    skill, issue = one.reply(inp=1000, out=100, at="2026-03-08T04:40:00Z", tools=[
        ("Skill", {"skill": "commit"}), ("mcp__github__create_issue", {"title": "x"})])
    one.result(skill, "committed")
    one.result(issue, "403 forbidden", error=True)
    listed, read = one.reply(inp=2000, out=0, at="2026-03-08T05:10:00Z", tools=[  # 00:10 EST, 8 March
        ("mcp__github__list_issues", {}), ("Read", {"file_path": "/p/one/a.py"})])
    one.result(listed, "[]")
    one.result(read, "print(1)")
    one.write(root, "one/s1.jsonl")
    two = Transcript("s2", "/p/two", "2026-03-09T03:30:00Z")
    two.prompt("hi", at="2026-03-09T03:30:00Z")  # 23:30 EDT, 8 March (the day after the DST change)
    two.reply(model="claude-sonnet-4-5-20250929", inp=1000, out=1000, at="2026-03-09T03:31:00Z")
    two.reply(model="claude-nova-9", inp=10, out=10, at="2026-03-09T04:30:00Z")  # 00:30 EDT, 9 March; unpriced
    two.write(root, "two/s2.jsonl")
    database = ingest(root, root.parent / "a.db")
    yield database
    database.close()


def test_daily_buckets_by_local_day_of_each_request(db: Database) -> None:
    result = stats.daily(db, PRICES, Scope(NY), 4, now=NOW)
    days = {d["date"]: d for d in result["days"]}
    assert list(days) == ["2026-03-06", "2026-03-07", "2026-03-08", "2026-03-09"]  # zero-filled, oldest first
    assert days["2026-03-06"]["requests"] == 0 and days["2026-03-06"]["cost_usd"] == 0
    # opus-4-6: 1000*5 + 100*25 = 7,500 µ$
    assert (days["2026-03-07"]["requests"], _d(days["2026-03-07"]["cost_usd"])) == (1, Decimal("0.0075"))
    assert (days["2026-03-07"]["sessions"], days["2026-03-07"]["messages"]) == (1, 4)
    assert (days["2026-03-07"]["tool_calls"], days["2026-03-07"]["tool_errors"]) == (2, 1)
    # s1's second response (2000*5 = 10,000 µ$) and s2's sonnet-4-5 one (1000*3 + 1000*15 = 18,000 µ$)
    assert (days["2026-03-08"]["requests"], _d(days["2026-03-08"]["cost_usd"])) == (2, Decimal("0.028"))
    assert days["2026-03-08"]["sessions"] == 2 and days["2026-03-08"]["tool_calls"] == 2
    assert days["2026-03-09"]["unpriced_models"] == ["claude-nova-9"] and days["2026-03-09"]["cost_usd"] == 0
    assert result["unpriced_models"] == ["claude-nova-9"] and result["timezone"] == "America/New_York"
    utc = {d["date"]: d["requests"] for d in stats.daily(db, PRICES, Scope(resolve_timezone("UTC")), 2,
                                                          now=NOW)["days"]}
    assert utc == {"2026-03-08": 2, "2026-03-09": 2}
    only_one = stats.daily(db, PRICES, make_scope(NY, project="one"), 4, now=NOW)
    assert sum(d["requests"] for d in only_one["days"]) == 2
    ending = stats.daily(db, PRICES, make_scope(NY, date_to="2026-03-08"), 3, now=NOW)["days"]
    assert [d["date"] for d in ending] == ["2026-03-06", "2026-03-07", "2026-03-08"]  # ends at `to`
    trimmed = stats.daily(db, PRICES, make_scope(NY, date_from="2026-03-08"), 30, now=NOW)["days"]
    assert [d["date"] for d in trimmed] == ["2026-03-08", "2026-03-09"]  # `from` trims the start
    assert stats.daily(db, PRICES, make_scope(NY, date_from="2026-04-01"), 30, now=NOW)["days"] == []


def test_summary_today_all_time_and_active_sessions(db: Database) -> None:
    result = stats.summary(db, PRICES, Scope(NY), now=NOW)
    assert result["period_label"] == "today"
    assert (result["period"]["from"], result["period"]["to"]) == (
        "2026-03-09T04:00:00.000Z", "2026-03-10T04:00:00.000Z")
    assert result["period"]["requests"] == 1 and result["period"]["unpriced_models"] == ["claude-nova-9"]
    assert result["period"]["sessions"] == 1
    total = result["total"]
    assert (total["requests"], total["sessions"], total["tool_calls"], total["tool_errors"]) == (4, 2, 4, 1)
    assert _d(total["cost_usd"]) == Decimal("0.0355") and total["unpriced_models"] == ["claude-nova-9"]
    assert result["active_sessions"] == 1  # s2's last line is 10 minutes old
    assert stats.summary(db, PRICES, Scope(NY), now=NOW + 3600_000)["active_sessions"] == 0
    ranged = stats.summary(db, PRICES, make_scope(NY, date_from="2026-03-08", date_to="2026-03-08", project="one"),
                           now=NOW)
    assert ranged["period_label"] == "range"
    assert (ranged["period"]["requests"], _d(ranged["period"]["cost_usd"])) == (1, Decimal("0.01"))
    assert (ranged["total"]["requests"], _d(ranged["total"]["cost_usd"])) == (2, Decimal("0.0175"))


@pytest.mark.parametrize(("since", "until"), [("2025-06-01", "2025-12-31"), ("2026-03-01", "2026-06-30"),
                                              ("2025-01-01", "2026-12-31")])
def test_stats_agree_with_the_report_over_the_samples(samples_db: Database, since: str, until: str) -> None:
    report = grand_total(usage_by_period(samples_db, "daily", Filters(
        tz=NY, since=date.fromisoformat(since), until=date.fromisoformat(until)), PRICES))
    period = stats.summary(samples_db, PRICES, make_scope(NY, date_from=since, date_to=until))["period"]
    assert period["requests"] == report.requests > 0
    assert period["total_tokens"] == report.total_tokens
    assert period["cache_read_tokens"] == report.cache_read
    assert _d(period["cost_usd"]) == report.cost.quantize(Decimal("0.000001"))
    assert period["unpriced_models"] == sorted(report.unpriced)
    everything = grand_total(usage_by_period(samples_db, "daily", Filters(tz=NY), PRICES))
    assert stats.summary(samples_db, PRICES, Scope(NY))["total"]["requests"] == everything.requests


def test_daily_series_sums_to_the_range_total(samples_db: Database) -> None:
    now = ms("2026-07-01T12:00:00+00:00")
    series = stats.daily(samples_db, PRICES, Scope(NY), 3660, now=now)["days"]
    report = grand_total(usage_by_period(samples_db, "daily", Filters(tz=NY, since=date.fromisoformat(
        series[0]["date"]), until=date(2026, 7, 1)), PRICES))
    assert sum(d["requests"] for d in series) == report.requests > 1000
    assert sum(_d(d["cost_usd"]) for d in series) == pytest.approx(report.cost, abs=Decimal("0.00001"))


def test_tool_skill_and_mcp_stats(db: Database) -> None:
    tools = {t["tool_name"]: t for t in dimensions.tool_stats(db, Scope(NY))["tools"]}
    assert set(tools) == {"Skill", "mcp__github__create_issue", "mcp__github__list_issues", "Read"}
    issue = tools["mcp__github__create_issue"]
    assert (issue["calls"], issue["errors"], issue["success_rate"], issue["mcp_server"]) == (1, 1, 0.0, "github")
    assert dimensions.tool_stats(db, make_scope(NY, project="two"))["tools"] == []
    (skill,) = dimensions.skill_stats(db, Scope(NY))["skills"]
    assert (skill["skill"], skill["calls"], skill["ok"], skill["sessions"]) == ("commit", 1, 1, 1)
    (server,) = dimensions.mcp_stats(db, Scope(NY))["servers"]
    assert (server["server"], server["calls"], server["errors"], server["sessions"]) == ("github", 2, 1, 1)
    assert [(t["tool"], t["calls"]) for t in server["tools"]] == [("create_issue", 1), ("list_issues", 1)]
    later = make_scope(NY, date_from="2026-03-08")
    assert [t["tool"] for t in dimensions.mcp_stats(db, later)["servers"][0]["tools"]] == ["list_issues"]


def test_model_and_project_stats(db: Database) -> None:
    result = dimensions.model_stats(db, PRICES, Scope(NY))
    models = {m["model"]: m for m in result["models"]}
    assert [m["model"] for m in result["models"]][:2] == ["claude-sonnet-4-5-20250929", "claude-opus-4-6"]
    assert _d(models["claude-opus-4-6"]["cost_usd"]) == Decimal("0.0175") and models["claude-opus-4-6"]["requests"] == 2
    assert models["claude-nova-9"]["priced"] is False and result["unpriced_models"] == ["claude-nova-9"]
    assert models["claude-sonnet-4-5-20250929"]["share_of_cost"] == round(0.018 / 0.0355, 4)
    projects = {p["project"]: p for p in dimensions.project_stats(db, PRICES, Scope(NY))["projects"]}
    assert _d(projects["/p/two"]["cost_usd"]) == Decimal("0.018") and projects["/p/two"]["sessions"] == 1
    assert projects["/p/one"]["tool_calls"] == 4 and projects["/p/one"]["project_name"] == "one"
    recent = dimensions.project_stats(db, PRICES, make_scope(NY, date_from="2026-03-09"))["projects"]
    assert [(p["project"], p["requests"]) for p in recent] == [("/p/two", 1)]
