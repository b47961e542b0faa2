"""Cache-expiry waste of the last 7 days (``store.cache_expiry`` defines it): one insight per week, from $0.50."""

from __future__ import annotations

from decimal import Decimal

from store.cache_expiry import cache_expiry_waste
from store.insights.base import Context, Finding, money

RULE = "cache_expiry"
WINDOW_DAYS = 7
MIN_WASTE = Decimal("0.50")


def evaluate(ctx: Context) -> list[Finding]:
    waste = cache_expiry_waste(ctx.conn, ctx.prices, ctx.tz, ctx.days_ago(WINDOW_DAYS), ctx.now_ms + 1)
    if waste.waste_usd < MIN_WASTE:
        return []
    return [Finding(
        RULE, "cache_ttl", ctx.week, "Cache expired during idle gaps",
        f"{waste.times} times in the last {WINDOW_DAYS} days a conversation resumed after its prompt cache had "
        f"expired (idle for more than 5 minutes, or an hour for 1-hour caches) and wrote "
        f"{waste.rewritten_tokens:,} tokens to the cache again; reading them from a warm cache would have cost "
        f"{money(waste.waste_usd)} less",
        money(waste.waste_usd), "tip", "cost",
        {"times": waste.times, "rewritten_tokens": waste.rewritten_tokens,
         "waste_usd": str(waste.waste_usd.quantize(Decimal("0.000001")))})]
