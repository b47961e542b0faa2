"""What a period would have cost on another model: the same stored tokens priced at that model's rates.

Each pricing group keeps its long-context flag and inference geography; fast mode is dropped (it is a property
of the models that offer it, not of the work). Web-search requests cost the same on every model.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from peewee import Database

from store.pricing import PriceTable, TokenCounts, cost_usd, is_synthetic
from store.reports.usage import Filters, Usage, day_usage, price_group


@dataclass(slots=True)
class Repricing:
    model: str
    actual: Usage = field(default_factory=Usage)
    cost: Decimal = Decimal(0)
    priced: bool = True  # False when the target model has no price

    @property
    def difference(self) -> Decimal:
        return self.cost - self.actual.cost


def reprice(db: Database, prices: PriceTable, filters: Filters, targets: list[str]) -> list[Repricing]:
    """The filters' usage as billed, and as it would have been billed on each model in ``targets``."""
    return reprice_rows(day_usage(db, filters), prices, targets)


def reprice_rows(rows: Iterable[tuple], prices: PriceTable, targets: list[str]) -> list[Repricing]:
    """``reprice`` over rows of ``store.reports.usage.day_usage`` (of any days: they are summed first)."""
    groups: dict[tuple, list[int]] = {}
    for _day, model, speed, geo, lc, *counts in rows:
        if is_synthetic(model):
            continue
        acc = groups.get((model, speed, geo, lc))
        if acc is None:
            groups[(model, speed, geo, lc)] = list(counts)
        else:
            for i, n in enumerate(counts):
                acc[i] += n
    actual = Usage()
    for (model, speed, geo, lc), counts in groups.items():
        actual.add(price_group(prices, model, speed, geo, bool(lc), tuple(counts)))
    results = []
    for target in targets:
        result = Repricing(target, actual)
        for (_model, _speed, geo, lc), counts in groups.items():
            inp, out, cw5, cw1, cr, web, _n = counts
            cost = cost_usd(prices, target, TokenCounts(inp, out, cw5, cw1, cr, web), inference_geo=geo,
                            long_context=bool(lc))
            if cost is None:
                result.priced = False
                break
            result.cost += cost
        results.append(result)
    return results


def repricing_targets(prices: PriceTable) -> list[str]:
    """The price table's Claude models, one id per model (the undated alias when both exist)."""
    keys = [k for k in prices.models if k.startswith("claude-")]
    return sorted({_undated(k) if _undated(k) in prices.models else k for k in keys})


def _undated(key: str) -> str:
    head, _, tail = key.rpartition("-")
    return head if len(tail) == 8 and tail.isdigit() else key
