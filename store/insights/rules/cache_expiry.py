"""Cache-expiry waste: a conversation that resumes after its prompt cache expired writes the cache again.

Within one thread (a session's main conversation or one subagent), a request that follows the previous one by
more than the cache's lifetime (5 minutes, or 1 hour for 1-hour writes) and writes cache again re-pays the write
rate for tokens a warm cache would have served at the read rate. The waste is that difference, in dollars, over
the last 7 days (re-written tokens capped at what the thread had cached). One insight per week, from $0.50.
"""

from __future__ import annotations

from decimal import Decimal

from store.insights.base import Context, Finding, money
from store.pricing import TokenCounts, cost_usd

RULE = "cache_expiry"
WINDOW_DAYS = 7
TTL_5M_MS = 5 * 60_000
TTL_1H_MS = 60 * 60_000
MIN_WASTE = Decimal("0.50")

_GAPS = (
    "SELECT model, coalesce(speed, ''), coalesce(inference_geo, ''), ts_ms - prev_ts, cache_write_5m, "
    "cache_write_1h, prev_cache FROM (SELECT model, speed, inference_geo, ts_ms, cache_write_5m, cache_write_1h, "
    "lag(ts_ms) OVER thread AS prev_ts, "
    "lag(cache_read + cache_write_5m + cache_write_1h) OVER thread AS prev_cache "
    "FROM api_request WHERE ts_ms > ? AND ts_ms <= ? AND model IS NOT NULL "
    "WINDOW thread AS (PARTITION BY session_id, coalesce(agent_id, '') ORDER BY ts_ms, request_key)) "
    f"WHERE ts_ms > ? AND prev_ts IS NOT NULL AND prev_cache > 0 AND ((ts_ms - prev_ts > {TTL_5M_MS} AND "
    f"cache_write_5m > 0) OR (ts_ms - prev_ts > {TTL_1H_MS} AND cache_write_1h > 0))"
)


def evaluate(ctx: Context) -> list[Finding]:
    start = ctx.days_ago(WINDOW_DAYS)
    waste, tokens, times = Decimal(0), 0, 0
    for model, speed, geo, gap, cw5, cw1, cached in ctx.conn.execute(
            _GAPS, (start - TTL_1H_MS * 24, ctx.now_ms, start)):
        five = min(cw5, cached) if gap > TTL_5M_MS else 0
        hour = min(cw1, cached - five) if gap > TTL_1H_MS else 0
        written = cost_usd(ctx.prices, model, TokenCounts(cache_write_5m=five, cache_write_1h=hour),
                           speed=speed or None, inference_geo=geo or None)
        read = cost_usd(ctx.prices, model, TokenCounts(cache_read=five + hour), speed=speed or None,
                        inference_geo=geo or None)
        if written is None or read is None or five + hour == 0:
            continue  # unpriced models are reported by their own rule
        waste += written - read
        tokens += five + hour
        times += 1
    if waste < MIN_WASTE:
        return []
    return [Finding(
        RULE, "cache_ttl", ctx.week, "Cache expired during idle gaps",
        f"{times} times in the last {WINDOW_DAYS} days a conversation resumed after its prompt cache had expired "
        f"(idle for more than 5 minutes, or an hour for 1-hour caches) and wrote {tokens:,} tokens to the cache "
        f"again; reading them from a warm cache would have cost {money(waste)} less",
        money(waste), "tip", "cost",
        {"times": times, "rewritten_tokens": tokens, "waste_usd": str(waste.quantize(Decimal("0.000001")))})]
