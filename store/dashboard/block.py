"""The 5-hour block running now, with ccusage's burn rate and projection, read from the last day of requests only.

``store.reports.blocks`` needs every request since the beginning to place blocks; a block chain is followed back
24 hours here (exact unless that whole day had no 5-hour pause), which keeps this a few thousand rows.
"""

from __future__ import annotations

from peewee import Database

from store.live_usage import BLOCK_LOOKBACK_MS
from store.pricing import PriceTable, TokenCounts, cost_usd, is_long_context
from store.reports.blocks import Block, BlockEntry, identify_blocks
from store.reports.usage import display_model


def current_block(db: Database, prices: PriceTable, now_ms: int) -> Block | None:
    """The active block at ``now_ms`` (entries, tokens, cost, burn rate, projection), or None."""
    rows = db.execute_sql(
        "SELECT ts_ms, model, speed, inference_geo, input_tokens, output_tokens, cache_write_5m, cache_write_1h, "
        "cache_read, web_search_requests FROM api_request WHERE model IS NOT NULL AND ts_ms >= ? AND ts_ms <= ? "
        "ORDER BY ts_ms, request_key", (now_ms - BLOCK_LOOKBACK_MS, now_ms)).fetchall()
    entries = []
    for ts, model, speed, geo, inp, out, cw5, cw1, cr, web in rows:
        cost = cost_usd(prices, model, TokenCounts(inp, out, cw5, cw1, cr, web), speed=speed, inference_geo=geo,
                        long_context=is_long_context(inp, cw5 + cw1, cr))
        entries.append(BlockEntry(ts, display_model(model, speed), inp, out, cw5 + cw1, cr, cost))
    blocks = identify_blocks(entries, now_ms)
    return next((b for b in reversed(blocks) if b.is_active and not b.is_gap), None)
