"""Budget evaluation in the running app: after every ingest and on a timer, on a thread of its own.

Each evaluation prices every budget's period, records the levels reached (once per budget, level and period,
in the archive), publishes ``budget.warning`` / ``budget.exceeded`` on the bus, and shows one notification for
the highest new level unless notifications are off, the budget is muted, or it is quiet hours (then it waits).
A changed overall state is published as ``budgets.status`` for the tray icon and the dashboard.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import tzinfo
from decimal import Decimal

from desktop.budgets.messages import alert_event, notification_text
from desktop.live.bus import EventBus
from desktop.notify import Notifier
from store.archive import Archive
from store.budgets import alerts
from store.budgets.repo import BudgetRecord, list_budgets
from store.budgets.status import BudgetStatus, current_statuses
from store.config import Settings
from store.quiet_hours import in_quiet_hours
from store.sync_runner import SyncResult, SyncRunner
from store.timezones import resolve_timezone

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 60.0  # period roll-over, the end of quiet hours, forecasts that mature with time
MAX_UNAVAILABLE_ATTEMPTS = 3  # e.g. started at login before the notification daemon
DAILY_LIMIT_ID = 0  # the `notifications.daily_cost_limit_usd` setting, evaluated like a budget


def daily_limit_budget(settings: Settings) -> BudgetRecord | None:
    limit = settings.notifications.daily_cost_limit_usd
    if not limit:
        return None
    return BudgetRecord(DAILY_LIMIT_ID, "Daily spend limit", Decimal(limit), "daily", 1.0, None, None, False, False,
                        0, 0)


def overall_level(statuses: list[BudgetStatus]) -> str:
    """ok | warning | exceeded over the budgets that are not muted (a forecast warning counts as a warning)."""
    level = "ok"
    for s in statuses:
        if s.budget.muted:
            continue
        if s.status == "exceeded":
            return "exceeded"
        if s.status == "warning" or (s.budget.warn_on_forecast and s.forecast_warns):
            level = "warning"
    return level


class BudgetMonitor:
    def __init__(self, archive: Archive, bus: EventBus, notifier: Notifier | None = None,
                 interval_s: float = DEFAULT_INTERVAL_S, clock: Callable[[], float] = time.time) -> None:
        self.archive = archive
        self.bus = bus
        self.notifier = notifier
        self.interval_s = interval_s
        self.clock = clock
        self.statuses: list[BudgetStatus] = []
        self.level = "ok"
        self.evaluations = 0
        self._summary: tuple | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_reason: str | None = None

    # -- wiring --------------------------------------------------------------------------------------
    def attach(self, runner: SyncRunner) -> None:
        """Evaluate after every ingest. Chains the runner's ``on_finished`` (the live service hooks it too)."""
        previous = runner.on_finished

        def finished(result: SyncResult) -> None:
            if previous:
                previous(result)
            self.request()

        runner.on_finished = finished

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="devhelion-budgets", daemon=True)
            self._thread.start()
            self.request()

    def stop(self, timeout: float = 15.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self.notifier is not None:
            self.notifier.close()

    def request(self) -> None:
        """Ask for an evaluation soon (requests arriving during one are coalesced into the next)."""
        self._wake.set()

    # -- the thread ----------------------------------------------------------------------------------
    def _loop(self) -> None:
        try:
            while not self._stopping.is_set():
                self._wake.wait(self.interval_s)
                self._wake.clear()
                if self._stopping.is_set():
                    break
                try:
                    self.evaluate()
                except Exception:  # a bad evaluation must not end the monitor
                    log.exception("budget evaluation failed")
        finally:
            self.archive.db.close()  # this thread's connection

    def evaluate(self, now_ms: int | None = None) -> list[BudgetStatus]:
        now_ms = now_ms if now_ms is not None else int(self.clock() * 1000)
        settings = self.archive.settings
        tz = resolve_timezone(settings.timezone)
        budgets = list_budgets()
        extra = daily_limit_budget(settings)  # the notifications' daily limit: a budget only the tray knows
        if extra is not None:
            budgets.append(extra)
        statuses = current_statuses(self.archive.db, self.archive.prices, tz, now_ms, budgets)
        handled: set[tuple[int, str, str]] = set()
        for status in statuses:
            self._announce(status, settings, tz, now_ms, handled)
        self._retry_pending(statuses, settings, tz, now_ms, handled)
        self.statuses = statuses
        self.level = overall_level(statuses)
        self.evaluations += 1
        self._publish_summary(statuses)
        return statuses

    # -- alerts --------------------------------------------------------------------------------------
    def _announce(self, status: BudgetStatus, settings: Settings, tz: tzinfo, now_ms: int,
                  handled: set[tuple[int, str, str]]) -> None:
        levels = status.levels()
        if not levels:
            return
        b, key = status.budget, status.period.key
        new = alerts.record_levels(b.id, key, levels, now_ms)
        if not new:
            return
        for level in new:
            self.bus.publish(alert_event(status, level, tz))
        top = new[-1]
        for row in alerts.alerts_for(b.id, key):  # one notification: the highest level reached now
            if row.level != top and (row.outcome in alerts.RETRYABLE or row.outcome == "pending"):
                alerts.set_outcome(b.id, key, row.level, alerts.SUPERSEDED)
        handled.update((b.id, key, level) for level in new)
        self._notify(status, top, settings, tz, now_ms)

    def _retry_pending(self, statuses: list[BudgetStatus], settings: Settings, tz: tzinfo, now_ms: int,
                       handled: set[tuple[int, str, str]]) -> None:
        current = {(s.budget.id, s.period.key): s for s in statuses}
        for row in alerts.pending_alerts():
            if (row.budget_id, row.period_key, row.level) in handled:
                continue
            status = current.get((row.budget_id, row.period_key))
            if status is None:  # the period is over or the budget is gone: too late to say it
                alerts.set_outcome(row.budget_id, row.period_key, row.level, alerts.EXPIRED)
                continue
            if row.level not in status.levels():  # e.g. a forecast that no longer holds
                continue
            if row.outcome == alerts.UNAVAILABLE and row.attempts >= MAX_UNAVAILABLE_ATTEMPTS:
                continue
            self._notify(status, row.level, settings, tz, now_ms)

    def _notify(self, status: BudgetStatus, level: str, settings: Settings, tz: tzinfo, now_ms: int) -> None:
        b, key = status.budget, status.period.key
        if not settings.notifications.enabled:
            alerts.set_outcome(b.id, key, level, alerts.DISABLED)
            return
        if b.muted:
            alerts.set_outcome(b.id, key, level, alerts.MUTED)
            return
        if in_quiet_hours(settings.notifications.quiet_hours, now_ms, tz):
            alerts.set_outcome(b.id, key, level, alerts.QUIET)
            return
        if self.notifier is None:
            self._no_notification(b, level, "this process shows no desktop notifications")
            alerts.set_outcome(b.id, key, level, alerts.UNAVAILABLE, attempted=True)
            return
        title, text = notification_text(status, level, tz)
        delivery = self.notifier.send(title, text, critical=level == "exceeded")
        if delivery.shown:
            alerts.set_outcome(b.id, key, level, alerts.SENT, notified_ms=int(self.clock() * 1000), attempted=True)
            log.info("notified: %s: %s", title, text)
            self._last_reason = None
        else:
            alerts.set_outcome(b.id, key, level, alerts.UNAVAILABLE, attempted=True)
            self._no_notification(b, level, delivery.reason or "unknown reason")

    def _no_notification(self, budget: BudgetRecord, level: str, reason: str) -> None:
        if reason != self._last_reason:  # say it once, not on every retry
            log.warning("budget %r reached %s but no desktop notification was shown: %s (the event and the tray "
                        "state still happen)", budget.name, level, reason)
            self._last_reason = reason

    def _publish_summary(self, statuses: list[BudgetStatus]) -> None:
        rows = [{"id": s.budget.id, "name": s.budget.name, "status": s.status, "percentage": s.percentage,
                 "muted": s.budget.muted, "forecast_warns": s.budget.warn_on_forecast and s.forecast_warns}
                for s in statuses]
        summary = (self.level, tuple(tuple(sorted(r.items())) for r in rows))
        if summary != self._summary:
            self._summary = summary
            self.bus.publish({"type": "budgets.status", "level": self.level, "budgets": rows})


def status_line(status: BudgetStatus) -> str:
    from store.budgets.status import money

    b = status.budget
    mark = {"ok": "", "warning": "  ⚠", "exceeded": "  ✖"}[status.status]
    muted = " (muted)" if b.muted else ""
    return f"{b.name}: {money(status.spend.usd)} of {money(b.amount)} {b.period} ({status.percentage:g}%){mark}{muted}"
