"""Every dashboard query answers from the rollups exactly what it answers from the archived rows.

``row_level()`` makes the same functions read only the rows (the way they did before the rollups); over random
archives and the real samples, random zones, ranges (dates and instants, open or not, partial days) and project
filters (path, last component, folder name, unknown), both answers must be equal in every field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from peewee import Database

from store.analytics import overview
from store.analytics.range import parse_range
from store.db import open_archive
from store.ingest.runner import run_ingest
from store.monitor import breakdowns, dimensions, efficiency, errors, heatmap, prompts, stats
from store.monitor.params import NotFound, ParamError, make_scope
from store.monitor.rollups import row_level
from store.pricing import PriceTable
from store.timezones import resolve_timezone
from tests.monitor_tree import sample_archive
from tests.test_rollups_consistency import START, ZONES, random_tree

PRICES = PriceTable.bundled()
PROJECTS = (None, "/p/alpha", "alpha", "-p-beta", "/q/alpha", "nope")
NOW = START + 5 * 86_400_000


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Database]]:
    dbs = []
    for seed in (7, 1234):
        work = tmp_path_factory.mktemp(f"answers-{seed}")
        for rel, data in random_tree(seed).items():
            path = work / "claude" / "projects" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        db = open_archive(work / "a.db")
        run_ingest(db, [work / "claude"], parallel=False)
        dbs.append(db)
    yield dbs
    for db in dbs:
        db.close()


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from sample_archive(tmp_path_factory)


def _bound(offset_minutes: int | None, as_date: bool) -> str | None:
    if offset_minutes is None:
        return None
    moment = datetime.fromtimestamp(START / 1000, UTC) + timedelta(minutes=offset_minutes)
    return moment.strftime("%Y-%m-%d") if as_date else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _queries(db: Database, zone: str, date_from: str | None, date_to: str | None,
             project: str | None) -> dict[str, Callable[[], Any]]:
    tz = resolve_timezone(zone)
    scope = make_scope(tz, date_from=date_from, date_to=date_to, project=project)
    rng = parse_range(date_from, date_to, tz)
    queries: dict[str, Callable[[], Any]] = {
        "summary": lambda: stats.summary(db, PRICES, scope, now=NOW),
        "daily": lambda: stats.daily(db, PRICES, scope, 9, now=NOW),
        "tools": lambda: dimensions.tool_stats(db, scope),
        "models": lambda: dimensions.model_stats(db, PRICES, scope),
        "projects": lambda: dimensions.project_stats(db, PRICES, scope),
        "skills": lambda: dimensions.skill_stats(db, scope),
        "mcp": lambda: dimensions.mcp_stats(db, scope),
        "errors": lambda: errors.error_stats(db, scope, now=NOW),
        "efficiency": lambda: efficiency.token_efficiency(db, PRICES, scope),
        "prompts": lambda: prompts.prompt_patterns(db, scope, now=NOW),
        "heatmap": lambda: heatmap.file_heatmap(db, scope),
        "project_breakdown": lambda: breakdowns.project_breakdown(db, PRICES, scope),
    }
    if project is None:
        queries |= {
            "overview": lambda: overview.overview(db, PRICES, rng),
            "daily_usage": lambda: overview.daily_usage(db, PRICES, rng, tz),
            "model_distribution": lambda: overview.model_distribution(db, PRICES, rng),
            "tool_usage": lambda: overview.tool_usage(db, rng),
        }
    return queries


def _answer(query: Callable[[], Any]) -> Any:
    try:
        return query()
    except (NotFound, ParamError) as exc:
        return (type(exc).__name__, str(exc))


def assert_same_answers(db: Database, zone: str, date_from: str | None, date_to: str | None,
                        project: str | None) -> None:
    for name, query in _queries(db, zone, date_from, date_to, project).items():
        with row_level():
            expected = _answer(query)
        assert _answer(query) == expected, name


_ranges = st.tuples(st.one_of(st.none(), st.integers(-2 * 1440, 6 * 1440)), st.integers(0, 5 * 1440),
                    st.booleans(), st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zone=st.sampled_from(ZONES), bounds=_ranges, project=st.sampled_from(PROJECTS), which=st.integers(0, 1))
def test_random_archives_answer_the_same(archives: list[Database], zone: str, bounds: tuple, project: str | None,
                                         which: int) -> None:
    start, length, as_date, open_end = bounds
    date_from = _bound(start, as_date)
    date_to = None if open_end or start is None else _bound(start + length, as_date)
    assert_same_answers(archives[which], zone, date_from, date_to, project)


@pytest.mark.parametrize(("date_from", "date_to"), [
    (None, None), ("2025-06-01", "2025-12-31"), ("2026-01-10T08:30:00Z", "2026-03-02T17:45:10Z"),
    ("2025-11-01", None), (None, "2026-02-01")])
@pytest.mark.parametrize("project", [None, "spotter", "nope"])
def test_the_samples_answer_the_same(samples: Database, date_from: str | None, date_to: str | None,
                                     project: str | None) -> None:
    assert_same_answers(samples, "America/New_York", date_from, date_to, project)


def test_archive_counts_come_from_the_rollups(archives: list[Database], tmp_path: Any) -> None:
    from store.analytics.sync import archive_stats

    db = archives[0]
    result = archive_stats(db, tmp_path / "none.db", None)
    assert result["totalMessages"] == db.execute_sql("SELECT count(*) FROM message").fetchone()[0] > 0
    assert result["totalRequests"] == db.execute_sql("SELECT count(*) FROM api_request").fetchone()[0] > 0


_day_offsets = st.one_of(st.none(), st.integers(-3, 7))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zone=st.sampled_from(ZONES), since=_day_offsets, length=st.one_of(st.none(), st.integers(0, 6)),
       project=st.sampled_from(PROJECTS), which=st.integers(0, 1), kind=st.sampled_from(["daily", "monthly"]))
def test_day_usage_from_the_day_rollups_is_the_slot_answer(archives: list[Database], zone: str, since: int | None,
                                                           length: int | None, project: str | None, which: int,
                                                           kind: str) -> None:
    from store.monitor.rollups import zone_ready
    from store.reports.usage import Filters, _usage_day_rows, day_usage, slot_day_usage, usage_by_period

    db, tz = archives[which], resolve_timezone(zone)
    assert zone_ready(db, tz)  # the rollups are in the zone asked for: the day rollups answer
    first = datetime.fromtimestamp(START / 1000, UTC).date()
    since_date = None if since is None else first + timedelta(days=since)
    until_date = None if length is None else (since_date or first) + timedelta(days=length)
    filters = Filters(tz, since_date, until_date, project)
    fast = _usage_day_rows(db, filters)
    assert fast is not None
    expected = slot_day_usage(db, filters)
    assert sorted(fast, key=repr) == sorted(expected, key=repr)
    assert day_usage(db, filters) == fast
    with row_level():
        assert day_usage(db, filters) == expected
        slow_periods = usage_by_period(db, kind, filters, PRICES)
    assert usage_by_period(db, kind, filters, PRICES) == slow_periods
    # another zone than the rollups': the slots answer, grouped into that zone's days
    other = resolve_timezone(next(z for z in ZONES if z != zone))
    assert _usage_day_rows(db, Filters(other, since_date, until_date, project)) is None


def test_day_usage_of_a_whole_archive_comes_from_the_day_rollups(archives: list[Database]) -> None:
    from store.monitor.rollups import zone_ready
    from store.reports.usage import Filters, _usage_day_rows, slot_day_usage

    db, tz = archives[0], resolve_timezone("America/New_York")
    assert zone_ready(db, tz)
    for project in (None, "alpha"):
        filters = Filters(tz, None, None, project)
        fast = _usage_day_rows(db, filters)
        assert fast and sorted(fast, key=repr) == sorted(slot_day_usage(db, filters), key=repr)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zone=st.sampled_from(ZONES), bounds=_ranges, project=st.sampled_from(PROJECTS[1:]), which=st.integers(0, 1))
def test_heatmap_ranges_from_the_day_rollup_match_the_rows(archives: list[Database], zone: str, bounds: tuple,
                                                           project: str, which: int) -> None:
    from store.monitor.heatmap import _range_rows
    from store.monitor.rollups import plan

    start, length, as_date, open_end = bounds
    date_from = _bound(start, as_date)
    date_to = None if open_end or start is None else _bound(start + length, as_date)
    db = archives[which]
    scope = make_scope(resolve_timezone(zone), date_from=date_from, date_to=date_to, project=project)
    p = plan(db, scope)
    if not (p.whole and scope.dated):
        return
    with row_level():
        expected = heatmap._file_rows(db, scope, project)
    assert sorted(_range_rows(db, p), key=repr) == sorted(expected, key=repr)


def test_heatmap_of_a_range_reads_the_calls_of_the_plans_projects(archives: list[Database]) -> None:
    from store.monitor.heatmap import _range_rows
    from store.monitor.rollups import plan

    db = archives[0]
    scope = make_scope(resolve_timezone("UTC"), date_from=_bound(600, False), date_to=_bound(3 * 1440, True),
                       project="alpha")  # from 10 hours into a day: that day is partial
    p = plan(db, scope)
    assert p.whole and scope.dated
    with row_level():
        expected = heatmap._file_rows(db, scope, "alpha")
    assert expected
    assert p.edges  # whole days from the rollup and a partial day from the calls
    assert sorted(_range_rows(db, p), key=repr) == sorted(expected, key=repr)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zone=st.sampled_from(ZONES), bounds=_ranges, project=st.sampled_from(PROJECTS), which=st.integers(0, 1),
       per_pattern=st.integers(1, 3))
def test_pattern_sessions_from_the_filed_errors_match_the_rows(archives: list[Database], zone: str, bounds: tuple,
                                                               project: str | None, which: int,
                                                               per_pattern: int) -> None:
    from store.dashboard.errors import pattern_sessions
    from store.monitor.error_filing import file_pending

    start, length, as_date, open_end = bounds
    date_from = _bound(start, as_date)
    date_to = None if open_end or start is None else _bound(start + length, as_date)
    db = archives[which]
    scope = make_scope(resolve_timezone(zone), date_from=date_from, date_to=date_to, project=project)
    with row_level():
        signatures = [p["pattern"] for p in errors.error_patterns(db, make_scope(resolve_timezone(zone)))]
        expected = pattern_sessions(db, scope, [*signatures, "no such pattern"], per_pattern)
    assert signatures and file_pending(db)  # the filed errors answer below
    assert pattern_sessions(db, scope, [*signatures, "no such pattern"], per_pattern) == expected
