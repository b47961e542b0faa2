"""A model seen in the logs that has no price: its usage is reported as unpriced (never as $0) until the user adds
a price or an alias. One insight per model, ever."""

from __future__ import annotations

from store.insights.base import Context, Finding
from store.pricing import is_synthetic
from store.timezones import SLOT_MS, local_date

RULE = "unpriced_model"


def evaluate(ctx: Context) -> list[Finding]:
    rows = ctx.conn.execute(
        "SELECT model, sum(requests), sum(input_tokens + output_tokens + cache_write_5m + cache_write_1h + "
        "cache_read), min(slot) FROM usage_rollup WHERE slot <= ? GROUP BY model ORDER BY model",
        (ctx.now_ms // SLOT_MS,))
    findings = []
    for model, requests, tokens, first_slot in rows:
        if not model or is_synthetic(model) or ctx.prices.price_for(model) is not None:
            continue
        since = local_date(first_slot * SLOT_MS, ctx.tz).isoformat()
        findings.append(Finding(
            RULE, f"model:{model}", "all", f"New model without a price: {model}",
            f"{requests:,} requests to {model} (since {since}) are reported as unpriced. Add its per-million-token "
            "prices under price_overrides in config.json, or map it to a priced model under model_aliases",
            f"{int(tokens):,} tokens unpriced", "tip", "cost",
            {"model": model, "requests": int(requests), "tokens": int(tokens), "first_seen": since}))
    return findings
