"""Budget periods in the user's zone: the local day, week or month containing an instant, as UTC milliseconds.

Bounds are local midnights (``store.timezones``), so a DST day lasts 23 or 25 hours and a month ends on its own
last day; local midnights fall on 15-minute slot boundaries, so the usage rollup prices a period exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from typing import Literal

from store.timezones import local_date, local_day_start_utc_ms, period_first_and_next

BudgetPeriod = Literal["daily", "weekly", "monthly"]
PERIODS: tuple[BudgetPeriod, ...] = ("daily", "weekly", "monthly")


@dataclass(frozen=True, slots=True)
class Period:
    kind: BudgetPeriod
    first_day: date  # first local date of the period
    next_day: date  # first local date after it
    start_ms: int
    end_ms: int  # exclusive

    @property
    def key(self) -> str:
        """Identifies the period for alert bookkeeping (one notification per budget, level and period)."""
        return f"{self.kind}:{self.first_day.isoformat()}"

    @property
    def last_day(self) -> date:
        return self.next_day - timedelta(days=1)

    @property
    def length_ms(self) -> int:
        return self.end_ms - self.start_ms

    def elapsed_ms(self, now_ms: int) -> int:
        return min(max(now_ms - self.start_ms, 0), self.length_ms)


_BOUNDS_KIND = {"daily": "day", "weekly": "week", "monthly": "month"}


def period_of_date(kind: BudgetPeriod, d: date, tz: tzinfo, start_of_week: int) -> Period:
    if kind not in _BOUNDS_KIND:
        raise ValueError(f"unknown budget period {kind!r}")
    first, nxt = period_first_and_next(_BOUNDS_KIND[kind], d, start_of_week)
    return Period(kind, first, nxt, local_day_start_utc_ms(first, tz), local_day_start_utc_ms(nxt, tz))


def period_containing(kind: BudgetPeriod, now_ms: int, tz: tzinfo, start_of_week: int) -> Period:
    """The period of ``kind`` that contains the instant ``now_ms`` in zone ``tz``."""
    return period_of_date(kind, local_date(now_ms, tz), tz, start_of_week)
