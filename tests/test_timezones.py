"""Local-calendar bucketing: DST days, odd offsets, period keys as ccusage 20 prints them."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.timezones import (
    CCUSAGE_CLAUDE_START_OF_WEEK,
    CCUSAGE_UNIFIED_START_OF_WEEK,
    MONDAY,
    SLOT_MS,
    SUNDAY,
    WEDNESDAY,
    date_range_utc_ms,
    day_number_date,
    format_utc_iso_ms,
    local_date,
    local_day_sql,
    local_day_start_utc_ms,
    parse_date_arg,
    parse_start_of_week,
    period_bounds_utc_ms,
    period_key,
    resolve_timezone,
    slot_local_date,
)

HOUR_MS = 3_600_000


def ms(iso: str) -> int:
    return (datetime.fromisoformat(iso) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


# --- resolve_timezone --------------------------------------------------------------------


def test_resolve_named_zone() -> None:
    assert resolve_timezone("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    assert resolve_timezone(" UTC ") == ZoneInfo("UTC")


def test_resolve_none_gives_a_zone() -> None:
    assert isinstance(resolve_timezone(None), ZoneInfo)
    assert isinstance(resolve_timezone(""), ZoneInfo)


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "Europe", "../../etc/passwd", "/etc/localtime", "EST5"])
def test_resolve_invalid_zone(bad: str) -> None:
    with pytest.raises(ValueError, match="Unknown time zone"):
        resolve_timezone(bad)


def test_parse_start_of_week() -> None:
    assert parse_start_of_week("Sunday") == SUNDAY
    assert parse_start_of_week("monday") == MONDAY
    assert parse_start_of_week(2) == WEDNESDAY
    with pytest.raises(ValueError):
        parse_start_of_week("sun")
    with pytest.raises(ValueError):
        parse_start_of_week(7)


# --- DST-correct day bounds ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "day", "hours", "start"),
    [
        ("America/New_York", "2026-03-08", 23, "2026-03-08T05:00:00+00:00"),
        ("America/New_York", "2026-11-01", 25, "2026-11-01T04:00:00+00:00"),
        ("America/New_York", "2026-07-01", 24, "2026-07-01T04:00:00+00:00"),
        ("Europe/Berlin", "2026-03-29", 23, "2026-03-28T23:00:00+00:00"),
        ("Europe/Berlin", "2026-10-25", 25, "2026-10-24T22:00:00+00:00"),
        # Lord Howe shifts by only 30 minutes.
        ("Australia/Lord_Howe", "2026-04-05", 24.5, "2026-04-04T13:00:00+00:00"),
        ("Australia/Lord_Howe", "2026-10-04", 23.5, "2026-10-03T13:30:00+00:00"),
        # Santiago springs forward at midnight: the day starts at 01:00 local.
        ("America/Santiago", "2026-09-06", 23, "2026-09-06T04:00:00+00:00"),
        ("Asia/Kathmandu", "2026-01-02", 24, "2026-01-01T18:15:00+00:00"),
        ("UTC", "2026-02-10", 24, "2026-02-10T00:00:00+00:00"),
    ],
)
def test_day_bounds(zone: str, day: str, hours: float, start: str) -> None:
    tz = ZoneInfo(zone)
    lo, hi = period_bounds_utc_ms("day", date.fromisoformat(day), tz, MONDAY)
    assert lo == ms(start)
    assert hi - lo == hours * HOUR_MS
    assert local_date(lo, tz) == date.fromisoformat(day)
    assert local_date(lo - 1000, tz) < date.fromisoformat(day)
    assert local_date(hi, tz) > date.fromisoformat(day)


def test_day_start_is_first_instant_of_the_date_brute_force() -> None:
    """Scan minute by minute around transitions: bounds agree with local_date everywhere."""
    cases = [
        ("America/Santiago", date(2026, 9, 6)),
        ("America/Santiago", date(2026, 4, 5)),
        ("America/Havana", date(2026, 3, 8)),
        ("Pacific/Chatham", date(2026, 9, 27)),
    ]
    for zone, d in cases:
        tz = ZoneInfo(zone)
        start = local_day_start_utc_ms(d, tz)
        t = start - 3 * HOUR_MS
        first = None
        while t < start + 3 * HOUR_MS:
            if local_date(t, tz) >= d:
                first = t
                break
            t += 60_000
        assert first == start, zone


def test_week_bounds_across_dst() -> None:
    tz = ZoneInfo("America/New_York")
    lo, hi = period_bounds_utc_ms("week", date(2026, 3, 11), tz, SUNDAY)
    assert lo == ms("2026-03-08T05:00:00+00:00")  # Sunday 2026-03-08 00:00 EST
    assert hi - lo == (7 * 24 - 1) * HOUR_MS


def test_month_bounds() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    lo, hi = period_bounds_utc_ms("month", date(2026, 3, 17), berlin, MONDAY)
    assert lo == ms("2026-02-28T23:00:00+00:00")
    assert hi == ms("2026-03-31T22:00:00+00:00")
    assert hi - lo == (31 * 24 - 1) * HOUR_MS
    utc = ZoneInfo("UTC")
    lo, hi = period_bounds_utc_ms("month", date(2028, 2, 29), utc, MONDAY)  # leap year
    assert (hi - lo) == 29 * 24 * HOUR_MS
    lo, hi = period_bounds_utc_ms("month", date(2026, 12, 31), utc, MONDAY)  # year rollover
    assert lo == ms("2026-12-01T00:00:00+00:00")
    assert hi == ms("2027-01-01T00:00:00+00:00")


def test_date_range_inclusive() -> None:
    tz = ZoneInfo("America/New_York")
    lo, hi = date_range_utc_ms(date(2026, 3, 8), date(2026, 3, 8), tz)
    assert (lo, hi) == period_bounds_utc_ms("day", date(2026, 3, 8), tz, MONDAY)
    assert date_range_utc_ms(None, None, tz) == (None, None)


# --- slots -> local dates ---------------------------------------------------------------------


def test_kathmandu_slot_mapping() -> None:
    tz = ZoneInfo("Asia/Kathmandu")  # +05:45
    before = ms("2026-01-01T18:14:59.999+00:00")
    after = ms("2026-01-01T18:15:00+00:00")
    assert before // SLOT_MS + 1 == after // SLOT_MS  # local midnight is a slot boundary
    assert slot_local_date(before // SLOT_MS, tz) == date(2026, 1, 1)
    assert slot_local_date(after // SLOT_MS, tz) == date(2026, 1, 2)
    assert local_date(before, tz) == date(2026, 1, 1)
    assert local_date(after, tz) == date(2026, 1, 2)


@pytest.mark.parametrize(
    ("zone", "around"),
    [
        ("America/New_York", "2026-03-08"),
        ("America/New_York", "2026-11-01"),
        ("Europe/Berlin", "2026-10-25"),
        ("Australia/Lord_Howe", "2026-04-05"),
        ("Australia/Lord_Howe", "2026-10-04"),
        ("Asia/Kathmandu", "2026-06-01"),
        ("Pacific/Chatham", "2026-04-05"),
        ("Asia/Kolkata", "2026-02-28"),
    ],
)
def test_slot_date_equals_exact_date_every_minute(zone: str, around: str) -> None:
    """The 15-minute UTC slot never straddles a local midnight, even over DST changes."""
    tz = ZoneInfo(zone)
    t = ms(f"{around}T00:00:00+00:00") - 36 * HOUR_MS
    end = t + 72 * HOUR_MS
    while t < end:
        assert slot_local_date(t // SLOT_MS, tz) == local_date(t, tz), format_utc_iso_ms(t)
        assert slot_local_date((t + 59_999) // SLOT_MS, tz) == local_date(t + 59_999, tz)
        t += 60_000


def test_local_date_before_epoch_floor() -> None:
    assert local_date(-1, ZoneInfo("UTC")) == date(1969, 12, 31)


def test_format_utc_iso_ms() -> None:
    assert format_utc_iso_ms(ms("2026-02-11T03:59:37.598+00:00")) == "2026-02-11T03:59:37.598Z"
    assert format_utc_iso_ms(0) == "1970-01-01T00:00:00.000Z"


# --- period keys (values observed from ccusage 20.0.24 on marot-spotter, --timezone UTC) -----


def test_period_keys_match_ccusage() -> None:
    tue, wed = date(2026, 2, 10), date(2026, 2, 11)
    assert period_key("daily", tue, SUNDAY) == "2026-02-10"
    assert period_key("monthly", tue, SUNDAY) == "2026-02"
    # `ccusage claude weekly` (key "week"), default --start-of-week sunday
    assert CCUSAGE_CLAUDE_START_OF_WEEK == SUNDAY
    assert period_key("weekly", tue, SUNDAY) == "2026-02-08"
    assert period_key("weekly", wed, SUNDAY) == "2026-02-08"
    # `ccusage weekly` (unified, key "period") starts on Monday
    assert CCUSAGE_UNIFIED_START_OF_WEEK == MONDAY
    assert period_key("weekly", tue, MONDAY) == "2026-02-09"
    # `-w wednesday` splits the two days into 2026-02-04 and 2026-02-11
    assert period_key("weekly", tue, WEDNESDAY) == "2026-02-04"
    assert period_key("weekly", wed, WEDNESDAY) == "2026-02-11"


def test_period_keys_edges() -> None:
    assert period_key("weekly", date(2026, 2, 8), SUNDAY) == "2026-02-08"  # a Sunday starts its week
    assert period_key("weekly", date(2027, 1, 2), SUNDAY) == "2026-12-27"  # week across new year
    assert period_key("weekly", date(2024, 3, 1), MONDAY) == "2024-02-26"  # across leap day
    assert period_key("monthly", date(2024, 2, 29), MONDAY) == "2024-02"
    assert period_key("daily", date(2024, 2, 29), MONDAY) == "2024-02-29"
    with pytest.raises(ValueError):
        period_key("yearly", date(2024, 1, 1), MONDAY)  # type: ignore[arg-type]


# --- --since / --until ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20260211", date(2026, 2, 11)),
        ("2026-02-11", date(2026, 2, 11)),
        (" 2026-02-11\n", date(2026, 2, 11)),
        ("20240229", date(2024, 2, 29)),
    ],
)
def test_parse_date_arg(text: str, expected: date) -> None:
    assert parse_date_arg(text) == expected


@pytest.mark.parametrize(
    "text", ["2026/02/11", "2026-2-11", "20260230", "20250229", "2026-13-01", "", "yesterday", "202602110"]
)
def test_parse_date_arg_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="expected YYYY-MM-DD or YYYYMMDD"):
        parse_date_arg(text)


_ODD_ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu",
              "Pacific/Chatham", "America/St_Johns", "Asia/Kolkata", "Pacific/Apia", "Africa/Casablanca")
_SLOT_1990, _SLOT_2035 = 631_152_000_000 // SLOT_MS, 2_051_222_400_000 // SLOT_MS


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(_ODD_ZONES), first=st.integers(_SLOT_1990, _SLOT_2035),
       span=st.integers(0, 3 * 366 * 96), picks=st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_sql_local_day_equals_python_local_date(zone: str, first: int, span: int, picks: list[float]) -> None:
    """SQLite groups rollup slots into local days with the offset segments; every slot lands on its local date,
    also right at DST changes (the bisected segment starts) and in zones with 30- and 45-minute offsets."""
    tz = ZoneInfo(zone)
    last = first + span
    expr = local_day_sql("slot", tz, first, last)
    slots = {first, last, *(first + int(f * span) for f in picks)}
    with sqlite3.connect(":memory:") as conn:
        conn.execute("CREATE TABLE t (slot INTEGER)")
        conn.executemany("INSERT INTO t VALUES (?)", [(s,) for s in slots])
        for slot, day in conn.execute(f"SELECT slot, {expr} FROM t"):
            assert day_number_date(day) == slot_local_date(slot, tz), (zone, slot)


def test_sql_local_day_at_the_berlin_dst_changes() -> None:
    tz = ZoneInfo("Europe/Berlin")
    spring = int(datetime(2026, 3, 29, 1, tzinfo=UTC).timestamp() * 1000) // SLOT_MS  # 03:00 CEST
    autumn = int(datetime(2026, 10, 25, 1, tzinfo=UTC).timestamp() * 1000) // SLOT_MS  # 02:00 CET
    expr = local_day_sql("slot", tz, spring - 200, autumn + 200)
    assert expr.count("WHEN") == 2
    with sqlite3.connect(":memory:") as conn:
        for slot in (spring - 1, spring, autumn - 1, autumn, autumn + 88, autumn + 92):
            (day,) = conn.execute(f"SELECT {expr.replace('slot', str(slot))}").fetchone()
            assert day_number_date(day) == slot_local_date(slot, tz)
    # 22:59 UTC on 25 Oct is 23:59 CET (still the 25th); 23:00 UTC is midnight of the 26th
    assert slot_local_date(autumn + 87, tz) == date(2026, 10, 25)
    assert slot_local_date(autumn + 88, tz) == date(2026, 10, 26)
