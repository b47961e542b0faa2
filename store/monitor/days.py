"""Local calendar days for day-bucketed statistics: the last N days in the user's zone, and slot mapping.

Queries group by 15-minute UTC slot (``ts_ms / SLOT_MS``) and map slots to local dates, exactly as the
reports do, so a day here is the same day as in ``devhelion report daily``.
"""

from __future__ import annotations

from datetime import date, timedelta, tzinfo

from store.monitor.params import Scope
from store.timezones import SLOT_MS, local_date, local_day_start_utc_ms

SLOT_SQL = f"/ {SLOT_MS}"


def last_days(tz: tzinfo, days: int, now_ms: int, until: date | None = None) -> list[date]:
    """``days`` local dates ending today (or ``until``), oldest first."""
    last = until or local_date(now_ms, tz)
    return [last - timedelta(days=i) for i in range(days - 1, -1, -1)]


def days_scope(scope: Scope, dates: list[date]) -> Scope:
    """``scope`` narrowed to the whole local days ``dates[0] .. dates[-1]``."""
    start = local_day_start_utc_ms(dates[0], scope.tz)
    end = local_day_start_utc_ms(dates[-1] + timedelta(days=1), scope.tz)
    return Scope(scope.tz, start, end, scope.project, scope.model, scope.search)


def end_date(scope: Scope) -> date | None:
    """The local date of the last instant of the scope's range (``None`` when it is open-ended)."""
    return local_date(scope.end_ms - 1, scope.tz) if scope.end_ms is not None else None
