"""Usage between two instants, and today / this week / this month against the same stretch of the period before.

Whole local days come from the day rollups and only the partial days at the two ends from the requests, so "this
month until now" costs a few hundred rollup rows however large the archive is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, timedelta, tzinfo
from typing import Any

from peewee import Database

from store.monitor.params import Scope
from store.monitor.usage import price_rows, scope_rows
from store.pricing import PriceTable
from store.reports.usage import Usage
from store.timezones import local_date, local_day_start_utc_ms, week_start


def usage_between(db: Database, prices: PriceTable, start_ms: int, end_ms: int, project: str | None = None) -> Usage:
    """Exact tokens and cost of the requests in ``[start_ms, end_ms)`` (``<synthetic>`` excluded): whole days from
    the day rollups, the rest from the requests (``scope_rows``; a total needs no particular zone's days)."""
    if start_ms >= end_ms:
        return Usage()
    entry = price_rows(scope_rows(db, Scope(UTC, start_ms, end_ms, project)), prices).get(None)
    return entry.total if entry is not None else Usage()


@dataclass(frozen=True, slots=True)
class PeriodComparison:
    """A period so far (``start_ms`` .. now) and the previous period over the same elapsed time."""

    name: str  # today | week | month
    label: str
    start_ms: int
    now_ms: int
    current: Usage
    previous: Usage
    previous_label: str

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "cost_usd": float(self.current.cost),
                "tokens": self.current.total_tokens, "previous_cost_usd": float(self.previous.cost),
                "previous_tokens": self.previous.total_tokens, "unpriced": sorted(self.current.unpriced)}


def _previous_month_start(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def period_comparisons(db: Database, prices: PriceTable, tz: tzinfo, now_ms: int, start_of_week: int = 0,
                       project: str | None = None) -> list[PeriodComparison]:
    """Today, this week and this month until ``now_ms``, each next to the previous day, week or month until the
    same elapsed time (the previous month is cut at its own end when it is shorter)."""
    today = local_date(now_ms, tz)
    starts = {
        "today": (today, today - timedelta(days=1), "Today", "yesterday"),
        "week": (week_start(today, start_of_week), week_start(today, start_of_week) - timedelta(days=7),
                 "This week", "last week"),
        "month": (today.replace(day=1), _previous_month_start(today.replace(day=1)), "This month", "last month"),
    }
    result = []
    for name, (first, previous_first, label, previous_label) in starts.items():
        start = local_day_start_utc_ms(first, tz)
        previous_start = local_day_start_utc_ms(previous_first, tz)
        previous_end = min(previous_start + (now_ms - start), start)
        result.append(PeriodComparison(
            name, label, start, now_ms, usage_between(db, prices, start, now_ms + 1, project),
            usage_between(db, prices, previous_start, previous_end, project), f"vs {previous_label} at this point"))
    return result
