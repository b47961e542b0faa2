"""Budget period maths: local days, weeks and months across DST changes, month and year ends, the week start."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.budgets.periods import period_containing, period_of_date
from store.budgets.week import budget_start_of_week, first_weekday_of_territory, locale_territory
from store.timezones import MONDAY, SATURDAY, SUNDAY, local_date

NY, BERLIN, LORD_HOWE = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin"), ZoneInfo("Australia/Lord_Howe")
HOUR = 3_600_000


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def iso(value: int) -> str:
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_daily_periods_are_23_and_25_hours_on_dst_days() -> None:
    spring = period_containing("daily", ms("2026-03-08T12:00:00Z"), NY, MONDAY)
    assert (iso(spring.start_ms), iso(spring.end_ms)) == ("2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z")
    assert spring.length_ms == 23 * HOUR and spring.key == "daily:2026-03-08"
    autumn = period_containing("daily", ms("2026-11-01T12:00:00Z"), NY, MONDAY)
    assert (iso(autumn.start_ms), iso(autumn.end_ms)) == ("2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z")
    assert autumn.length_ms == 25 * HOUR
    # Lord Howe Island changes by 30 minutes
    assert period_containing("daily", ms("2026-04-05T06:00:00Z"), LORD_HOWE, MONDAY).length_ms == 24 * HOUR + HOUR // 2


def test_an_instant_belongs_to_its_local_day_not_its_utc_day() -> None:
    # 03:30 UTC on 9 March is still 8 March, 23:30 EDT, in New York
    period = period_containing("daily", ms("2026-03-09T03:30:00Z"), NY, MONDAY)
    assert period.first_day == date(2026, 3, 8)
    period = period_containing("daily", ms("2026-03-09T04:00:00Z"), NY, MONDAY)
    assert period.first_day == date(2026, 3, 9)


def test_weeks_containing_a_dst_change_are_an_hour_short_or_long() -> None:
    week = period_containing("weekly", ms("2026-03-29T12:00:00Z"), BERLIN, MONDAY)  # Berlin springs forward
    assert (week.first_day, week.next_day) == (date(2026, 3, 23), date(2026, 3, 30))
    assert (iso(week.start_ms), iso(week.end_ms)) == ("2026-03-22T23:00:00Z", "2026-03-29T22:00:00Z")
    assert week.length_ms == 7 * 24 * HOUR - HOUR
    week = period_containing("weekly", ms("2026-10-25T12:00:00Z"), BERLIN, MONDAY)  # and falls back
    assert week.length_ms == 7 * 24 * HOUR + HOUR


@pytest.mark.parametrize(("start_of_week", "first"), [
    (MONDAY, date(2026, 3, 9)), (SUNDAY, date(2026, 3, 8)), (SATURDAY, date(2026, 3, 14)), (2, date(2026, 3, 11)),
])
def test_week_start_is_configurable(start_of_week: int, first: date) -> None:
    # Saturday 14 March 2026, noon in New York
    week = period_containing("weekly", ms("2026-03-14T16:00:00Z"), NY, start_of_week)
    assert week.first_day == first and week.next_day == first + timedelta(days=7)
    assert week.first_day.weekday() == start_of_week


@pytest.mark.parametrize(("day", "first", "next_day", "days"), [
    (date(2026, 1, 31), date(2026, 1, 1), date(2026, 2, 1), 31),
    (date(2026, 2, 28), date(2026, 2, 1), date(2026, 3, 1), 28),
    (date(2028, 2, 29), date(2028, 2, 1), date(2028, 3, 1), 29),  # leap year
    (date(2026, 4, 30), date(2026, 4, 1), date(2026, 5, 1), 30),
    (date(2026, 12, 31), date(2026, 12, 1), date(2027, 1, 1), 31),  # year end
])
def test_months_end_on_their_own_last_day(day: date, first: date, next_day: date, days: int) -> None:
    month = period_of_date("monthly", day, NY, MONDAY)
    assert (month.first_day, month.next_day, month.last_day) == (first, next_day, next_day - timedelta(days=1))
    assert round(month.length_ms / (24 * HOUR)) == days


def test_month_bounds_follow_dst_and_the_last_instant_of_a_month_stays_in_it() -> None:
    march = period_of_date("monthly", date(2026, 3, 15), NY, MONDAY)  # contains the spring change
    assert march.length_ms == 31 * 24 * HOUR - HOUR
    assert iso(march.end_ms) == "2026-04-01T04:00:00Z"
    assert period_containing("monthly", march.end_ms - 1, NY, MONDAY).first_day == date(2026, 3, 1)
    assert period_containing("monthly", march.end_ms, NY, MONDAY).first_day == date(2026, 4, 1)
    december = period_containing("monthly", ms("2027-01-01T04:59:59Z"), NY, MONDAY)  # 23:59:59 on 31 Dec
    assert december.first_day == date(2026, 12, 1)


def test_a_midnight_skipped_by_dst_starts_the_day_at_the_change() -> None:
    # Havana springs forward at midnight: 8 March 2026 starts at 01:00 local
    havana = ZoneInfo("America/Havana")
    day = period_of_date("daily", date(2026, 3, 8), havana, MONDAY)
    assert datetime.fromtimestamp(day.start_ms / 1000, havana).strftime("%H:%M") == "01:00"
    assert day.length_ms == 23 * HOUR


@settings(max_examples=300, deadline=None)
@given(st.integers(ms("2020-01-01T00:00:00Z"), ms("2032-12-31T00:00:00Z")),
       st.sampled_from(["daily", "weekly", "monthly"]),
       st.sampled_from(["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC",
                        "America/Havana", "Pacific/Chatham"]),
       st.integers(0, 6))
def test_periods_tile_time_and_contain_their_instant(now: int, kind: str, zone: str, start_of_week: int) -> None:
    tz = ZoneInfo(zone)
    period = period_containing(kind, now, tz, start_of_week)  # type: ignore[arg-type]
    assert period.start_ms <= now < period.end_ms
    assert period.start_ms % (15 * 60_000) == 0 and period.end_ms % (15 * 60_000) == 0  # rollup slot bounds
    assert local_date(period.start_ms, tz) == period.first_day
    assert local_date(period.end_ms - 1, tz) == period.last_day
    assert local_date(period.end_ms, tz) == period.next_day
    following = period_containing(kind, period.end_ms, tz, start_of_week)  # type: ignore[arg-type]
    assert following.start_ms == period.end_ms


@pytest.mark.parametrize(("locale_name", "weekday"), [
    ("en_US.UTF-8", SUNDAY), ("de_DE.UTF-8", MONDAY), ("en_GB", MONDAY), ("ar_EG.UTF-8", SATURDAY),
    ("pt_BR.UTF-8", SUNDAY), ("C.UTF-8", MONDAY), ("fr_FR@euro", MONDAY),
])
def test_week_starts_on_the_locale_day_unless_configured(monkeypatch: pytest.MonkeyPatch, tmp_path,
                                                         locale_name: str, weekday: int) -> None:
    monkeypatch.setenv("DEVHELION_HOME", str(tmp_path))
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.setenv("LC_TIME", locale_name)
    assert first_weekday_of_territory(locale_territory()) == weekday
    assert budget_start_of_week() == weekday
    (tmp_path / "config.json").write_bytes(orjson.dumps({"start_of_week": "wednesday"}))
    assert budget_start_of_week() == 2
    (tmp_path / "config.json").write_bytes(orjson.dumps({"timezone": "UTC"}))  # not set: the locale again
    assert budget_start_of_week() == weekday
