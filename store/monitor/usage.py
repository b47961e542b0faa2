"""Priced usage of the requests in a scope, grouped by any key.

Requests are summed per key and pricing group (model, speed, geo, long-context flag) in SQL and each group is
priced once with the report code's ``price_group``: pricing is linear within a group, so this equals pricing
every request, in exact Decimals, and matches ``devhelion report`` for the same requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from peewee import Database

from store.monitor.days import SLOT_SQL
from store.monitor.fmt import money
from store.monitor.params import Scope
from store.monitor.rollups import day_date, plan
from store.monitor.sql import Where, chunks, marks, requests_where
from store.pricing import LONG_CONTEXT_THRESHOLD, PriceTable, TokenCounts, cost_usd, is_synthetic
from store.reports.usage import Usage, display_model, price_group
from store.timezones import slot_local_date

TOKEN_CLASSES = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
COST_CLASSES = (*TOKEN_CLASSES, "web_search")

GROUP_COLUMNS = (
    "r.model, r.speed, r.inference_geo, "
    f"(r.input_tokens + r.cache_write_5m + r.cache_write_1h + r.cache_read > {LONG_CONTEXT_THRESHOLD}), "
    "sum(r.input_tokens), sum(r.output_tokens), sum(r.cache_write_5m), sum(r.cache_write_1h), "
    "sum(r.cache_read), sum(r.web_search_requests), count(*)"
)


@dataclass(slots=True)
class KeyUsage:
    """Usage under one key: total, per display model and the cost of each token class."""

    total: Usage = field(default_factory=Usage)
    models: dict[str, Usage] = field(default_factory=dict)
    class_costs: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(COST_CLASSES, Decimal(0)))


def grouped_rows(db: Database, where: Where, key_sql: str = "NULL") -> list[tuple]:
    """``(key, model, speed, geo, long_context, input, output, cw5m, cw1h, cache_read, web, requests)`` rows."""
    sql = f"SELECT {key_sql}, {GROUP_COLUMNS} FROM api_request r{where.sql} GROUP BY 1, 2, 3, 4, 5"
    return db.execute_sql(sql, where.params).fetchall()


_ROLLUP_SUMS = ("sum(input_tokens), sum(output_tokens), sum(cache_write_5m), sum(cache_write_1h), sum(cache_read), "
                "sum(web_search_requests), sum(requests)")


def scope_rows(db: Database, scope: Scope, by_day: bool = False) -> list[tuple]:
    """:func:`grouped_rows` of the scope's requests, keyed None or (``by_day``) by local date of the scope's zone:
    whole days from ``usage_day``, the partial days at the ends from the requests."""
    p = plan(db, scope, by_day)
    rows: list[tuple] = []
    if p.whole:
        clause, params = p.where()
        rows += [(day_date(day) if by_day else None, *rest) for day, *rest in db.execute_sql(
            f"SELECT {'day' if by_day else 'NULL'}, model, nullif(speed, ''), nullif(geo, ''), long_context, "
            f"{_ROLLUP_SUMS} FROM usage_day WHERE {clause} GROUP BY model, speed, geo, long_context"
            f"{', day' if by_day else ''}", params).fetchall()]
    for edge in p.edges:
        if by_day:
            slots = grouped_rows(db, requests_where(edge), f"r.ts_ms {SLOT_SQL}")
            rows += rekey_rows(slots, lambda slot, tz=edge.tz: slot_local_date(slot, tz))
        else:
            rows += grouped_rows(db, requests_where(edge))
    return rows


def session_rows(db: Database, sids: Sequence[str], lo: int, hi: int) -> list[tuple]:
    """:func:`grouped_rows` keyed by session, of the given sessions' requests in whole days ``lo..hi``."""
    rows: list[tuple] = []
    for part in chunks(list(sids)):
        rows += db.execute_sql(
            f"SELECT session_id, model, nullif(speed, ''), nullif(geo, ''), long_context, {_ROLLUP_SUMS} "
            f"FROM session_usage WHERE session_id IN ({marks(part)}) AND day BETWEEN ? AND ? "
            "GROUP BY session_id, model, speed, geo, long_context",
            [*part, lo, hi]).fetchall()
    return rows


def class_costs(prices: PriceTable, model: str, speed: str | None, geo: str | None, long_context: bool,
                counts: tuple[int, ...]) -> dict[str, Decimal] | None:
    """Cost of each token class of one pricing group (they add up to its cost); None when unpriced."""
    if prices.price_for(model) is None:
        return None
    result = {}
    for i, name in enumerate(TOKEN_CLASSES):
        only = [0] * 5
        only[i] = counts[i]
        result[name] = cost_usd(prices, model, TokenCounts(*only), speed=speed, inference_geo=geo,
                                long_context=long_context) or Decimal(0)
    result["web_search"] = counts[5] * prices.web_search_per_1k / 1000
    return result


def price_rows(rows: list[tuple], prices: PriceTable, with_classes: bool = False) -> dict[Any, KeyUsage]:
    """Priced usage per key of :func:`grouped_rows` rows; ``<synthetic>`` is skipped (it costs nothing)."""
    result: dict[Any, KeyUsage] = {}
    for key, model, speed, geo, lc, *counts in rows:
        if is_synthetic(model):
            continue
        entry = result.get(key)
        if entry is None:
            entry = result[key] = KeyUsage()
        usage = price_group(prices, model, speed, geo, bool(lc), tuple(counts))
        entry.models.setdefault(display_model(model, speed), Usage()).add(usage)
        entry.total.add(usage)
        if with_classes:
            for name, amount in (class_costs(prices, model, speed, geo, bool(lc), tuple(counts)) or {}).items():
                entry.class_costs[name] += amount
    return result


def priced_usage(db: Database, prices: PriceTable, where: Where, key_sql: str = "NULL",
                 with_classes: bool = False) -> dict[Any, KeyUsage]:
    return price_rows(grouped_rows(db, where, key_sql), prices, with_classes)


def total_usage(db: Database, prices: PriceTable, where: Where, with_classes: bool = False) -> KeyUsage:
    return priced_usage(db, prices, where, with_classes=with_classes).get(None) or KeyUsage()


def token_classes_json(entry: KeyUsage) -> dict[str, dict[str, Any]]:
    """Tokens and dollars per token class (plus web search requests)."""
    u = entry.total
    tokens = {"input": u.input_tokens, "output": u.output_tokens, "cache_write_5m": u.cache_write_5m,
              "cache_write_1h": u.cache_write_1h, "cache_read": u.cache_read}
    result: dict[str, dict[str, Any]] = {
        name: {"tokens": tokens[name], "cost_usd": money(entry.class_costs[name])} for name in TOKEN_CLASSES}
    result["web_search"] = {"requests": u.web_search_requests, "cost_usd": money(entry.class_costs["web_search"])}
    return result


def rekey_rows(rows: list[tuple], key_of: Any) -> list[tuple]:
    """Rows re-keyed by ``key_of(key)`` with their counts summed per new key and pricing group.

    Used to turn 15-minute slot rows into local days before pricing, so each group is priced once per day.
    """
    sums: dict[tuple, list[int]] = {}
    for key, model, speed, geo, lc, *counts in rows:
        group = (key_of(key), model, speed, geo, lc)
        acc = sums.get(group)
        if acc is None:
            sums[group] = list(counts)
        else:
            for i, n in enumerate(counts):
                acc[i] += n
    return [(*group, *counts) for group, counts in sums.items()]
