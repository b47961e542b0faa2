"""Budgets: ``GET/POST /api/budgets``, ``PUT/DELETE /api/budgets/{id}``, ``GET /api/budgets/status``.

Bodies use the seed contract's snake_case names. Values are checked by ``store.budgets.validate`` (the CLI uses
the same checks); a refused value is a 400 whose message and ``details.field`` name the field. Every change asks
the running budget monitor for an evaluation, so the tray and notifications follow at once.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from desktop.api.deps import ArchiveDep, archive_tz, ok
from desktop.api.errors import not_found, validation_error
from desktop.api.models import ERROR_RESPONSES, Envelope
from store.budgets import alerts
from store.budgets.repo import create_budget, delete_budget, list_budgets, update_budget
from store.budgets.status import current_statuses
from store.budgets.validate import BudgetError
from store.timezones import format_utc_iso_ms

router = APIRouter(prefix="/api/budgets", tags=["budgets"], responses=ERROR_RESPONSES)
NOT_FOUND = {404: ERROR_RESPONSES[400] | {"description": "NOT_FOUND: no budget with this id"}}
BudgetId = Path(ge=1, le=2**62, description="The budget's id")


class BudgetIn(BaseModel):
    """A budget. On PUT only the fields present change; ``project``/``model`` null removes the scope."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr | None = Field(default=None, description="Unique name (required on POST)")
    amount: StrictFloat | StrictInt | StrictStr | None = Field(default=None, description="Limit in US dollars "
                                                                                          "(required on POST)")
    period: StrictStr | None = Field(default=None, description="daily | weekly | monthly (default monthly)")
    warning_threshold: StrictFloat | StrictInt | StrictStr | None = Field(
        default=None, description="Fraction of the amount that warns, above 0 and at most 1 (default 0.8)")
    project: StrictStr | None = Field(default=None, description="Only this project (full path or last component)")
    model: StrictStr | None = Field(default=None, description="Only models whose id contains this (e.g. 'opus')")
    warn_on_forecast: StrictBool | None = Field(default=None, description="Also warn when the pace so far would "
                                                                          "pass the amount by the period's end")
    muted: StrictBool | None = Field(default=None, description="No notifications for this budget")


class BudgetOut(BaseModel):
    id: int
    name: str
    amount: float
    period: str
    warning_threshold: float
    project: str | None
    model: str | None
    warn_on_forecast: bool
    muted: bool
    created_ms: int
    updated_ms: int


class AlertOut(BaseModel):
    level: str = Field(description="forecast | warning | exceeded")
    reached_at: str
    notified_at: str | None
    outcome: str = Field(description="sent | quiet | unavailable | muted | disabled | superseded | expired | pending")


class BudgetStatusOut(BudgetOut):
    period_start: str
    period_end: str
    period_key: str
    current_spend: float
    percentage_used: float
    status: str = Field(description="ok | warning | exceeded")
    requests: int
    unpriced_models: list[str] = Field(description="Models without a price: the spend is then a lower bound")
    forecast_spend: float | None = Field(description="Spend at the period's end at the pace so far")
    forecast_status: str | None
    forecast_exceed_at: str | None = Field(description="When the pace so far reaches the amount (this period)")
    forecast_message: str | None = Field(description="\"At this pace you pass the weekly budget on Thursday ...\"")
    alerts: list[AlertOut]


class Deleted(BaseModel):
    id: int
    deleted: bool


def _given(body: BudgetIn) -> dict[str, Any]:
    return {name: getattr(body, name) for name in body.model_fields_set}


def _refused(exc: BudgetError) -> Exception:
    return validation_error(f"Invalid {exc.field}: {exc}", {"field": exc.field})


def _evaluate_soon(request: Request) -> None:
    monitor = getattr(request.app.state, "budgets", None)
    if monitor is not None:
        monitor.request()


@router.get("", response_model=Envelope[list[BudgetOut]])
def get_budgets() -> dict[str, Any]:
    return ok([b.to_json() for b in list_budgets()])


@router.post("", response_model=Envelope[BudgetOut], status_code=201)
def post_budget(request: Request, body: BudgetIn) -> dict[str, Any]:
    try:
        budget = create_budget(_given(body))
    except BudgetError as exc:
        raise _refused(exc) from exc
    _evaluate_soon(request)
    return ok(budget.to_json())


@router.get("/status", response_model=Envelope[list[BudgetStatusOut]])
def get_status(archive: ArchiveDep) -> dict[str, Any]:
    """Each budget with its current period's spend, percentage used, status and forecast, priced now."""
    now_ms = int(time.time() * 1000)
    tz = archive_tz(archive)
    rows = []
    for status in current_statuses(archive.db, archive.prices, tz, now_ms):
        budget = status.budget
        rows.append({**status.to_json(tz), "alerts": [
            {"level": a.level, "reached_at": format_utc_iso_ms(a.first_ms),
             "notified_at": format_utc_iso_ms(a.notified_ms) if a.notified_ms else None, "outcome": a.outcome}
            for a in alerts.alerts_for(budget.id, status.period.key)]})
    return ok(rows)


@router.put("/{budget_id}", response_model=Envelope[BudgetOut], responses=NOT_FOUND)
def put_budget(request: Request, body: BudgetIn, budget_id: int = BudgetId) -> dict[str, Any]:
    try:
        budget = update_budget(budget_id, _given(body))
    except BudgetError as exc:
        raise _refused(exc) from exc
    if budget is None:
        raise not_found(f"No budget with id {budget_id}")
    _evaluate_soon(request)
    return ok(budget.to_json())


@router.delete("/{budget_id}", response_model=Envelope[Deleted], responses=NOT_FOUND)
def remove_budget(request: Request, budget_id: int = BudgetId) -> dict[str, Any]:
    if not delete_budget(budget_id):
        raise not_found(f"No budget with id {budget_id}")
    _evaluate_soon(request)
    return ok({"id": budget_id, "deleted": True})
