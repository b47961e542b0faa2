"""Alert bookkeeping: which levels each budget reached in each period, and whether their notification went out.

A level is recorded the first time it is reached in a period (``INSERT OR IGNORE`` on a unique key), so only
one evaluator (one process, one evaluation) ever announces it: restarts and concurrent processes never repeat a
notification. Deferred notifications (quiet hours, no notification service yet) stay ``pending`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from store.models.app import BudgetAlert
from store.models.base import database

LEVELS = ("forecast", "warning", "exceeded")  # lowest first

# outcomes: a notification was shown, or why not
SENT, QUIET, UNAVAILABLE = "sent", "quiet", "unavailable"
MUTED, DISABLED, SUPERSEDED, EXPIRED = "muted", "disabled", "superseded", "expired"
RETRYABLE = frozenset({QUIET, UNAVAILABLE})


@dataclass(frozen=True, slots=True)
class AlertRow:
    budget_id: int
    period_key: str
    level: str
    first_ms: int
    notified_ms: int | None
    outcome: str
    attempts: int


def _row(a: BudgetAlert) -> AlertRow:
    return AlertRow(a.budget_id, a.period_key, a.level, a.first_ms, a.notified_ms, a.outcome, a.attempts)


def record_levels(budget_id: int, period_key: str, levels: list[str], now_ms: int) -> list[str]:
    """Record the levels reached; returns those recorded now for the first time (in ``LEVELS`` order)."""
    new = []
    with database.atomic():
        for level in sorted(set(levels), key=LEVELS.index):
            query = BudgetAlert.insert(budget_id=budget_id, period_key=period_key, level=level, first_ms=now_ms,
                                       outcome="pending").on_conflict_ignore()
            if database.execute(query).rowcount == 1:
                new.append(level)
    return new


def set_outcome(budget_id: int, period_key: str, level: str, outcome: str, notified_ms: int | None = None,
                attempted: bool = False) -> None:
    update: dict = {BudgetAlert.outcome: outcome}
    if notified_ms is not None:
        update[BudgetAlert.notified_ms] = notified_ms
    if attempted:
        update[BudgetAlert.attempts] = BudgetAlert.attempts + 1
    (BudgetAlert.update(update)
     .where((BudgetAlert.budget_id == budget_id) & (BudgetAlert.period_key == period_key)
            & (BudgetAlert.level == level)).execute())


def alerts_for(budget_id: int, period_key: str) -> list[AlertRow]:
    rows = BudgetAlert.select().where((BudgetAlert.budget_id == budget_id) & (BudgetAlert.period_key == period_key))
    return sorted((_row(r) for r in rows), key=lambda r: LEVELS.index(r.level) if r.level in LEVELS else -1)


def pending_alerts() -> list[AlertRow]:
    """Alerts whose notification was deferred and may still be sent."""
    rows = BudgetAlert.select().where(BudgetAlert.outcome.in_(sorted(RETRYABLE | {"pending"})))
    return [_row(r) for r in rows]
