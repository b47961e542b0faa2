"""Budgets in the archive: create, list, change, delete. Names are unique (case-insensitive) so the CLI can use
them; changing what a budget measures clears its alert history, so a raised limit can warn again."""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from peewee import fn

from store.budgets.validate import BudgetError, validate_budget
from store.models.app import Budget, BudgetAlert
from store.models.base import database

# a change to any of these changes what the budget measures: its alerts start again
_MEASURE_FIELDS = frozenset({"amount", "period", "warning_threshold", "project", "model", "warn_on_forecast"})


@dataclass(frozen=True, slots=True)
class BudgetRecord:
    id: int
    name: str
    amount: Decimal
    period: str
    warning_threshold: float
    project: str | None
    model: str | None
    warn_on_forecast: bool
    muted: bool
    created_ms: int
    updated_ms: int

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "amount": float(self.amount), "period": self.period,
                "warning_threshold": self.warning_threshold, "project": self.project, "model": self.model,
                "warn_on_forecast": self.warn_on_forecast, "muted": self.muted, "created_ms": self.created_ms,
                "updated_ms": self.updated_ms}


def _record(row: Budget) -> BudgetRecord:
    return BudgetRecord(row.id, row.name, Decimal(row.amount), row.period, float(row.warning_threshold), row.project,
                        row.model, bool(row.warn_on_forecast), bool(row.muted), row.created_ms, row.updated_ms)


def list_budgets() -> list[BudgetRecord]:
    return [_record(row) for row in Budget.select().order_by(Budget.id)]


def get_budget(budget_id: int) -> BudgetRecord | None:
    row = Budget.get_or_none(Budget.id == budget_id)
    return _record(row) if row else None


def find_budget(id_or_name: str) -> BudgetRecord | None:
    """By id (digits) or by name, case-insensitive: what ``devhelion budgets rm`` accepts."""
    if id_or_name.isdigit():
        found = get_budget(int(id_or_name))
        if found:
            return found
    row = Budget.get_or_none(fn.lower(Budget.name) == id_or_name.strip().lower())
    return _record(row) if row else None


def _check_unique_name(name: str, except_id: int | None = None) -> None:
    query = Budget.select().where(fn.lower(Budget.name) == name.lower())
    if except_id is not None:
        query = query.where(Budget.id != except_id)
    if query.exists():
        raise BudgetError(f"a budget named {name!r} already exists", "name")


def create_budget(values: dict[str, Any], now_ms: int | None = None) -> BudgetRecord:
    clean = validate_budget(values)
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    with database.atomic():
        _check_unique_name(clean["name"])
        row = Budget.create(**clean, created_ms=now_ms, updated_ms=now_ms)
    return _record(row)


def update_budget(budget_id: int, changes: dict[str, Any], now_ms: int | None = None) -> BudgetRecord | None:
    """Apply ``changes`` (only the fields given); None when there is no such budget."""
    clean = validate_budget(changes, partial=True)
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    with database.atomic():
        row = Budget.get_or_none(Budget.id == budget_id)
        if row is None:
            return None
        if "name" in clean:
            _check_unique_name(clean["name"], except_id=budget_id)
        before = _record(row)
        for key, value in clean.items():
            setattr(row, key, value)
        row.updated_ms = now_ms
        row.save()
        after = _record(row)
        if any(getattr(before, f) != getattr(after, f) for f in _MEASURE_FIELDS & clean.keys()):
            BudgetAlert.delete().where(BudgetAlert.budget_id == budget_id).execute()
    return after


def delete_budget(budget_id: int) -> bool:
    with database.atomic():
        deleted = Budget.delete().where(Budget.id == budget_id).execute()
        BudgetAlert.delete().where(BudgetAlert.budget_id == budget_id).execute()
    return bool(deleted)
