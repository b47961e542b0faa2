"""One validator for budgets from the API and the CLI: each error names the offending field."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from store.budgets.periods import PERIODS

FIELDS = ("name", "amount", "period", "warning_threshold", "project", "model", "warn_on_forecast", "muted")
DEFAULTS: dict[str, Any] = {"period": "monthly", "warning_threshold": 0.8, "project": None, "model": None,
                            "warn_on_forecast": False, "muted": False}
MAX_AMOUNT = Decimal(10) ** 9
MAX_NAME = 80


class BudgetError(ValueError):
    """A budget value cannot be used; ``field`` names it (API answers 400 with it)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def validate_budget(values: Mapping[str, Any], partial: bool = False) -> dict[str, Any]:
    """Clean values for a new budget (defaults filled in) or, with ``partial``, for an update of some fields."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise BudgetError(f"unknown budget field(s): {', '.join(unknown)}", unknown[0])
    merged = dict(values) if partial else {**DEFAULTS, **values}
    for required in ("name", "amount"):
        if not partial and merged.get(required) is None:
            raise BudgetError(f"{required} is required", required)
    return {key: _CHECKS[key](value) for key, value in merged.items()}


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BudgetError("name must be a non-empty text", "name")
    if len(value.strip()) > MAX_NAME:
        raise BudgetError(f"name must be at most {MAX_NAME} characters", "name")
    return value.strip()


def _amount(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise BudgetError("amount must be a number of US dollars", "amount")
    try:
        amount = Decimal(str(value).strip().lstrip("$"))
    except InvalidOperation as exc:
        raise BudgetError(f"amount must be a number of US dollars, not {value!r}", "amount") from exc
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        raise BudgetError("amount must be a positive amount of US dollars (at most 1,000,000,000)", "amount")
    return format(amount.normalize(), "f")  # "50", "12.5": exact, never "5E+1"


def _period(value: Any) -> str:
    if value not in PERIODS:
        raise BudgetError(f"period must be one of {', '.join(PERIODS)}, not {value!r}", "period")
    return value


def _threshold(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BudgetError("warning_threshold must be a fraction of the amount, e.g. 0.8 for 80%", "warning_threshold")
    try:
        fraction = float(value)
    except ValueError as exc:
        raise BudgetError(f"warning_threshold must be a number, not {value!r}", "warning_threshold") from exc
    if not 0 < fraction <= 1:
        raise BudgetError("warning_threshold must be a fraction above 0 and at most 1 (0.8 = warn at 80%)",
                          "warning_threshold")
    return fraction


def _optional_text(field: str) -> Any:
    def check(value: Any) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise BudgetError(f"{field} must be a text or null", field)
        if "\0" in value or len(value) > 4096:
            raise BudgetError(f"{field} is not a valid {field} name", field)
        return value.strip()

    return check


def _flag(field: str) -> Any:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise BudgetError(f"{field} must be true or false", field)
        return value

    return check


_CHECKS = {
    "name": _name,
    "amount": _amount,
    "period": _period,
    "warning_threshold": _threshold,
    "project": _optional_text("project"),
    "model": _optional_text("model"),
    "warn_on_forecast": _flag("warn_on_forecast"),
    "muted": _flag("muted"),
}
