"""What a budget alert says: the notification's title and text, and the `/ws` event."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from store.budgets.status import BudgetStatus, forecast_message, money
from store.timezones import format_utc_iso_ms

EVENT_TYPES = {"forecast": "budget.warning", "warning": "budget.warning", "exceeded": "budget.exceeded"}


def notification_text(status: BudgetStatus, level: str, tz: tzinfo) -> tuple[str, str]:
    b = status.budget
    used = f"{money(status.spend.usd)} of {money(b.amount)} ({status.percentage:g}%)"
    forecast = forecast_message(status, tz) if status.forecast_warns else None
    if level == "exceeded":
        return f"Budget exceeded: {b.name}", f"{used} of your {b.period} budget is spent."
    if level == "warning":
        text = f"{used} of your {b.period} budget is spent."
        return f"Budget warning: {b.name}", f"{text} {forecast}" if forecast else text
    return f"Budget forecast: {b.name}", forecast or f"At this pace you pass your {b.period} budget."


def alert_event(status: BudgetStatus, level: str, tz: tzinfo) -> dict[str, Any]:
    title, text = notification_text(status, level, tz)
    b = status.budget
    return {"type": EVENT_TYPES[level], "level": level, "budget_id": b.id, "name": b.name, "period": b.period,
            "period_key": status.period.key, "period_start": format_utc_iso_ms(status.period.start_ms),
            "period_end": format_utc_iso_ms(status.period.end_ms), "amount": float(b.amount),
            "spend": float(status.spend.usd), "percentage": status.percentage, "status": status.status,
            "forecast_spend": float(status.forecast_usd) if status.forecast_usd is not None else None,
            "forecast_exceed_at": (format_utc_iso_ms(status.forecast_exceed_ms)
                                   if status.forecast_exceed_ms else None),
            "title": title, "message": text}
