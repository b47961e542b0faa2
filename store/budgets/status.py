"""Where each budget stands now: spend, percentage used, ok|warning|exceeded, and the forecast at period end.

The forecast extends the period's average pace so far to its end. Early in a period that pace says little (one
busy hour is not a month), so forecasts only warn once ``MIN_FORECAST_FRACTION`` of the period has passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from peewee import Database

from store.budgets.periods import Period, period_containing
from store.budgets.repo import BudgetRecord
from store.budgets.spend import Spend, period_spend
from store.pricing import PriceTable
from store.timezones import format_utc_iso_ms, local_date

MIN_FORECAST_FRACTION = 0.1
CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    budget: BudgetRecord
    period: Period
    spend: Spend
    now_ms: int
    status: str  # ok | warning | exceeded
    percentage: float
    forecast_usd: Decimal | None  # None before any time of the period has passed
    forecast_exceed_ms: int | None  # when the current pace reaches the amount, if inside this period
    forecast_reliable: bool  # enough of the period has passed for the pace to mean something

    @property
    def forecast_warns(self) -> bool:
        """The forecast says the limit will be passed before the period ends (and it is not passed yet)."""
        return self.forecast_reliable and self.forecast_exceed_ms is not None and self.status != "exceeded"

    def levels(self) -> list[str]:
        """Alert levels reached, lowest first: ``forecast`` (when the budget warns on forecasts), ``warning``,
        ``exceeded``."""
        reached = []
        if self.budget.warn_on_forecast and self.forecast_warns:
            reached.append("forecast")
        if self.status in ("warning", "exceeded"):
            reached.append("warning")
        if self.status == "exceeded":
            reached.append("exceeded")
        return reached

    def to_json(self, tz: tzinfo) -> dict[str, Any]:
        forecast = self.forecast_usd
        return {
            **self.budget.to_json(),
            "period_start": format_utc_iso_ms(self.period.start_ms),
            "period_end": format_utc_iso_ms(self.period.end_ms),
            "period_key": self.period.key,
            "current_spend": float(self.spend.usd.quantize(Decimal("0.000001"))),
            "percentage_used": self.percentage,
            "status": self.status,
            "requests": self.spend.requests,
            "unpriced_models": sorted(self.spend.unpriced),
            "forecast_spend": float(forecast.quantize(Decimal("0.000001"))) if forecast is not None else None,
            "forecast_status": _forecast_status(self),
            "forecast_exceed_at": format_utc_iso_ms(self.forecast_exceed_ms) if self.forecast_exceed_ms else None,
            "forecast_message": forecast_message(self, tz) if self.forecast_warns else None,
        }


def _forecast_status(status: BudgetStatus) -> str | None:
    if status.forecast_usd is None:
        return None
    if status.status == "exceeded" or status.forecast_usd >= status.budget.amount:
        return "exceeded"
    if status.forecast_usd >= status.budget.amount * Decimal(str(status.budget.warning_threshold)):
        return "warning"
    return "ok"


def compute_status(budget: BudgetRecord, period: Period, spend: Spend, now_ms: int) -> BudgetStatus:
    amount = budget.amount
    if spend.usd >= amount:
        state = "exceeded"
    elif spend.usd >= amount * Decimal(str(budget.warning_threshold)):
        state = "warning"
    else:
        state = "ok"
    percentage = float((spend.usd * 100 / amount).quantize(CENT, ROUND_HALF_UP))
    elapsed = period.elapsed_ms(now_ms)
    forecast = exceed_ms = None
    if elapsed > 0:
        forecast = spend.usd * period.length_ms / elapsed
        if state != "exceeded" and spend.usd > 0 and forecast >= amount:
            # the pace (spend / elapsed) reaches the amount after elapsed * amount / spend
            exceed_ms = period.start_ms + int(Decimal(elapsed) * amount / spend.usd)
            exceed_ms = min(max(exceed_ms, now_ms), period.end_ms - 1)
    reliable = elapsed >= period.length_ms * MIN_FORECAST_FRACTION
    return BudgetStatus(budget, period, spend, now_ms, state, percentage, forecast, exceed_ms, reliable)


def budget_status(db: Database, prices: PriceTable, budget: BudgetRecord, tz: tzinfo, start_of_week: int,
                  now_ms: int) -> BudgetStatus:
    period = period_containing(budget.period, now_ms, tz, start_of_week)  # type: ignore[arg-type]
    spend = period_spend(db, prices, period, tz, budget.project, budget.model)
    return compute_status(budget, period, spend, now_ms)


_PERIOD_NOUN = {"daily": "daily", "weekly": "weekly", "monthly": "monthly"}


def when_phrase(at_ms: int, now_ms: int, tz: tzinfo) -> str:
    """"today at 16:40", "tomorrow", "on Thursday", "on Thursday 23 April": how far ahead decides the detail."""
    at = datetime.fromtimestamp(at_ms / 1000, tz)
    days = (local_date(at_ms, tz) - local_date(now_ms, tz)).days
    if days <= 0:
        return f"today at {at:%H:%M}"
    if days == 1:
        return "tomorrow"
    if days < 7:
        return f"on {at:%A}"
    return f"on {at:%A} {at.day} {at:%B}"


def money(value: Decimal) -> str:
    return f"${value.quantize(CENT, ROUND_HALF_UP):,}"


def forecast_message(status: BudgetStatus, tz: tzinfo) -> str | None:
    """"At this pace you pass the weekly budget on Thursday (projected $61.20 by the end of the week)."""
    if status.forecast_exceed_ms is None or status.forecast_usd is None:
        return None
    end = {"daily": "day", "weekly": "week", "monthly": "month"}[status.budget.period]
    return (f"At this pace you pass the {_PERIOD_NOUN[status.budget.period]} budget "
            f"{when_phrase(status.forecast_exceed_ms, status.now_ms, tz)} "
            f"(projected {money(status.forecast_usd)} by the end of the {end}).")


def current_statuses(db: Database, prices: PriceTable, tz: tzinfo, now_ms: int,
                     budgets: list[BudgetRecord] | None = None) -> list[BudgetStatus]:
    """The status of every budget (or of ``budgets``) at ``now_ms``, weeks starting on the configured day: what
    the pages, the API, the CLI and the notifications all show."""
    from store.budgets.repo import list_budgets
    from store.budgets.week import budget_start_of_week

    start_of_week = budget_start_of_week()
    return [budget_status(db, prices, b, tz, start_of_week, now_ms)
            for b in (list_budgets() if budgets is None else budgets)]
