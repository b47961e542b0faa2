"""Cache-expiry waste: a conversation that resumes after its prompt cache expired writes the cache again.

Within one thread (a session's main conversation or one subagent), a request that follows the previous one by
more than the cache's lifetime (5 minutes, or 1 hour for 1-hour writes), and by at most a day, and writes cache
again re-pays the write rate for tokens a warm cache would have served at the read rate. The waste is that
difference in dollars (re-written tokens capped at what the thread had cached). The one definition behind the
insight and the dashboard's Efficiency page, so the two always show the same figure for the same days.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import tzinfo
from decimal import Decimal
from typing import Any

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


def expiry_waste_days(conn: sqlite3.Connection, prices: PriceTable, tz: tzinfo, start_ms: int, end_ms: int,
                      project: str | None = None) -> dict[str, DayWaste]:
    """Cache writes repeated because a thread resumed after its cache expired (and within a day of its previous
    request), per local day of the resuming request in ``[start_ms, end_ms)``: the write cost above what reading
    a warm cache would have cost (re-written tokens capped at what the thread had cached).

    A day's answer does not depend on the span asked for (the look-back covers the one-day limit), so answers
    for adjacent spans add up to the answer for their union."""
    condition, params = _of_project(project)
    acc: dict[str, list[Any]] = defaultdict(lambda: [Decimal(0), 0, 0])
    rows = conn.execute(_GAPS.format(project=condition), [start_ms - LOOKBACK_MS, end_ms, *params, start_ms])
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


def cache_expiry_waste(conn: sqlite3.Connection, prices: PriceTable, tz: tzinfo, start_ms: int, end_ms: int,
                       project: str | None = None) -> ExpiryWaste:
    """The cache-expiry waste of ``[start_ms, end_ms)`` (see ``expiry_waste_days``)."""
    return ExpiryWaste.of_days(expiry_waste_days(conn, prices, tz, start_ms, end_ms, project))


def _of_project(project: str | None) -> tuple[str, list[Any]]:
    """Requests (``api_request r``) of a project's sessions ("1" for none). The unary ``+`` keeps SQLite on the
    time index: a day's look-back is a short span, and walking every request of the project's sessions through
    the session_id index instead would take seconds on a big archive."""
    if not project:
        return "1", []
    condition, params = in_project("r.session_id", project)
    return "+" + condition, params
