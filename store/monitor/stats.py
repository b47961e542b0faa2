"""Dashboard statistics: a period's figures next to all-time totals (``/api/stats``) and a daily series.

Usage is attributed to each request's time and priced with the report rules, so the same range gives the
same tokens and dollars as ``devhelion report``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from peewee import Database

from store.monitor.days import days_scope, end_date, last_days
from store.monitor.figures import Activity, activity, day_sessions, total_activity
from store.monitor.fmt import iso, usage_json
from store.monitor.params import ACTIVE_WINDOW_MS, Scope
from store.monitor.session_counts import count_sessions
from store.monitor.sessions import now_ms
from store.monitor.usage import KeyUsage, price_rows, rekey_rows, scope_rows
from store.pricing import PriceTable
from store.reports.usage import Usage
from store.timezones import local_date, local_day_start_utc_ms


def period_figures(db: Database, prices: PriceTable, scope: Scope, dated: bool = True) -> dict[str, Any]:
    """Sessions active, lines, tool calls and priced usage of the scope (all time when not ``dated``)."""
    scope = scope if dated else Scope(scope.tz, project=scope.project, model=scope.model, search=scope.search)
    counts = total_activity(db, scope)
    usage = (price_rows(rekey_rows(scope_rows(db, scope), lambda _: None), prices).get(None) or KeyUsage()).total
    return {
        "sessions": count_sessions(db, scope),
        "messages": counts.messages, "tool_calls": counts.tool_calls, "tool_errors": counts.tool_errors,
        **usage_json(usage),
    }


def summary(db: Database, prices: PriceTable, scope: Scope, now: int | None = None) -> dict[str, Any]:
    """The filtered range (or today, local), all-time totals for the same project, and active sessions."""
    now = now_ms() if now is None else now
    base = Scope(scope.tz, project=scope.project)
    if scope.dated:
        period, label = Scope(scope.tz, scope.start_ms, scope.end_ms, scope.project), "range"
    else:
        today = local_date(now, scope.tz)
        start = local_day_start_utc_ms(today, scope.tz)
        end = local_day_start_utc_ms(today + timedelta(days=1), scope.tz)
        period, label = Scope(scope.tz, start, end, scope.project), "today"
    return {
        "period_label": label, "timezone": str(scope.tz),
        "period": {"from": iso(period.start_ms), "to": iso(period.end_ms), **period_figures(db, prices, period)},
        "total": period_figures(db, prices, base, dated=False),
        "active_sessions": count_sessions(db, base, dated=False, active_since=now - ACTIVE_WINDOW_MS),
    }


def daily(db: Database, prices: PriceTable, scope: Scope, days: int, now: int | None = None) -> dict[str, Any]:
    """One row per local day, zero-filled: the ``days`` days ending today, or ending at ``to`` when given;
    ``from`` trims the start."""
    now = now_ms() if now is None else now
    dates = last_days(scope.tz, days, now, until=end_date(scope))
    if scope.start_ms is not None:
        first = local_date(scope.start_ms, scope.tz)
        dates = [d for d in dates if d >= first]
        if not dates:  # `from` after today
            return {"timezone": str(scope.tz), "days": [], "unpriced_models": []}
    rng = days_scope(scope, dates)
    usage = price_rows(rekey_rows(scope_rows(db, rng, by_day=True), date.isoformat), prices)
    sessions = {day.isoformat(): n for day, n in day_sessions(db, rng).items()}
    counts = {day.isoformat(): a for day, a in activity(db, rng, by_day=True).items()}
    result = []
    unpriced: set[str] = set()
    for d in dates:
        key = d.isoformat()
        day_usage = usage[key].total if key in usage else Usage()
        unpriced |= day_usage.unpriced
        day = counts.get(key) or Activity()
        result.append({"date": key, "sessions": sessions.get(key, 0), "messages": day.messages,
                       "tool_calls": day.tool_calls, "tool_errors": day.tool_errors, **usage_json(day_usage)})
    return {"timezone": str(rng.tz), "days": result, "unpriced_models": sorted(unpriced)}
