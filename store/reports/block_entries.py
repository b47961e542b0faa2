"""Per-request entries for the 5-hour block report, each priced on its own (blocks need order, not sums)."""

from __future__ import annotations

from peewee import Database

from store.pricing import PriceTable, TokenCounts, cost_usd, is_long_context
from store.reports.blocks import BlockEntry
from store.reports.usage import Filters, display_model, request_scope


def block_entries(db: Database, filters: Filters, table: PriceTable) -> tuple[list[BlockEntry], set[str]]:
    """All requests in time order (``<synthetic>`` included: ccusage counts its entries), plus unpriced models."""
    # not date-filtered here: like ccusage, --since/--until select blocks by their start, after grouping
    scope, params = request_scope(filters, dated=False)
    sql = (
        "SELECT r.ts_ms, r.model, r.speed, r.inference_geo, r.input_tokens, r.output_tokens, r.cache_write_5m, "
        f"r.cache_write_1h, r.cache_read, r.web_search_requests {scope} ORDER BY r.ts_ms, r.request_key"
    )
    entries: list[BlockEntry] = []
    unpriced: set[str] = set()
    for ts, model, speed, geo, inp, out, cw5, cw1, cr, web in db.execute_sql(sql, params).fetchall():
        cost = cost_usd(table, model, TokenCounts(inp, out, cw5, cw1, cr, web), speed=speed, inference_geo=geo,
                        long_context=is_long_context(inp, cw5 + cw1, cr))
        if cost is None:
            unpriced.add(model)
        entries.append(BlockEntry(ts, display_model(model, speed), inp, out, cw5 + cw1, cr, cost))
    return entries, unpriced
