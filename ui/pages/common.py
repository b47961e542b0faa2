"""Helpers several pages share: usage series by period, and the wording of empty states."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from store.reports.usage import PeriodUsage, Usage, usage_by_period
from store.timezones import period_key
from ui.context import Ctx
from ui.filters import DashFilter

Grain = Literal["daily", "weekly", "monthly"]
GRAIN_NOUN = {"daily": "day", "weekly": "week", "monthly": "month"}


@dataclass(slots=True)
class Series:
    """Usage per period (zero-filled for days) and per model, for charts; ``total`` over the whole range."""

    grain: Grain
    keys: list[str]
    periods: dict[str, PeriodUsage]
    total: Usage = field(default_factory=Usage)
    models: dict[str, Usage] = field(default_factory=dict)

    def model_values(self, value: Callable[[Usage], float]) -> dict[str, list[float]]:
        ordered = sorted(self.models, key=lambda m: -self.models[m].cost)
        return {m: [round(value(self.periods[k].models[m]), 6) if k in self.periods and m in self.periods[k].models
                    else 0.0 for k in self.keys] for m in ordered}

    @property
    def empty(self) -> bool:
        return self.total.requests == 0


def grain_for(since: date | None, until: date | None) -> Grain:
    """Days up to about three months, weeks up to two years, months beyond."""
    if since is None or until is None:
        return "weekly"
    days = (until - since).days + 1
    return "daily" if days <= 95 else "weekly" if days <= 730 else "monthly"


def usage_series(ctx: Ctx, grain: Grain | None = None) -> Series:
    """Usage of the filter's range per day, week or month (chosen from the span when not given) and per model.

    One rollup query by day; days are folded into weeks or months here (prices are exact Decimals, so the sum of
    priced days equals pricing the week).
    """
    since, until = ctx.dates()
    days = usage_by_period(ctx.db, "daily", ctx.report_filters(), ctx.prices)
    first = since or (date.fromisoformat(days[0].key) if days else ctx.today)
    last = until or (date.fromisoformat(days[-1].key) if days else ctx.today)
    grain = grain or grain_for(first, last)
    periods: dict[str, PeriodUsage] = {}
    for day in days:
        key = period_key(grain, date.fromisoformat(day.key), ctx.start_of_week)
        period = periods.setdefault(key, PeriodUsage(key))
        period.total.add(day.total)
        for model, usage in day.models.items():
            period.models.setdefault(model, Usage()).add(usage)
    if grain == "daily":
        keys = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    else:
        keys = sorted(periods)
    series = Series(grain, keys, periods)
    for period in periods.values():
        series.total.add(period.total)
        for model, usage in period.models.items():
            series.models.setdefault(model, Usage()).add(usage)
    return series


def no_data_hint(filt: DashFilter, today: date) -> str:
    where = f" for {filt.project}" if filt.project else ""
    return (f"Nothing archived in “{filt.label(today)}”{where}. Pick a wider range (press ] or choose All time), "
            "clear the project filter, or check Settings for the folders Devhelion reads.")


def cost(u: Usage) -> float:
    return float(u.cost)


def tokens(u: Usage) -> float:
    return float(u.total_tokens)


ZERO = Decimal(0)
