"""A minimal page at ``/`` for when the dashboard's pages (``ui.pages``) are not registered: today's spend, the
5-hour block and the budgets, so the desktop window always has something real to show.

Figures are read on a worker thread (``run.io_bound``) and refreshed every few seconds, so the page stays live
while the window is open and costs nothing when it is closed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from nicegui import app, run, ui

REFRESH_S = 3.0


@dataclass(frozen=True, slots=True)
class HomeData:
    today: str
    block: str
    budgets: list[dict[str, Any]]
    as_of: str


def home_data() -> HomeData:
    from desktop.usage_summary import usage_summary
    from store.budgets.status import current_statuses, money
    from store.timezones import resolve_timezone

    archive = app.state.archive
    summary = usage_summary(archive)
    tz = resolve_timezone(archive.settings.timezone)
    rows = []
    for status in current_statuses(archive.db, archive.prices, tz, summary.now_ms):
        budget = status.budget
        rows.append({"name": budget.name, "status": status.status, "fraction": min(status.percentage / 100, 1.0),
                     "text": f"{money(status.spend.usd)} of {money(budget.amount)} {budget.period} "
                             f"({status.percentage:g}%)"})
    return HomeData(summary.today_text(), summary.block_text(), rows, time.strftime("%H:%M:%S"))


_COLOURS = {"ok": "positive", "warning": "warning", "exceeded": "negative"}


def register() -> bool:
    """Add the page unless a dashboard page already answers ``/`` (NiceGUI would replace it); True if added."""
    if any(getattr(route, "path", None) == "/" for route in app.routes):
        return False

    @ui.page("/", title="Devhelion")
    async def home() -> None:
        with ui.column().classes("w-full max-w-2xl mx-auto p-6 gap-4"):
            ui.label("Devhelion").classes("text-3xl font-bold")
            with ui.card().classes("w-full"):
                today = ui.label("Today: …").classes("text-2xl").mark("today")
                block = ui.label("").classes("text-lg text-gray-600").mark("block")
            ui.label("Budgets").classes("text-xl font-semibold")
            budgets = ui.column().classes("w-full gap-2")
            updated = ui.label("").classes("text-xs text-gray-400")

        async def refresh() -> None:
            data = await run.io_bound(home_data)
            today.text, block.text, updated.text = data.today, data.block, f"Updated {data.as_of}"
            budgets.clear()
            with budgets:
                if not data.budgets:
                    ui.label("No budgets yet: add one with `devhelion budgets add` or POST /api/budgets.") \
                        .classes("text-gray-500")
                for row in data.budgets:
                    with ui.card().classes("w-full"):
                        ui.label(f"{row['name']}: {row['text']}")
                        ui.linear_progress(row["fraction"], show_value=False, color=_COLOURS[row["status"]])

        await refresh()
        ui.timer(REFRESH_S, refresh)

    return True
