"""Overview, daily usage, model and tool distributions for a time range.

Usage is attributed to the time of each API request (as in ``devhelion report``); a session belongs to a range
when its activity (first to last line) overlaps it, and to the local day it started on in the daily rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, tzinfo
from typing import Any

from peewee import Database

from store.analytics.range import TimeRange, iso
from store.analytics.usage import KeyUsage, day_groups, price_rows, range_usage
from store.monitor.figures import tool_counts
from store.monitor.params import Scope
from store.monitor.rollups import day_date, plan
from store.pricing import PriceTable
from store.reports.ccusage_json import money
from store.reports.usage import Usage
from store.timezones import SLOT_MS, slot_local_date

TOP_MODELS = 5


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0


def _seconds(ms: float | None) -> float:
    return round((ms or 0) / 1000, 1)


def sessions_in_range(db: Database, rng: TimeRange) -> tuple[int, float]:
    """Number of sessions active in the range and their mean duration in seconds."""
    where, params = rng.overlaps("first_ts_ms", "last_ts_ms")
    sql = "SELECT count(*), avg(last_ts_ms - first_ts_ms) FROM session"
    if where:
        sql += " WHERE " + " AND ".join(where)
    count, avg_ms = db.execute_sql(sql, params).fetchone()
    return count, _seconds(avg_ms)


def model_distribution(db: Database, prices: PriceTable, rng: TimeRange,
                       totals: KeyUsage | None = None) -> list[dict[str, Any]]:
    """Requests, tokens and cost per model (fast mode shown as ``<model>-fast``), most requests first."""
    totals = totals or range_usage(db, prices, rng)
    if totals is None:
        return []
    rows = [
        {"model": name, "count": u.requests, "percentage": _percent(u.requests, totals.total.requests),
         "totalCost": money(u.cost), "totalTokens": u.total_tokens, "inputTokens": u.input_tokens,
         "outputTokens": u.output_tokens, "priced": not u.unpriced}
        for name, u in totals.models.items()
    ]
    return sorted(rows, key=lambda r: (-r["count"], r["model"]))


def overview(db: Database, prices: PriceTable, rng: TimeRange) -> dict[str, Any]:
    """Headline figures for the range; token and cost totals equal ``devhelion report``'s for the same range."""
    entry = range_usage(db, prices, rng)
    total = entry.total if entry else Usage()
    sessions, avg_duration = sessions_in_range(db, rng)
    distribution = model_distribution(db, prices, rng, entry) if entry else []
    return {
        "totalSessions": sessions,
        "totalCost": money(total.cost),
        "totalTokens": total.total_tokens,
        "inputTokens": total.input_tokens,
        "outputTokens": total.output_tokens,
        "cacheCreationTokens": total.cache_creation_tokens,
        "cacheReadTokens": total.cache_read,
        "totalRequests": total.requests,
        "avgSessionDuration": avg_duration,
        "topModels": [{k: row[k] for k in ("model", "count", "percentage")} for row in distribution[:TOP_MODELS]],
        "unpricedModels": sorted(total.unpriced),
        "dateRange": _date_range(db, rng),
    }


def _date_range(db: Database, rng: TimeRange) -> dict[str, str | None]:
    """The requested bounds, or where the data starts and ends when a side is open."""
    first, last = rng.start_ms, None if rng.end_ms is None else rng.end_ms - 1
    where, params = rng.where("ts_ms")
    scope = "FROM api_request" + (" WHERE " + " AND ".join(where) if where else "")
    if first is None:  # min() and max() in separate queries: each is then a single index lookup
        first = db.execute_sql(f"SELECT min(ts_ms) {scope}", params).fetchone()[0]
    if last is None:
        last = db.execute_sql(f"SELECT max(ts_ms) {scope}", params).fetchone()[0]
    return {"from": iso(first), "to": iso(last)}


def daily_usage(db: Database, prices: PriceTable, rng: TimeRange, tz: tzinfo) -> list[dict[str, Any]]:
    """One row per local day with usage, oldest first; ``sessions`` counts the sessions started that day."""
    days = price_rows(day_groups(db, rng, tz), prices)
    started = _sessions_started(db, rng, tz)
    rows = []
    for day in sorted(days):
        u = days[day].total
        count, avg_ms = started.get(day, (0, None))
        rows.append({
            "date": day.isoformat(),
            "sessions": count,
            "inputTokens": u.input_tokens,
            "outputTokens": u.output_tokens,
            "cacheCreationTokens": u.cache_creation_tokens,
            "cacheReadTokens": u.cache_read,
            "totalTokens": u.total_tokens,
            "requests": u.requests,
            "cost": money(u.cost),
            "avgDuration": _seconds(avg_ms),
        })
    return rows


def _sessions_started(db: Database, rng: TimeRange, tz: tzinfo) -> dict[Any, tuple[int, float | None]]:
    """Local day -> (sessions that started in the range that day, their mean duration in ms)."""
    scope = Scope(tz, rng.start_ms, rng.end_ms)
    p = plan(db, scope, by_day=True)
    sums: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0])
    rows: list[tuple] = []
    if p.whole:
        rows += [(day_date(day), *counts) for day, *counts in db.execute_sql(
            "SELECT day, sum(sessions), sum(duration_sum), sum(durations) FROM session_start_day "
            "WHERE day BETWEEN ? AND ? GROUP BY 1", [p.lo, p.hi]).fetchall()]
    for edge in p.edges:
        where, params = TimeRange(edge.start_ms, edge.end_ms).where("first_ts_ms")
        clause = "".join(f" AND {w}" for w in where)
        rows += [(slot_local_date(slot, tz), *counts) for slot, *counts in db.execute_sql(
            f"SELECT first_ts_ms / {SLOT_MS}, count(*), coalesce(sum(last_ts_ms - first_ts_ms), 0), "
            f"count(last_ts_ms - first_ts_ms) FROM session WHERE first_ts_ms IS NOT NULL{clause} GROUP BY 1",
            params).fetchall()]
    for day, n, total, durations in rows:
        acc = sums[day]
        acc[0] += n
        acc[1] += total
        acc[2] += durations
    return {day: (n, total / durations if durations else None) for day, (n, total, durations) in sums.items() if n}


def tool_usage(db: Database, rng: TimeRange) -> list[dict[str, Any]]:
    """Tool calls per tool name in the range (by call time), most used first."""
    calls: dict[str, int] = defaultdict(int)
    for (name, _, _), counts in tool_counts(db, Scope(UTC, rng.start_ms, rng.end_ms)).items():
        if name is not None:
            calls[name] += counts.calls
    whole = sum(calls.values())
    rows = [{"tool": name, "count": n, "percentage": _percent(n, whole)} for name, n in calls.items() if n]
    return sorted(rows, key=lambda r: (-r["count"], r["tool"]))
