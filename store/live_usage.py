"""Today's cost and the current 5-hour block, straight from the usage rollup: what the statusline shows.

The statusline runs after every assistant message, so this reads only ``usage_rollup`` (a few rows per day)
and the request timestamps of the last day, prices each pricing group once with the same rules as the reports,
and imports neither Peewee nor the report modules.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from datetime import date, timedelta, tzinfo
from decimal import Decimal

from store.pricing import PriceTable, TokenCounts, cost_usd, is_synthetic
from store.timezones import SLOT_MS, local_date, period_bounds_utc_ms

HOUR_MS = 3_600_000
BLOCK_MS = 5 * HOUR_MS  # ccusage's session block
BLOCK_LOOKBACK_MS = 24 * HOUR_MS  # a block chain is followed back this far (exact unless a day had no 5-hour gap)

_GROUPS = (
    "SELECT model, nullif(speed, ''), nullif(geo, ''), long_context, sum(input_tokens), sum(output_tokens), "
    "sum(cache_write_5m), sum(cache_write_1h), sum(cache_read), sum(web_search_requests) FROM usage_rollup "
    "WHERE slot >= ? AND slot < ? GROUP BY 1, 2, 3, 4"
)


@dataclass(slots=True)
class Cost:
    usd: Decimal = Decimal(0)
    unpriced: set[str] = field(default_factory=set)  # models without a price: usd is then a lower bound


@dataclass(frozen=True, slots=True)
class Block:
    start_ms: int
    end_ms: int
    last_ms: int  # the latest request: the block stays active until 5 hours after it (or its end)
    cost: Cost


def cost_between(conn: sqlite3.Connection, table: PriceTable, start_ms: int, end_ms: int) -> Cost:
    """Cost of the requests in ``[start_ms, end_ms)``; both must fall on 15-minute slot boundaries to be exact."""
    total = Cost()
    for model, speed, geo, long_context, *counts in conn.execute(_GROUPS, (start_ms // SLOT_MS, -(-end_ms // SLOT_MS))):
        if is_synthetic(model):
            continue
        cost = cost_usd(table, model, TokenCounts(*counts), speed=speed, inference_geo=geo,
                        long_context=bool(long_context))
        if cost is None:
            total.unpriced.add(model)
        else:
            total.usd += cost
    return total


def today_cost(conn: sqlite3.Connection, table: PriceTable, tz: tzinfo | None, now_ms: int) -> Cost:
    """Cost of the local calendar day containing ``now_ms`` (local midnights fall on slot boundaries)."""
    return cost_between(conn, table, *day_bounds_ms(now_ms, tz))


def day_bounds_ms(now_ms: int, tz: tzinfo | None) -> tuple[int, int]:
    """``[start, end)`` of the local day containing ``now_ms``. ``tz`` None is the machine's zone, taken from the
    C library (DST included) rather than tzlocal, whose imports would cost the statusline more than its query."""
    if tz is not None:
        return period_bounds_utc_ms("day", local_date(now_ms, tz), tz, 0)
    today = date.fromtimestamp(now_ms // 1000)
    return _local_midnight_ms(today), _local_midnight_ms(today + timedelta(days=1))


def _local_midnight_ms(d: date) -> int:
    start = int(time.mktime((d.year, d.month, d.day, 0, 0, 0, 0, 0, -1))) * 1000
    # a midnight skipped by DST normalises into the previous day's last hour or the new day's first: keep it in d
    while date.fromtimestamp(start // 1000) < d:
        start += SLOT_MS
    return start


def active_block(conn: sqlite3.Connection, table: PriceTable, now_ms: int) -> Block | None:
    """The ccusage-style 5-hour block running at ``now_ms``, if any.

    As in ``store.reports.blocks``: a block starts at its first request floored to the UTC hour and lasts
    5 hours; a request after its end or after a pause of over 5 hours starts the next one. Block bounds are
    whole hours, so the rollup prices them exactly.
    """
    start = last = None
    for (ts,) in conn.execute("SELECT ts_ms FROM api_request WHERE ts_ms >= ? AND ts_ms <= ? AND model IS NOT NULL "
                              "ORDER BY ts_ms", (now_ms - BLOCK_LOOKBACK_MS, now_ms)):
        if start is None or ts - start > BLOCK_MS or ts - last > BLOCK_MS:  # exactly 5 h stays in (ccusage)
            start = ts - ts % HOUR_MS
        last = ts
    if start is None or now_ms - start >= BLOCK_MS or now_ms - last >= BLOCK_MS:
        return None
    return Block(start, start + BLOCK_MS, last, cost_between(conn, table, start, start + BLOCK_MS))
