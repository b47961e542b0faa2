"""The dashboard's own queries (``store/dashboard``) against the archive of the real sample transcripts: each
agrees with the report and monitor code it stands in for."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import pairwise

import pytest

from store.archive import Archive, open_default
from store.cache_expiry import ExpiryWaste, cache_expiry_waste, expiry_waste_days
from store.dashboard.activity import hour_grid
from store.dashboard.block import current_block
from store.dashboard.catalog import last_request_ms, model_names, project_choices, unpriced_models
from store.dashboard.efficiency import compactions
from store.dashboard.errors import pattern_sessions
from store.dashboard.periods import period_comparisons, usage_between
from store.dashboard.repricing import reprice, reprice_rows, repricing_targets
from store.dashboard.session_table import session_page
from store.monitor.dimensions import project_stats
from store.monitor.errors import error_signature, error_stats
from store.monitor.params import Page, Scope, archive_timezone
from store.monitor.sessions import list_sessions
from store.monitor.sql import requests_where
from store.monitor.usage import total_usage
from store.reports.block_entries import block_entries
from store.reports.blocks import identify_blocks
from store.reports.usage import Filters, grand_total, usage_by_period
from store.search import search
from store.timezones import local_date, local_day_start_utc_ms
from tests.dashboard_tools import SampleHome, use_home
from ui.context import Ctx
from ui.filters import DashFilter
from ui.pages.common import daily_usage, range_day_rows, usage_series

DEMO = "/path/to/Demo"  # one model (claude-sonnet-4-20250514), standard speed


@pytest.fixture(scope="module")
def archive(sample_home: SampleHome) -> Iterator[Archive]:
    for _ in use_home(sample_home):
        opened = open_default()
        yield opened
        opened.close()


def test_usage_between_equals_the_reports_and_the_request_sums(archive: Archive) -> None:
    tz = archive_timezone(archive.settings.timezone)
    since, until = date(2025, 6, 1), date(2026, 6, 30)
    start, end = local_day_start_utc_ms(since, tz), local_day_start_utc_ms(until + timedelta(days=1), tz)
    for project in (None, DEMO):
        whole = usage_between(archive.db, archive.prices, start, end, project)
        report = grand_total(usage_by_period(archive.db, "daily", Filters(tz, since, until, project), archive.prices))
        assert (whole.cost, whole.total_tokens, whole.requests) == (report.cost, report.total_tokens, report.requests)
        assert whole.requests > 0
    # bounds inside 15-minute slots: the partial slots come from the requests themselves
    odd_start, odd_end = start + 7 * 60_000 + 123, end - 11 * 60_000 - 77
    part = usage_between(archive.db, archive.prices, odd_start, odd_end)
    exact = total_usage(archive.db, archive.prices, requests_where(Scope(tz, odd_start, odd_end))).total
    assert (part.cost, part.total_tokens, part.requests) == (exact.cost, exact.total_tokens, exact.requests)


def test_period_comparisons_cover_today_week_and_month(archive: Archive) -> None:
    tz = archive_timezone(archive.settings.timezone)
    now = last_request_ms(archive.db) + 60_000
    periods = {p.name: p for p in period_comparisons(archive.db, archive.prices, tz, now)}
    assert list(periods) == ["today", "week", "month"]
    today_start = local_day_start_utc_ms(local_date(now, tz), tz)
    expected = usage_between(archive.db, archive.prices, today_start, now + 1)
    assert periods["today"].current.cost == expected.cost and expected.requests > 0
    assert periods["month"].current.cost >= periods["week"].current.cost >= 0
    yesterday = usage_between(archive.db, archive.prices, today_start - 86_400_000, today_start - 86_400_000 +
                              (now - today_start))
    assert periods["today"].previous.cost == yesterday.cost


def test_current_block_matches_the_blocks_report(archive: Archive) -> None:
    tz = archive_timezone(archive.settings.timezone)
    now = last_request_ms(archive.db) + 60_000
    block = current_block(archive.db, archive.prices, now)
    entries, _ = block_entries(archive.db, Filters(tz), archive.prices)
    expected = next(b for b in reversed(identify_blocks(entries, now)) if b.is_active)
    assert block is not None
    assert (block.start_ms, block.entries, block.cost_usd, block.total_tokens) == (
        expected.start_ms, expected.entries, expected.cost_usd, expected.total_tokens)
    assert block.projection == expected.projection and block.burn_rate == expected.burn_rate
    assert current_block(archive.db, archive.prices, now + 6 * 3600_000) is None


def test_hour_grid_adds_up_to_the_range(archive: Archive) -> None:
    tz = archive_timezone(archive.settings.timezone)
    filters = Filters(tz, date(2025, 6, 1), date(2026, 6, 30))
    grid = hour_grid(archive.db, archive.prices, filters)
    total = grand_total(usage_by_period(archive.db, "daily", filters, archive.prices))
    assert (grid.total().cost, grid.total().requests) == (total.cost, total.requests)
    assert sum(1 for day in grid.cells for u in day if u.requests) > 10


def test_repricing_on_the_same_model_is_the_actual_cost(archive: Archive) -> None:
    tz = archive_timezone(archive.settings.timezone)
    targets = repricing_targets(archive.prices)
    assert "claude-sonnet-4-20250514" in targets and all(t.startswith("claude-") for t in targets)
    same, opus = reprice(archive.db, archive.prices, Filters(tz, project=DEMO),
                         ["claude-sonnet-4-20250514", "claude-opus-4-6"])
    assert same.actual.requests > 0 and same.cost == same.actual.cost
    assert opus.priced and opus.cost > same.cost  # Opus is dearer per token than Sonnet 4
    assert not reprice(archive.db, archive.prices, Filters(tz), ["no-such-model"])[0].priced


def test_session_page_sorts_and_pages_on_the_server(archive: Archive) -> None:
    tz = archive_timezone(archive.settings.timezone)
    scope = Scope(tz)
    default = session_page(archive.db, archive.prices, scope, Page(10, 0))
    assert default["total"] == list_sessions(archive.db, archive.prices, scope, Page(10, 0))["total"] > 20
    assert [s["id"] for s in default["sessions"]] == [
        s["id"] for s in list_sessions(archive.db, archive.prices, scope, Page(10, 0))["sessions"]]
    by_cost = session_page(archive.db, archive.prices, scope, Page(10, 0), "cost")["sessions"]
    costs = [s["usage"]["cost_usd"] for s in by_cost]
    assert costs == sorted(costs, reverse=True) and costs[0] > 0
    started = session_page(archive.db, archive.prices, scope, Page(10, 0), "started", descending=False)["sessions"]
    assert [s["started_at"] for s in started] == sorted(s["started_at"] for s in started)
    second = session_page(archive.db, archive.prices, scope, Page(10, 10), "cost")["sessions"]
    assert not {s["id"] for s in second} & {s["id"] for s in by_cost}
    assert all(s["usage"]["cost_usd"] <= costs[-1] for s in second)
    with pytest.raises(ValueError):
        session_page(archive.db, archive.prices, scope, Page(10, 0), "bogus")


def test_error_patterns_link_to_their_sessions(archive: Archive) -> None:
    tz = archive_timezone(archive.settings.timezone)
    stats = error_stats(archive.db, Scope(tz))
    assert stats["total_errors"] > 0
    errors = [(c[0], c[1]) for c in archive.db.execute_sql(
        "SELECT session_id, error_text FROM tool_call WHERE status = 'error'").fetchall()]
    signature = error_signature(errors[0][1])
    links = pattern_sessions(archive.db, Scope(tz), [signature, "no such pattern"])
    assert links["no such pattern"] == []
    assert links[signature] and all(
        any(sid == link["session_id"] and error_signature(text) == signature for sid, text in errors)
        for link in links[signature])


def test_compactions_and_catalogs(archive: Archive) -> None:
    tz = archive_timezone(archive.settings.timezone)
    found = compactions(archive.db, tz, None, None)
    assert found["total"] == archive.db.execute_sql("SELECT count(*) FROM compaction").fetchone()[0] > 0
    assert sum(sum(kinds.values()) for kinds in found["per_day"].values()) == found["total"]
    choices = project_choices(archive.db)
    stats = {p["project"] for p in project_stats(archive.db, archive.prices, Scope(tz))["projects"]}
    assert {c.value for c in choices} <= stats and DEMO in {c.value for c in choices}
    assert len({c.label for c in choices}) == len(choices)  # labels tell projects with one name apart
    assert "claude-sonnet-4-20250514" in model_names(archive.db)
    assert unpriced_models(archive.db, archive.prices) == ["claude-3-sonnet-20240229"]


def test_hour_grid_cells_follow_local_time(archive: Archive) -> None:
    """SQLite's slot-to-weekday/hour mapping equals Python's for every request (the zone has DST)."""
    from collections import Counter
    from datetime import datetime

    tz = archive_timezone(archive.settings.timezone)
    grid = hour_grid(archive.db, archive.prices, Filters(tz))
    expected: Counter = Counter()
    for (ts,) in archive.db.execute_sql("SELECT ts_ms FROM api_request WHERE model IS NOT NULL "
                                        "AND model != '<synthetic>'").fetchall():
        moment = datetime.fromtimestamp(ts / 1000, tz)
        expected[(moment.weekday(), moment.hour)] += 1
    assert {(d, h): grid.cells[d][h].requests for d in range(7) for h in range(24)
            if grid.cells[d][h].requests} == dict(expected)


def test_session_search_and_sorting_select_what_the_api_selects(archive: Archive) -> None:
    tz = archive_timezone(archive.settings.timezone)
    scope = Scope(tz, search="pydantic")  # found in conversation lines through the full-text index
    api = list_sessions(archive.db, archive.prices, scope, Page(50, 0))
    mine = session_page(archive.db, archive.prices, scope, Page(50, 0))
    assert mine["total"] == api["total"] > 0
    assert [s["id"] for s in mine["sessions"]] == [s["id"] for s in api["sessions"]]
    by_cost = session_page(archive.db, archive.prices, scope, Page(50, 0), "cost")
    assert {s["id"] for s in by_cost["sessions"]} == {s["id"] for s in api["sessions"]}
    hits = {h["session_id"] for h in search(archive.db, "pydantic", limit=200)["results"]}
    assert hits <= {s["id"] for s in mine["sessions"]}  # every session with a matching line is listed
    assert all(s["tags"] == [] for s in mine["sessions"])  # no tags in the sample archive


def test_expiry_waste_of_adjacent_spans_adds_up(archive: Archive) -> None:
    tz = archive_timezone(archive.settings.timezone)
    first, last = archive.db.execute_sql("SELECT min(ts_ms), max(ts_ms) FROM api_request").fetchone()
    whole = expiry_waste_days(archive.db.connection(), archive.prices, tz, first, last + 1)
    assert whole and sum(d.times for d in whole.values()) > 0  # the samples resume after idle gaps
    busiest = max(whole, key=lambda day: whole[day].waste_usd)
    split = local_day_start_utc_ms(date.fromisoformat(busiest), tz)  # the answers are per local day
    parts = {**expiry_waste_days(archive.db.connection(), archive.prices, tz, first, split),
             **expiry_waste_days(archive.db.connection(), archive.prices, tz, split, last + 1)}
    assert parts == whole
    total = cache_expiry_waste(archive.db.connection(), archive.prices, tz, first, last + 1)
    assert total == ExpiryWaste.of_days(whole) and total.waste_usd > 0
    assert total.waste_usd == sum(total.by_day.values())


def test_usage_series_has_every_period_of_the_span(archive: Archive) -> None:
    tz = archive_timezone(archive.settings.timezone)
    ctx = Ctx(archive, DashFilter("all"), int(time.time() * 1000), tz)
    series = usage_series(ctx)
    assert series.grain == "weekly"
    weeks = [date.fromisoformat(k) for k in series.keys]
    assert all(b - a == timedelta(days=7) for a, b in pairwise(weeks))  # gaps included
    assert len(series.keys) > len(series.periods)  # the samples have idle weeks: they are zeros on the chart
    assert series.total.cost == grand_total(usage_by_period(archive.db, "daily", Filters(tz), archive.prices)).cost


@pytest.mark.parametrize("filt", [DashFilter("all"), DashFilter("custom", date(2025, 7, 10), date(2025, 11, 20)),
                                  DashFilter("all", project=DEMO)])
def test_days_from_cached_months_are_the_daily_report(archive: Archive, filt: DashFilter) -> None:
    tz = archive_timezone(archive.settings.timezone)
    ctx = Ctx(archive, filt, int(time.time() * 1000), tz)
    report = usage_by_period(archive.db, "daily", ctx.report_filters(), archive.prices)
    for _ in range(2):  # computed, then from the cache
        days = daily_usage(ctx)
        assert [d.key for d in days] == [p.key for p in report] and days
        assert [(d.total.cost, d.total.total_tokens, sorted(d.models)) for d in days] == [
            (p.total.cost, p.total.total_tokens, sorted(p.models)) for p in report]
    repriced = reprice_rows(range_day_rows(ctx), archive.prices, ["claude-opus-4-6"])[0]
    assert repriced.cost == reprice(archive.db, archive.prices, ctx.report_filters(), ["claude-opus-4-6"])[0].cost
