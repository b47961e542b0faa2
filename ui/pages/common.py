"""Helpers several pages share: usage series by period, and the wording of empty states."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from nicegui import app, ui

from store.monitor.usage import price_rows
from store.reports.usage import Filters, PeriodUsage, Usage, day_usage, slot_bounds
from store.sync_runner import SyncInProgress
from store.timezones import SLOT_MS, local_date, period_key
from ui import charts, fmt
from ui.cache import results
from ui.context import Ctx
from ui.filters import DashFilter
from ui.live import version

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

    def cost_chart(self, kind: Literal["bars", "lines"] = "bars") -> dict[str, Any]:
        """Chart options of the cost per period by model, in each model's colour and display name."""
        values = self.model_values(cost)
        colours = {m: charts.model_color(m) for m in values}
        labels = {m: fmt.model_label(m) for m in values}
        if kind == "lines":
            return charts.lines(self.keys, dict(values), "money", colours, labels=labels)
        return charts.stacked_bars(self.keys, values, "money", colours, labels)

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
    days = daily_usage(ctx)
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
    # every period of the span, with or without usage: a gap in the work is a gap on the chart's time axis
    keys = sorted({period_key(grain, first + timedelta(days=i), ctx.start_of_week)
                   for i in range((last - first).days + 1)} | set(periods))
    series = Series(grain, keys, periods)
    for period in periods.values():
        series.total.add(period.total)
        for model, usage in period.models.items():
            series.models.setdefault(model, Usage()).add(usage)
    return series


def _months(ctx: Ctx) -> list[date]:
    """The first days of the local months the filter's range covers (an open end: the archive's data)."""
    since, until = ctx.dates()
    if since is None or until is None:
        bounds = results.get_or_compute(("usage.bounds", ctx.filt.project, str(ctx.tz), version.value),
                                        lambda: data_days(ctx))
        if bounds is None:
            return []
        since, until = since or bounds[0], until or bounds[1]
    months, month = [], since.replace(day=1)
    while month <= until:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


def data_days(ctx: Ctx) -> tuple[date, date] | None:
    """The first and last local days with requests (of the filter's project): two index lookups."""
    bounds = slot_bounds(ctx.db, Filters(ctx.tz, None, None, ctx.filt.project, ctx.start_of_week))
    if bounds is None:
        return None
    first, last = bounds
    return local_date(first * SLOT_MS, ctx.tz), local_date(last * SLOT_MS + SLOT_MS - 1, ctx.tz)


def month_rows(ctx: Ctx, month: date) -> list[tuple]:
    """``day_usage`` rows of one local month."""
    following = (month + timedelta(days=32)).replace(day=1)
    filters = Filters(ctx.tz, month, following - timedelta(days=1), ctx.filt.project, ctx.start_of_week)
    return day_usage(ctx.db, filters)


def _month_key(ctx: Ctx, kind: str, month: date) -> tuple:
    return (kind, month, ctx.filt.project, str(ctx.tz), ctx.prices.version, version.value)


def _in_range(ctx: Ctx, day: date) -> bool:
    since, until = ctx.dates()
    return (since is None or day >= since) and (until is None or day <= until)


def range_day_rows(ctx: Ctx) -> list[tuple]:
    """``store.reports.usage.day_usage`` rows of the filter's range, from per-month answers that are computed
    once per data version and shared by every range, page and section (a filter change reads no rollup row
    for months it has seen)."""
    rows: list[tuple] = []
    for month in _months(ctx):
        month_answer = results.get_or_compute(_month_key(ctx, "usage.month", month), lambda m=month: month_rows(ctx, m))
        rows += [r for r in month_answer if _in_range(ctx, r[0])]
    return rows


def _priced_days(ctx: Ctx, month: date) -> list[PeriodUsage]:
    rows = results.get_or_compute(_month_key(ctx, "usage.month", month), lambda: month_rows(ctx, month))
    priced = price_rows(rows, ctx.prices)
    return [PeriodUsage(day.isoformat(), priced[day].total, priced[day].models) for day in sorted(priced)]


def daily_usage(ctx: Ctx) -> list[PeriodUsage]:
    """Priced usage per local day of the filter's range (days without requests are absent), as
    ``usage_by_period(..., "daily", ...)`` answers it: each day's pricing groups are priced on their own.
    The days are cached per month and shared: callers must not change them."""
    days: list[PeriodUsage] = []
    for month in _months(ctx):
        priced = results.get_or_compute(_month_key(ctx, "usage.month-priced", month),
                                        lambda m=month: _priced_days(ctx, m))
        days += [d for d in priced if _in_range(ctx, date.fromisoformat(d.key))]
    return days


def no_data_hint(filt: DashFilter, today: date) -> str:
    where = f" for {filt.project}" if filt.project else ""
    return (f"Nothing archived in “{filt.label(today)}”{where}. Pick a wider range (press ] or choose All time), "
            "clear the project filter, or check Settings for the folders Devhelion reads.")


def cost(u: Usage) -> float:
    return float(u.cost)


def sync_now() -> None:
    """Start a sync now (the Live and Settings pages' button), saying when one is already running."""
    try:
        app.state.sync.start()
        ui.notify("Sync started", type="info")
    except SyncInProgress:
        ui.notify("A sync is already running", type="warning")
