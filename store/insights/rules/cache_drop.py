"""Cache hit rate drop: the share of prompt tokens read from cache over the last 7 days against the 4 weeks
before. A drop of 15 points or more on real volume (100k prompt tokens each side) means prompts are being
re-sent or re-written at full price. One insight per week."""

from __future__ import annotations

from store.insights.base import Context, Finding, percent
from store.timezones import SLOT_MS

RULE = "cache_hit_drop"
RECENT_DAYS = 7
BASELINE_DAYS = 28
DROP = 0.15
MIN_PROMPT_TOKENS = 100_000


def hit_rate(ctx: Context, start_ms: int, end_ms: int) -> tuple[float, int]:
    """(cache reads / prompt tokens, prompt tokens) over whole rollup slots in [start, end)."""
    reads, prompt = ctx.conn.execute(
        "SELECT coalesce(sum(cache_read), 0), coalesce(sum(input_tokens + cache_write_5m + cache_write_1h + "
        "cache_read), 0) FROM usage_rollup WHERE slot >= ? AND slot < ?",
        (start_ms // SLOT_MS, end_ms // SLOT_MS)).fetchone()
    return (reads / prompt if prompt else 0.0), int(prompt)


def evaluate(ctx: Context) -> list[Finding]:
    split = ctx.days_ago(RECENT_DAYS)
    recent, recent_volume = hit_rate(ctx, split, ctx.now_ms + SLOT_MS)
    base, base_volume = hit_rate(ctx, ctx.days_ago(RECENT_DAYS + BASELINE_DAYS), split)
    if min(recent_volume, base_volume) < MIN_PROMPT_TOKENS or base - recent < DROP:
        return []
    return [Finding(
        RULE, "cache_hit_rate", ctx.week, "Cache hit rate dropped",
        f"Only {percent(recent)} of your prompt tokens were read from cache over the last {RECENT_DAYS} days, down "
        f"from {percent(base)} in the 4 weeks before: more of each prompt is sent or cached again at full price",
        percent(recent), "trend", "performance",
        {"recent_hit_rate": round(recent, 4), "baseline_hit_rate": round(base, 4),
         "recent_prompt_tokens": recent_volume, "baseline_prompt_tokens": base_volume})]
