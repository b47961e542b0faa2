"""When you work with Claude: cost, tokens and requests by local weekday and hour of day, from the rollup.

SQLite maps each 15-minute slot to its local weekday and hour (the zone's UTC offsets over the range are known,
DST included) and sums per cell and pricing group, so a year of slots comes back as a few hundred rows; each
cell's pricing groups are then priced once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from peewee import Database

from store.pricing import PriceTable, is_synthetic
from store.reports.usage import Filters, Usage, price_group, rollup_scope, slot_bounds
from store.timezones import SLOTS_PER_DAY, local_slot_sql

_THURSDAY = 3  # 1970-01-01, local day 0, was a Thursday (Monday = 0)


@dataclass(slots=True)
class HourGrid:
    """``cells[weekday][hour]`` (Monday = 0) and the 24 hour-of-day totals."""

    cells: list[list[Usage]] = field(default_factory=lambda: [[Usage() for _ in range(24)] for _ in range(7)])

    def hours(self) -> list[Usage]:
        totals = [Usage() for _ in range(24)]
        for day in self.cells:
            for hour, usage in enumerate(day):
                totals[hour].add(usage)
        return totals

    def total(self) -> Usage:
        total = Usage()
        for usage in self.hours():
            total.add(usage)
        return total


def hour_grid(db: Database, prices: PriceTable, filters: Filters) -> HourGrid:
    """Usage of the filters' range and project per local weekday and hour."""
    grid = HourGrid()
    bounds = slot_bounds(db, filters)
    if bounds is None:
        return grid
    first, last = bounds
    scope, params = rollup_scope(filters)
    local = local_slot_sql("u.slot", filters.tz, first, last)
    slots_per_hour = SLOTS_PER_DAY // 24
    rows = db.execute_sql(
        f"SELECT ({local} / {SLOTS_PER_DAY} + {_THURSDAY}) % 7, ({local} % {SLOTS_PER_DAY}) / {slots_per_hour}, "
        "u.model, nullif(u.speed, ''), nullif(u.geo, ''), u.long_context, sum(u.input_tokens), sum(u.output_tokens), "
        "sum(u.cache_write_5m), sum(u.cache_write_1h), sum(u.cache_read), sum(u.web_search_requests), "
        f"sum(u.requests) {scope} GROUP BY 1, 2, 3, 4, 5, 6", params).fetchall()
    for weekday, hour, model, speed, geo, lc, *counts in rows:
        if not is_synthetic(model):
            grid.cells[weekday][hour].add(price_group(prices, model, speed, geo, bool(lc), tuple(counts)))
    return grid
