"""Dashboard statistics: a period's figures next to all-time totals (``/api/stats``) and a daily series.

Usage is attributed to each request's time and priced with the report rules, so the same range gives the
same tokens and dollars as ``devhelion report``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from peewee import Database

from store.monitor.days import SLOT_SQL, day_key, days_scope, end_date, last_days
from store.monitor.fmt import iso, usage_json
from store.monitor.params import ACTIVE_WINDOW_MS, Scope
from store.monitor.sessions import now_ms
from store.monitor.sql import messages_where, requests_where, sessions_where, tool_calls_where
from store.monitor.usage import grouped_rows, price_rows, rekey_rows, total_usage
from store.pricing import PriceTable
from store.reports.usage import Usage
from store.timezones import local_date, local_day_start_utc_ms


def _count(db: Database, table: str, where: Any) -> int:
    return db.execute_sql(f"SELECT count(*) FROM {table}{where.sql}", where.params).fetchone()[0]


def period_figures(db: Database, prices: PriceTable, scope: Scope, dated: bool = True) -> dict[str, Any]:
    """Sessions active, lines, tool calls and priced usage of the scope (all time when not ``dated``)."""
    tools = tool_calls_where(scope, dated)
    calls, errors = db.execute_sql(
        f"SELECT count(*), coalesce(sum(t.status = 'error'), 0) FROM tool_call t{tools.sql}", tools.params).fetchone()
    usage = total_usage(db, prices, requests_where(scope, dated)).total
    return {
        "sessions": _count(db, "session s", sessions_where(scope, dated)),
        "messages": _count(db, "message m", messages_where(scope, dated)),
        "tool_calls": calls, "tool_errors": errors, **usage_json(usage),
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
    active = sessions_where(base, dated=False).add("s.last_ts_ms >= ?", now - ACTIVE_WINDOW_MS)
    return {
        "period_label": label, "timezone": str(scope.tz),
        "period": {"from": iso(period.start_ms), "to": iso(period.end_ms), **period_figures(db, prices, period)},
        "total": period_figures(db, prices, base, dated=False),
        "active_sessions": _count(db, "session s", active),
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
    tz = rng.tz
    rows = rekey_rows(grouped_rows(db, requests_where(rng), f"r.ts_ms {SLOT_SQL}"), lambda s: day_key(s, tz))
    usage = price_rows(rows, prices)
    requests = requests_where(rng)
    sessions: dict[str, set[str]] = defaultdict(set)
    for slot, sid in db.execute_sql(f"SELECT DISTINCT r.ts_ms {SLOT_SQL}, r.session_id FROM api_request r"
                                    f"{requests.sql}", requests.params).fetchall():
        sessions[day_key(slot, tz)].add(sid)
    messages: dict[str, int] = defaultdict(int)
    where = messages_where(rng)
    for slot, n in db.execute_sql(f"SELECT m.ts_ms {SLOT_SQL}, count(*) FROM message m{where.sql} GROUP BY 1",
                                  where.params).fetchall():
        messages[day_key(slot, tz)] += n
    tools: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    where = tool_calls_where(rng)
    for slot, n, errors in db.execute_sql(
            f"SELECT t.call_ts_ms {SLOT_SQL}, count(*), sum(t.status = 'error') FROM tool_call t{where.sql} "
            "GROUP BY 1", where.params).fetchall():
        acc = tools[day_key(slot, tz)]
        acc[0] += n
        acc[1] += errors
    result = []
    unpriced: set[str] = set()
    for d in dates:
        key = d.isoformat()
        day_usage = usage[key].total if key in usage else Usage()
        unpriced |= day_usage.unpriced
        result.append({"date": key, "sessions": len(sessions.get(key, ())), "messages": messages.get(key, 0),
                       "tool_calls": tools[key][0] if key in tools else 0,
                       "tool_errors": tools[key][1] if key in tools else 0, **usage_json(day_usage)})
    return {"timezone": str(tz), "days": result, "unpriced_models": sorted(unpriced)}
