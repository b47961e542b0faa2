"""Efficiency figures of a range that the monitor API does not give: compactions per day and the money lost to
prompt caches that expired during idle gaps (the insights rule's measure, over any range and project, for
resumptions within a day of the thread's previous request)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal
from typing import Any

from peewee import Database

from store.dashboard.scope import request_project
from store.monitor.sql import in_project
from store.pricing import PriceTable, TokenCounts, cost_usd
from store.timezones import local_date

TTL_5M_MS = 5 * 60_000
TTL_1H_MS = 60 * 60_000
LOOKBACK_MS = 24 * TTL_1H_MS  # a resumption counts when the thread's previous request is at most a day older

_GAPS = (
    "SELECT model, speed, inference_geo, ts_ms - prev_ts, cache_write_5m, cache_write_1h, prev_cache, ts_ms "
    "FROM (SELECT r.model, r.speed, r.inference_geo, r.ts_ms, r.cache_write_5m, r.cache_write_1h, "
    "lag(r.ts_ms) OVER thread AS prev_ts, lag(r.cache_read + r.cache_write_5m + r.cache_write_1h) OVER thread "
    "AS prev_cache FROM api_request r WHERE r.ts_ms >= ? AND r.ts_ms < ? AND r.model IS NOT NULL AND {project} "
    "WINDOW thread AS (PARTITION BY r.session_id, coalesce(r.agent_id, '') ORDER BY r.ts_ms, r.request_key)) "
    f"WHERE ts_ms >= ? AND prev_ts IS NOT NULL AND prev_cache > 0 AND ts_ms - prev_ts <= {LOOKBACK_MS} AND "
    f"((ts_ms - prev_ts > {TTL_5M_MS} AND cache_write_5m > 0) OR (ts_ms - prev_ts > {TTL_1H_MS} AND "
    "cache_write_1h > 0))"
)


@dataclass(frozen=True, slots=True)
class DayWaste:
    waste_usd: Decimal = Decimal(0)
    rewritten_tokens: int = 0
    times: int = 0


@dataclass(frozen=True, slots=True)
class ExpiryWaste:
    waste_usd: Decimal
    rewritten_tokens: int
    times: int
    by_day: dict[str, Decimal]

    @classmethod
    def of_days(cls, days: dict[str, DayWaste]) -> ExpiryWaste:
        """The total of some days' waste (``expiry_waste_days`` answers, for any whole local days)."""
        ordered = sorted(days.items())
        return cls(sum((d.waste_usd for _, d in ordered), Decimal(0)), sum(d.rewritten_tokens for _, d in ordered),
                   sum(d.times for _, d in ordered), {day: d.waste_usd for day, d in ordered if d.times})


def expiry_waste_days(db: Database, prices: PriceTable, tz: tzinfo, start_ms: int, end_ms: int,
                      project: str | None = None) -> dict[str, DayWaste]:
    """Cache writes repeated because a thread resumed after its cache expired (and within a day of its previous
    request), per local day of the resuming request in ``[start_ms, end_ms)``: the write cost above what reading
    a warm cache would have cost (re-written tokens capped at what the thread had cached).

    A day's answer does not depend on the span asked for (the look-back covers the one-day limit), so answers
    for adjacent spans add up to the answer for their union."""
    condition, params = request_project(project)
    acc: dict[str, list[Any]] = defaultdict(lambda: [Decimal(0), 0, 0])
    rows = db.execute_sql(_GAPS.format(project=condition), [start_ms - LOOKBACK_MS, end_ms, *params, start_ms])
    for model, speed, geo, gap, cw5, cw1, cached, ts in rows.fetchall():
        five = min(cw5, cached) if gap > TTL_5M_MS else 0
        hour = min(cw1, cached - five) if gap > TTL_1H_MS else 0
        if five + hour == 0:
            continue
        written = cost_usd(prices, model, TokenCounts(cache_write_5m=five, cache_write_1h=hour), speed=speed,
                           inference_geo=geo)
        read = cost_usd(prices, model, TokenCounts(cache_read=five + hour), speed=speed, inference_geo=geo)
        if written is None or read is None:
            continue
        day = acc[local_date(ts, tz).isoformat()]
        day[0] += written - read
        day[1] += five + hour
        day[2] += 1
    return {day: DayWaste(*values) for day, values in acc.items()}


def cache_expiry_waste(db: Database, prices: PriceTable, tz: tzinfo, start_ms: int, end_ms: int,
                       project: str | None = None) -> ExpiryWaste:
    """The cache-expiry waste of ``[start_ms, end_ms)`` (see ``expiry_waste_days``)."""
    return ExpiryWaste.of_days(expiry_waste_days(db, prices, tz, start_ms, end_ms, project))


def compactions(db: Database, tz: tzinfo, start_ms: int | None, end_ms: int | None, project: str | None = None,
                limit: int = 50) -> dict[str, Any]:
    """Compactions in the range: count per local day and kind, and the latest ones with their sessions."""
    where, params = ["1"], []
    if start_ms is not None:
        where.append("c.ts_ms >= ?")
        params.append(start_ms)
    if end_ms is not None:
        where.append("c.ts_ms < ?")
        params.append(end_ms)
    if project:
        condition, extra = in_project("c.session_id", project)
        where.append(condition)
        params.extend(extra)
    clause = " AND ".join(where)
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    total = 0
    saved = 0
    for ts, kind, pre, post in db.execute_sql(
            f"SELECT c.ts_ms, c.kind, c.pre_tokens, c.post_tokens FROM compaction c WHERE {clause} "
            "AND c.ts_ms IS NOT NULL", params).fetchall():
        per_day[local_date(ts, tz).isoformat()][kind or "compact"] += 1
        total += 1
        if pre is not None and post is not None:
            saved += max(0, pre - post)
    latest = db.execute_sql(
        f"SELECT c.session_id, c.ts_ms, c.kind, c.trigger, c.pre_tokens, c.post_tokens FROM compaction c "
        f"WHERE {clause} ORDER BY c.ts_ms DESC LIMIT ?", [*params, limit]).fetchall()
    return {"total": total, "tokens_removed": saved,
            "per_day": {day: dict(kinds) for day, kinds in sorted(per_day.items())},
            "latest": [{"session_id": sid, "ts_ms": ts, "kind": kind, "trigger": trigger, "pre_tokens": pre,
                        "post_tokens": post} for sid, ts, kind, trigger, pre, post in latest]}
