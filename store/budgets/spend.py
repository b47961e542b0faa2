"""Spend of a budget's period: requests timed inside it (not sessions started in it), read from the usage rollup.

The rollup sums requests per 15-minute slot, project and pricing group; a period's bounds are local midnights,
which are slot boundaries, so summing its slots and pricing each group once is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from decimal import Decimal

from peewee import Database

from store.budgets.periods import Period
from store.pricing import PriceTable, is_synthetic
from store.reports.usage import Filters, price_group, rollup_scope


@dataclass(slots=True)
class Spend:
    usd: Decimal = Decimal(0)
    requests: int = 0
    unpriced: set[str] = field(default_factory=set)  # models without a price: usd is then a lower bound


def period_spend(db: Database, prices: PriceTable, period: Period, tz: tzinfo, project: str | None = None,
                 model: str | None = None) -> Spend:
    """Cost of the requests in ``period``, optionally only a project's (path or last component) and only models
    whose id contains ``model`` (case-insensitive: ``opus`` scopes to every Opus model)."""
    scope, params = rollup_scope(Filters(tz=tz, since=period.first_day, until=period.last_day, project=project))
    if model:
        scope += " AND instr(lower(u.model), lower(?)) > 0"
        params = [*params, model]
    sql = ("SELECT u.model, nullif(u.speed, ''), nullif(u.geo, ''), u.long_context, sum(u.input_tokens), "
           "sum(u.output_tokens), sum(u.cache_write_5m), sum(u.cache_write_1h), sum(u.cache_read), "
           f"sum(u.web_search_requests), sum(u.requests) {scope} GROUP BY 1, 2, 3, 4")
    spend = Spend()
    for name, speed, geo, long_context, *counts in db.execute_sql(sql, params).fetchall():
        if is_synthetic(name):
            continue
        usage = price_group(prices, name, speed, geo, bool(long_context), tuple(counts))
        spend.usd += usage.cost
        spend.requests += usage.requests
        spend.unpriced |= usage.unpriced
    return spend
