"""Token efficiency (``/api/stats/token-efficiency``): cache hit rate, tokens per message and per tool call,
and what prompt caching saved in dollars, priced per model.

Cache hit rate is cache reads over all prompt tokens (input + cache writes + cache reads). Savings are priced
with each request's own model, speed, geography and long-context rates: ``read_savings`` is what the cache
reads would have cost as plain input minus what they cost; ``write_premium`` is what cache writes cost above
plain input; ``net_savings`` is the difference (the bill without caching minus the actual bill).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from peewee import Database

from store.monitor.figures import total_activity
from store.monitor.fmt import money, rate, usage_json
from store.monitor.params import Scope
from store.monitor.usage import scope_rows
from store.pricing import PriceTable, TokenCounts, cost_usd, is_synthetic
from store.reports.usage import Usage, display_model, price_group


def cache_savings(prices: PriceTable, model: str, speed: str | None, geo: str | None, long_context: bool,
                  counts: tuple[int, ...]) -> tuple[Decimal, Decimal] | None:
    """``(read_savings, write_premium)`` of one pricing group; None when the model has no price."""
    _, _, cw5, cw1, cr = counts[:5]

    def cost(**tokens: int) -> Decimal:
        return cost_usd(prices, model, TokenCounts(**tokens), speed=speed, inference_geo=geo,
                        long_context=long_context) or Decimal(0)

    if prices.price_for(model) is None:
        return None
    read_savings = cost(input_tokens=cr) - cost(cache_read=cr)
    write_premium = cost(cache_write_5m=cw5, cache_write_1h=cw1) - cost(input_tokens=cw5 + cw1)
    return read_savings, write_premium


def _figures(usage: Usage, read_savings: Decimal, write_premium: Decimal, tool_calls: int | None) -> dict[str, Any]:
    prompt = usage.input_tokens + usage.cache_creation_tokens + usage.cache_read
    figures = {
        "cache_hit_rate": rate(usage.cache_read, prompt),
        "avg_tokens_per_message": rate(usage.total_tokens, usage.requests, 1),
        "avg_output_tokens_per_message": rate(usage.output_tokens, usage.requests, 1),
        "read_savings_usd": money(read_savings), "write_premium_usd": money(write_premium),
        "net_savings_usd": money(read_savings - write_premium), **usage_json(usage),
    }
    if tool_calls is not None:
        figures["tool_calls"] = tool_calls
        figures["avg_tokens_per_tool_call"] = rate(usage.total_tokens, tool_calls, 1)
    return figures


def token_efficiency(db: Database, prices: PriceTable, scope: Scope) -> dict[str, Any]:
    """Overall figures plus the same per model (fast mode as ``<model>-fast``), most expensive first."""
    rows = scope_rows(db, scope)
    by_model: dict[str, Usage] = defaultdict(Usage)
    savings: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for _, model, speed, geo, lc, *counts in rows:
        if is_synthetic(model):
            continue
        name = display_model(model, speed)
        by_model[name].add(price_group(prices, model, speed, geo, bool(lc), tuple(counts)))
        found = cache_savings(prices, model, speed, geo, bool(lc), tuple(counts))
        if found is not None:
            savings[name][0] += found[0]
            savings[name][1] += found[1]
    total, read_total, premium_total = Usage(), Decimal(0), Decimal(0)
    for name, usage in by_model.items():
        total.add(usage)
        read_total += savings[name][0]
        premium_total += savings[name][1]
    calls = total_activity(db, scope).tool_calls
    models = [{"model": name, **_figures(u, *savings[name], None)}
              for name, u in sorted(by_model.items(), key=lambda kv: (-kv[1].cost, kv[0]))]
    return {**_figures(total, read_total, premium_total, calls), "by_model": models}
