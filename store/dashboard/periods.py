"""Usage between two instants, and today / this week / this month against the same stretch of the period before.

Whole 15-minute slots come from ``usage_rollup``; only the partial slots at the two ends are summed from the
requests, so "this month until now" costs a few thousand rollup rows however large the archive is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from typing import Any

from peewee import Database

from store.dashboard.scope import request_project, rollup_project
from store.pricing import LONG_CONTEXT_THRESHOLD, PriceTable, is_synthetic
from store.reports.usage import Usage, price_group
from store.timezones import SLOT_MS, local_date, local_day_start_utc_ms, week_start

_ROLLUP_SUMS = ("u.model, nullif(u.speed, ''), nullif(u.geo, ''), u.long_context, sum(u.input_tokens), "
                "sum(u.output_tokens), sum(u.cache_write_5m), sum(u.cache_write_1h), sum(u.cache_read), "
                "sum(u.web_search_requests), sum(u.requests)")
_REQUEST_SUMS = ("r.model, r.speed, r.inference_geo, "
                 f"(r.input_tokens + r.cache_write_5m + r.cache_write_1h + r.cache_read > {LONG_CONTEXT_THRESHOLD}), "
                 "sum(r.input_tokens), sum(r.output_tokens), sum(r.cache_write_5m), sum(r.cache_write_1h), "
                 "sum(r.cache_read), sum(r.web_search_requests), count(*)")


def _rollup_rows(db: Database, lo_slot: int, hi_slot: int, project: str | None) -> list[tuple]:
    condition, params = rollup_project(project)
    return db.execute_sql(f"SELECT {_ROLLUP_SUMS} FROM usage_rollup u WHERE u.slot >= ? AND u.slot < ? "
                          f"AND {condition} GROUP BY 1, 2, 3, 4", [lo_slot, hi_slot, *params]).fetchall()


def _request_rows(db: Database, start_ms: int, end_ms: int, project: str | None) -> list[tuple]:
    if start_ms >= end_ms:
        return []
    condition, params = request_project(project)
    return db.execute_sql(f"SELECT {_REQUEST_SUMS} FROM api_request r WHERE r.model IS NOT NULL AND r.ts_ms >= ? "
                          f"AND r.ts_ms < ? AND {condition} GROUP BY 1, 2, 3, 4",
                          [start_ms, end_ms, *params]).fetchall()


def usage_between(db: Database, prices: PriceTable, start_ms: int, end_ms: int, project: str | None = None) -> Usage:
    """Exact tokens and cost of the requests in ``[start_ms, end_ms)`` (``<synthetic>`` excluded)."""
    lo, hi = -(-start_ms // SLOT_MS), end_ms // SLOT_MS
    if lo < hi:
        rows = [*_rollup_rows(db, lo, hi, project), *_request_rows(db, start_ms, lo * SLOT_MS, project),
                *_request_rows(db, hi * SLOT_MS, end_ms, project)]
    else:
        rows = _request_rows(db, start_ms, end_ms, project)
    total = Usage()
    for model, speed, geo, long_context, *counts in rows:
        if not is_synthetic(model):
            total.add(price_group(prices, model, speed, geo, bool(long_context), tuple(counts)))
    return total


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
