"""Monitor query parameters: local-day date bounds, RFC3339 instants, ranges and pagination limits."""

from __future__ import annotations

import pytest

from store.monitor.params import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ParamError,
    Scope,
    archive_timezone,
    make_page,
    make_scope,
    parse_bound,
    require,
)
from store.timezones import resolve_timezone
from tests.monitor_tree import ms

NY = resolve_timezone("America/New_York")


def test_a_date_is_the_whole_local_day_in_the_archive_zone() -> None:
    # 8 March 2026 is the 23-hour spring-forward day in New York: EST midnight to EDT midnight
    scope = make_scope(NY, date_from="2026-03-08", date_to="2026-03-08")
    assert scope.start_ms == ms("2026-03-08T05:00:00+00:00")
    assert scope.end_ms == ms("2026-03-09T04:00:00+00:00")
    assert scope.end_ms - scope.start_ms == 23 * 3600 * 1000


def test_rfc3339_instants_and_naive_local_times() -> None:
    assert parse_bound("2026-05-01T10:00:00Z", NY, end=False, name="from") == ms("2026-05-01T10:00:00+00:00")
    assert parse_bound("2026-05-01t10:00:00.250z", NY, end=False, name="from") == ms("2026-05-01T10:00:00+00:00") + 250
    assert parse_bound("2026-05-01T12:00:00+02:00", NY, end=False, name="from") == ms("2026-05-01T10:00:00+00:00")
    # naive: read in the archive's zone (EDT, UTC-4); `to` includes its own instant
    assert parse_bound("2026-05-01T06:00:00", NY, end=True, name="to") == ms("2026-05-01T10:00:00+00:00") + 1


@pytest.mark.parametrize(("date_from", "date_to", "parameter"), [
    ("yesterday", None, "from"), (None, "2026-02-30", "to"), ("2026-13-01", None, "from"),
    ("1969-12-31", None, "from"), (None, "9999-12-31", "to"), ("2026-05-02", "2026-05-01", "from"),
    ("2026-05-01T10:00:00Z", "2026-05-01T09:59:59Z", "from"), ("20260501", None, "from"),
])
def test_bad_dates_and_reversed_ranges_name_the_parameter(date_from: str | None, date_to: str | None,
                                                            parameter: str) -> None:
    with pytest.raises(ParamError) as info:
        make_scope(NY, date_from=date_from, date_to=date_to)
    assert info.value.parameter == parameter


def test_same_instant_range_and_blank_values() -> None:
    scope = make_scope(NY, date_from="2026-05-01T10:00:00Z", date_to="2026-05-01T10:00:00Z")
    assert scope.end_ms - scope.start_ms == 1
    assert make_scope(NY, date_from=" ", date_to="", project=" ", search="") == Scope(NY)


def test_pagination_limits() -> None:
    assert make_page() == make_page(DEFAULT_LIMIT, 0)
    assert make_page(0, 0).limit == 0 and make_page(MAX_LIMIT, 10).limit == MAX_LIMIT
    for limit, offset, parameter in ((-1, 0, "limit"), (MAX_LIMIT + 1, 0, "limit"), (10, -1, "offset")):
        with pytest.raises(ParamError) as info:
            make_page(limit, offset)
        assert info.value.parameter == parameter
    with pytest.raises(ParamError, match="required"):
        require("  ", "project")


def test_unknown_configured_zone_falls_back_to_the_machine_zone() -> None:
    assert archive_timezone("Mars/Olympus") == resolve_timezone(None)
    assert archive_timezone("Asia/Kathmandu") == resolve_timezone("Asia/Kathmandu")
