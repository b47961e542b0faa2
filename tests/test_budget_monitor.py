"""The budget monitor on a real archive and bus: one event and one notification attempt per budget, level and
period, kept across restarts; quiet hours wait, muted and disabled never notify; periods roll over.

Notifications themselves are read back from a real daemon in tests/test_desktop_app.py; here the monitor runs
without a notifier, which is the path of a machine with no notification service.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from desktop.budgets.monitor import DAILY_LIMIT_ID, BudgetMonitor
from desktop.live.bus import EventBus
from store.archive import Archive
from store.budgets import alerts
from store.budgets.repo import create_budget
from store.config import NotificationSettings
from store.sync_runner import SyncRunner
from tests.budget_tools import DOLLAR_OF_OUTPUT, append, empty_home_archive, spend_line
from tests.test_budget_periods import ms

NOON = ms("2026-03-11T16:00:00Z")  # Wednesday 11 March, 12:00 EDT


@pytest.fixture
def archive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Archive]:
    with closing(empty_home_archive(tmp_path, monkeypatch)) as archive:
        yield archive


class Recorder:
    def __init__(self, bus: EventBus) -> None:
        self.events: list[dict] = []
        bus.add_listener(self.events.append)

    def budget_events(self) -> list[tuple[str, str, str]]:
        return [(e["type"], e["level"], e["name"]) for e in self.events if e["type"].startswith("budget.")]

    def clear(self) -> None:
        self.events.clear()


def spend(archive: Archive, dollars: int, at_ms: int, start: int = 0) -> None:
    path = archive.roots[0] / "projects" / "-work-app" / "s1.jsonl"
    append(path, *(spend_line(start + i, at_ms - i * 1000, DOLLAR_OF_OUTPUT) for i in range(dollars)))
    archive.refresh()


def outcomes(budget_id: int, key: str) -> dict[str, str]:
    return {row.level: row.outcome for row in alerts.alerts_for(budget_id, key)}


def test_each_level_is_announced_once_per_period_and_never_again_after_a_restart(archive: Archive) -> None:
    bus = EventBus()
    seen = Recorder(bus)
    budget = create_budget({"name": "Daily", "amount": 10, "period": "daily"})
    monitor = BudgetMonitor(archive, bus, notifier=None)
    assert monitor.evaluate(NOON)[0].status == "ok" and seen.budget_events() == []
    spend(archive, 8, NOON)  # 80%
    monitor.evaluate(NOON)
    assert seen.budget_events() == [("budget.warning", "warning", "Daily")]
    warning = next(e for e in seen.events if e["type"] == "budget.warning")
    assert warning["percentage"] == pytest.approx(80.0, abs=0.01) and "of your daily budget" in warning["message"]
    assert monitor.level == "warning"
    assert seen.events[-1]["type"] == "budgets.status" and seen.events[-1]["level"] == "warning"
    seen.clear()
    monitor.evaluate(NOON + 60_000)
    assert seen.budget_events() == []  # nothing new, and the summary did not change either
    assert seen.events == []
    spend(archive, 3, NOON + 120_000, start=100)  # 110%
    monitor.evaluate(NOON + 120_000)
    assert seen.budget_events() == [("budget.exceeded", "exceeded", "Daily")]
    key = "daily:2026-03-11"
    # the warning never reached anyone (no notification service): the exceeded notification replaces it
    assert outcomes(budget.id, key) == {"warning": "superseded", "exceeded": "unavailable"}
    seen.clear()
    restarted = BudgetMonitor(archive, bus, notifier=None)  # a new process reads the same archive
    restarted.evaluate(NOON + 180_000)
    assert seen.budget_events() == [] and restarted.level == "exceeded"
    tomorrow = NOON + 24 * 3_600_000
    restarted.evaluate(tomorrow)  # a new day: the old period's deferred alerts expire, the new one starts at 0
    assert seen.budget_events() == [] and restarted.statuses[0].status == "ok" and restarted.level == "ok"
    assert outcomes(budget.id, key) == {"warning": "superseded", "exceeded": "expired"}


def test_both_levels_at_once_give_one_notification_for_the_higher(archive: Archive) -> None:
    bus = EventBus()
    seen = Recorder(bus)
    budget = create_budget({"name": "Weekly", "amount": 5, "period": "weekly"})
    spend(archive, 6, NOON)
    BudgetMonitor(archive, bus, notifier=None).evaluate(NOON)
    assert seen.budget_events() == [("budget.warning", "warning", "Weekly"), ("budget.exceeded", "exceeded", "Weekly")]
    assert outcomes(budget.id, "weekly:2026-03-09") == {"warning": "superseded", "exceeded": "unavailable"}


def test_muted_disabled_and_quiet_hours(archive: Archive) -> None:
    bus = EventBus()
    seen = Recorder(bus)
    muted = create_budget({"name": "Muted", "amount": 5, "period": "daily", "muted": True})
    loud = create_budget({"name": "Loud", "amount": 5, "period": "monthly"})
    spend(archive, 6, NOON)
    quiet = NotificationSettings(quiet_hours="11:00-13:00")  # NOON is 12:00 in New York
    archive.settings = replace(archive.settings, notifications=quiet)
    monitor = BudgetMonitor(archive, bus, notifier=None)
    monitor.evaluate(NOON)
    assert outcomes(muted.id, "daily:2026-03-11") == {"warning": "superseded", "exceeded": "muted"}
    assert outcomes(loud.id, "monthly:2026-03-01") == {"warning": "superseded", "exceeded": "quiet"}
    assert len(seen.budget_events()) == 4  # events and the tray state happen whatever the notifications do
    assert monitor.level == "exceeded"  # from the loud budget: a muted one does not colour the icon
    monitor.evaluate(NOON + 2 * 3_600_000)  # 14:00: quiet hours are over, the deferred notification is tried
    row = next(r for r in alerts.alerts_for(loud.id, "monthly:2026-03-01") if r.level == "exceeded")
    assert (row.outcome, row.attempts) == ("unavailable", 1)
    archive.settings = replace(archive.settings, notifications=NotificationSettings(enabled=False))
    off = create_budget({"name": "Off", "amount": 1, "period": "daily"})
    monitor.evaluate(NOON + 2 * 3_600_000)
    assert outcomes(off.id, "daily:2026-03-11")["exceeded"] == "disabled"


def test_forecast_warnings_need_the_budget_to_ask_for_them(archive: Archive) -> None:
    bus = EventBus()
    seen = Recorder(bus)
    create_budget({"name": "Pace", "amount": 20, "period": "weekly", "warn_on_forecast": True})
    create_budget({"name": "Plain", "amount": 20, "period": "weekly"})
    spend(archive, 8, NOON)  # 40% by Wednesday noon: about 22 by Sunday night
    BudgetMonitor(archive, bus, notifier=None).evaluate(NOON)
    assert seen.budget_events() == [("budget.warning", "forecast", "Pace")]
    event = next(e for e in seen.events if e.get("level") == "forecast")
    assert event["message"].startswith("At this pace you pass the weekly budget on Sunday")


def test_the_daily_spend_limit_setting_is_watched_like_a_budget(archive: Archive) -> None:
    bus = EventBus()
    seen = Recorder(bus)
    archive.settings = replace(archive.settings, notifications=NotificationSettings(daily_cost_limit_usd="3"))
    spend(archive, 4, NOON)
    BudgetMonitor(archive, bus, notifier=None).evaluate(NOON)
    assert seen.budget_events() == [("budget.warning", "warning", "Daily spend limit"),
                                    ("budget.exceeded", "exceeded", "Daily spend limit")]
    assert outcomes(DAILY_LIMIT_ID, "daily:2026-03-11")["exceeded"] == "unavailable"


def test_the_thread_evaluates_after_each_ingest_of_the_sync_runner(archive: Archive) -> None:
    bus = EventBus()
    seen = Recorder(bus)
    runner = SyncRunner(archive)
    monitor = BudgetMonitor(archive, bus, notifier=None, interval_s=3600)
    monitor.attach(runner)
    create_budget({"name": "Now", "amount": "0.5", "period": "daily"})
    monitor.start()
    try:
        import time

        path = archive.roots[0] / "projects" / "-work-app" / "s1.jsonl"
        append(path, spend_line(1, int(time.time() * 1000), DOLLAR_OF_OUTPUT))
        runner.start()
        runner.wait(30)
        deadline = time.monotonic() + 10
        while monitor.level != "exceeded" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ("budget.exceeded", "exceeded", "Now") in seen.budget_events()
        assert monitor.statuses[0].spend.usd > Decimal("0.5")
    finally:
        monitor.stop()
