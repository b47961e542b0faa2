"""Budgets in the store: validation naming the field, CRUD, spend from requests in the period (scoped to a project
and a model), status and forecast, quiet hours."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import date
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from store.archive import Archive
from store.budgets import alerts
from store.budgets.periods import period_of_date
from store.budgets.repo import BudgetRecord, create_budget, delete_budget, find_budget, list_budgets, update_budget
from store.budgets.spend import Spend, period_spend
from store.budgets.status import budget_status, compute_status, forecast_message, when_phrase
from store.budgets.validate import BudgetError, validate_budget
from store.quiet_hours import in_quiet_hours, parse_quiet_hours
from store.reports.usage import Filters, usage_by_period
from tests.budget_tools import append, empty_home_archive, line_cost, spend_line
from tests.test_budget_periods import ms

NY = ZoneInfo("America/New_York")
UTC = ZoneInfo("UTC")


@pytest.mark.parametrize(("values", "field"), [
    ({"amount": 5}, "name"),
    ({"name": "x"}, "amount"),
    ({"name": "", "amount": 5}, "name"),
    ({"name": "x" * 81, "amount": 5}, "name"),
    ({"name": "x", "amount": -1}, "amount"),
    ({"name": "x", "amount": 0}, "amount"),
    ({"name": "x", "amount": "lots"}, "amount"),
    ({"name": "x", "amount": True}, "amount"),
    ({"name": "x", "amount": "NaN"}, "amount"),
    ({"name": "x", "amount": 10**10}, "amount"),
    ({"name": "x", "amount": 5, "period": "yearly"}, "period"),
    ({"name": "x", "amount": 5, "warning_threshold": 0}, "warning_threshold"),
    ({"name": "x", "amount": 5, "warning_threshold": 80}, "warning_threshold"),
    ({"name": "x", "amount": 5, "warning_threshold": "high"}, "warning_threshold"),
    ({"name": "x", "amount": 5, "project": 3}, "project"),
    ({"name": "x", "amount": 5, "model": ["opus"]}, "model"),
    ({"name": "x", "amount": 5, "muted": "yes"}, "muted"),
    ({"name": "x", "amount": 5, "warn_on_forecast": 1}, "warn_on_forecast"),
    ({"name": "x", "amount": 5, "colour": "red"}, "colour"),
])
def test_each_invalid_value_names_its_field(values: dict, field: str) -> None:
    with pytest.raises(BudgetError) as caught:
        validate_budget(values)
    assert caught.value.field == field and field in str(caught.value)


def test_valid_values_are_cleaned_and_defaulted() -> None:
    clean = validate_budget({"name": "  Weekly  ", "amount": "$50.00", "period": "weekly"})
    assert clean == {"name": "Weekly", "amount": "50", "period": "weekly", "warning_threshold": 0.8, "project": None,
                     "model": None, "warn_on_forecast": False, "muted": False}
    assert validate_budget({"amount": 12.5}, partial=True) == {"amount": "12.5"}
    assert validate_budget({"amount": "0.10"}, partial=True) == {"amount": "0.1"}


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Archive]:
    with closing(empty_home_archive(tmp_path, monkeypatch)) as archive:
        yield archive


def test_crud_with_unique_names_and_alerts_reset_when_the_measure_changes(archive: Archive) -> None:
    weekly = create_budget({"name": "Weekly", "amount": 50, "period": "weekly"}, now_ms=1)
    with pytest.raises(BudgetError) as caught:
        create_budget({"name": "weekly", "amount": 5})
    assert caught.value.field == "name"
    other = create_budget({"name": "Opus", "amount": "20", "model": "opus"})
    assert [b.name for b in list_budgets()] == ["Weekly", "Opus"]
    assert find_budget("WEEKLY") == weekly and find_budget(str(other.id)) == other
    alerts.record_levels(weekly.id, "weekly:2026-03-09", ["warning"], 5)
    renamed = update_budget(weekly.id, {"name": "Week", "muted": True}, now_ms=7)
    assert renamed is not None and (renamed.name, renamed.muted, renamed.updated_ms) == ("Week", True, 7)
    assert len(alerts.alerts_for(weekly.id, "weekly:2026-03-09")) == 1  # renaming or muting keeps the history
    update_budget(weekly.id, {"amount": 80})
    assert alerts.alerts_for(weekly.id, "weekly:2026-03-09") == []  # a new limit may warn again
    with pytest.raises(BudgetError):
        update_budget(weekly.id, {"name": "opus"})
    assert update_budget(999, {"amount": 1}) is None
    assert delete_budget(other.id) and not delete_budget(other.id)
    assert [b.id for b in list_budgets()] == [weekly.id]


def test_levels_are_recorded_once_per_budget_and_period(archive: Archive) -> None:
    assert alerts.record_levels(1, "daily:2026-03-08", ["warning", "forecast"], 10) == ["forecast", "warning"]
    assert alerts.record_levels(1, "daily:2026-03-08", ["warning", "exceeded"], 11) == ["exceeded"]
    assert alerts.record_levels(1, "daily:2026-03-09", ["warning"], 12) == ["warning"]
    assert alerts.record_levels(2, "daily:2026-03-08", ["warning"], 13) == ["warning"]
    alerts.set_outcome(1, "daily:2026-03-08", "warning", alerts.SENT, notified_ms=20, attempted=True)
    rows = {r.level: r for r in alerts.alerts_for(1, "daily:2026-03-08")}
    assert (rows["warning"].outcome, rows["warning"].notified_ms, rows["warning"].attempts) == ("sent", 20, 1)
    assert [r.level for r in alerts.alerts_for(1, "daily:2026-03-08")] == ["forecast", "warning", "exceeded"]


def test_spend_counts_requests_in_the_local_period_scoped_to_project_and_model(archive: Archive) -> None:
    claude = archive.roots[0]
    session = claude / "projects" / "-work-app" / "s1.jsonl"
    other = claude / "projects" / "-work-site" / "s2.jsonl"
    append(session,
           spend_line(1, ms("2026-03-08T04:59:00Z"), 100_000),  # 23:59 EST on 7 March: the previous day
           spend_line(2, ms("2026-03-08T05:00:00Z"), 200_000),  # 00:00 EST on 8 March
           spend_line(3, ms("2026-03-09T03:59:00Z"), 300_000),  # 23:59 EDT on 8 March (a 23-hour day)
           spend_line(4, ms("2026-03-09T04:00:00Z"), 400_000))  # 00:00 EDT on 9 March
    append(other, spend_line(5, ms("2026-03-08T12:00:00Z"), 50_000, session="s2", cwd="/work/site",
                             model="claude-opus-4-6"))
    archive.refresh()
    day = period_of_date("daily", date(2026, 3, 8), NY, 0)
    spend = period_spend(archive.db, archive.prices, day, NY)
    expected = line_cost(200_000) + line_cost(300_000) + line_cost(50_000, "claude-opus-4-6")
    assert spend.usd == expected and spend.requests == 3 and not spend.unpriced
    report = usage_by_period(archive.db, "daily", Filters(tz=NY), archive.prices)
    assert {p.key: p.total.cost for p in report}["2026-03-08"] == expected  # the daily report agrees
    assert period_spend(archive.db, archive.prices, day, NY, project="app").usd == line_cost(200_000) + line_cost(
        300_000)
    assert period_spend(archive.db, archive.prices, day, NY, project="/work/site").requests == 1
    assert period_spend(archive.db, archive.prices, day, NY, model="OPUS").usd == line_cost(50_000, "claude-opus-4-6")
    assert period_spend(archive.db, archive.prices, day, NY, project="app", model="opus").requests == 0
    week = period_of_date("weekly", date(2026, 3, 8), NY, 6)  # Sunday 8 March ... Saturday 14 March
    assert period_spend(archive.db, archive.prices, week, NY).requests == 4
    budget = create_budget({"name": "Day", "amount": "10", "period": "daily", "project": "app"})
    status = budget_status(archive.db, archive.prices, budget, NY, 0, ms("2026-03-08T20:00:00Z"))
    assert status.spend.usd == line_cost(200_000) + line_cost(300_000) and status.period == day


def _record(amount: str, period: str = "weekly", threshold: float = 0.8, forecast: bool = True) -> BudgetRecord:
    return BudgetRecord(1, "Team", Decimal(amount), period, threshold, None, None, forecast, False, 0, 0)


def test_status_thresholds() -> None:
    week = period_of_date("weekly", date(2026, 3, 11), UTC, 0)
    now = week.start_ms + 1
    assert compute_status(_record("100"), week, Spend(Decimal("79.99")), now).status == "ok"
    assert compute_status(_record("100"), week, Spend(Decimal("80")), now).status == "warning"
    assert compute_status(_record("100"), week, Spend(Decimal("100")), now).status == "exceeded"
    status = compute_status(_record("100"), week, Spend(Decimal("123.456")), now)
    assert status.percentage == 123.46 and status.levels() == ["warning", "exceeded"]


def test_forecast_extends_the_pace_so_far_and_says_when_the_limit_is_passed() -> None:
    week = period_of_date("weekly", date(2026, 3, 11), UTC, 0)  # Monday 9 March ... Sunday 15 March
    now = ms("2026-03-11T12:00:00Z")  # 2.5 days in
    status = compute_status(_record("50"), week, Spend(Decimal("30")), now)
    assert status.status == "ok" and status.forecast_usd == Decimal("84")
    assert status.forecast_exceed_ms == ms("2026-03-13T04:00:00Z")  # 2.5 d x 50 / 30 = 4 d 4 h after Monday 00:00
    assert status.forecast_warns and status.levels() == ["forecast"]
    assert forecast_message(status, UTC) == ("At this pace you pass the weekly budget on Friday "
                                             "(projected $84.00 by the end of the week).")
    assert compute_status(_record("50", forecast=False), week, Spend(Decimal("30")), now).levels() == []
    slow = compute_status(_record("500"), week, Spend(Decimal("30")), now)
    assert slow.forecast_exceed_ms is None and not slow.forecast_warns and slow.to_json(UTC)["forecast_status"] == "ok"
    early = compute_status(_record("50"), week, Spend(Decimal("30")), week.start_ms + 3_600_000)
    assert early.forecast_exceed_ms is not None and not early.forecast_reliable and early.levels() == []


def test_when_phrases() -> None:
    now = ms("2026-03-11T12:00:00Z")  # a Wednesday
    assert when_phrase(ms("2026-03-11T16:40:00Z"), now, UTC) == "today at 16:40"
    assert when_phrase(ms("2026-03-12T09:00:00Z"), now, UTC) == "tomorrow"
    assert when_phrase(ms("2026-03-14T09:00:00Z"), now, UTC) == "on Saturday"
    assert when_phrase(ms("2026-03-23T09:00:00Z"), now, UTC) == "on Monday 23 March"


def test_quiet_hours() -> None:
    assert parse_quiet_hours("22:00-7:30")[1].strftime("%H:%M") == "07:30"
    for bad in ("22-7", "24:00-01:00", "10:00-10:00", 5):
        with pytest.raises(ValueError):
            parse_quiet_hours(bad)
    assert in_quiet_hours("22:00-07:00", ms("2026-03-11T03:00:00Z"), NY)  # 23:00 in New York
    assert in_quiet_hours("22:00-07:00", ms("2026-03-11T10:59:00Z"), NY)  # 06:59 EDT
    assert not in_quiet_hours("22:00-07:00", ms("2026-03-11T11:00:00Z"), NY)  # 07:00 EDT
    assert in_quiet_hours("12:00-14:00", ms("2026-03-11T12:30:00Z"), UTC)
    assert not in_quiet_hours("12:00-14:00", ms("2026-03-11T14:00:00Z"), UTC)
    assert not in_quiet_hours(None, ms("2026-03-11T03:00:00Z"), NY)
