"""Budgets (``/budgets``): each budget's spend in its current period against its amount, the forecast at the
period's end, and create / edit / delete. Changes reach the running budget monitor at once (tray and
notifications follow)."""

from __future__ import annotations

from typing import Any

from nicegui import app, run, ui

from store.budgets.repo import BudgetRecord, create_budget, delete_budget, update_budget
from store.budgets.status import BudgetStatus, current_statuses, forecast_message
from store.budgets.validate import BudgetError
from ui import fmt, widgets
from ui.context import Ctx
from ui.layout import Frame

PERIODS = {"daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}


def load_budgets(ctx: Ctx) -> list[BudgetStatus]:
    return current_statuses(ctx.db, ctx.prices, ctx.tz, ctx.now_ms)


def _evaluate_soon() -> None:
    """Let the budget monitor (desktop app and server) re-check now, as the REST API does after a change."""
    monitor = getattr(app.state, "budgets", None)
    if monitor is not None:
        monitor.request()


def save_budget(values: dict[str, Any], budget_id: int | None = None) -> BudgetRecord | None:
    record = create_budget(values) if budget_id is None else update_budget(budget_id, values)
    _evaluate_soon()
    return record


def remove_budget(budget_id: int) -> bool:
    deleted = delete_budget(budget_id)
    _evaluate_soon()
    return deleted


class BudgetsView:
    """The page's list and its dialogs; reloads the list section after each change."""

    def __init__(self, frame: Frame) -> None:
        self.frame = frame
        self.section = frame.section("budgets", load_budgets, self.render, height="h-48", classes="dh-primary",
                                     cache=False)

    def render(self, statuses: list[BudgetStatus], ctx: Ctx) -> None:
        if not statuses:
            widgets.empty("No budgets yet", "A budget warns you (desktop notification, tray icon, this page) before "
                          "a day's, week's or month's spend passes the amount you set.", "savings",
                          ("Create a budget", self.edit))
            return
        with ui.grid().classes("w-full gap-4 grid-cols-1 lg:grid-cols-2"):
            for status in statuses:
                self._card(status, ctx)

    def _card(self, s: BudgetStatus, ctx: Ctx) -> None:
        b = s.budget
        with widgets.card().mark("budget-card"):
            with ui.row().classes("w-full items-center justify-between no-wrap"):
                with ui.column().classes("gap-0"):
                    ui.label(b.name).classes("dh-h2")
                    scope = " · ".join(x for x in (PERIODS[b.period], b.project and f"project {b.project}",
                                                   b.model and f"model {b.model}", b.muted and "muted") if x)
                    ui.label(scope).classes("text-xs dh-muted")
                with ui.row().classes("gap-1"):
                    ui.button(icon="edit", on_click=lambda b=b: self.edit(b)).props(
                        f'flat round dense aria-label="Edit {b.name}"').mark("budget-edit")
                    ui.button(icon="delete", on_click=lambda b=b: self.delete(b)).props(
                        f'flat round dense aria-label="Delete {b.name}"').mark("budget-delete")
            ui.label(f"{fmt.money(s.spend.usd, bool(s.spend.unpriced))} of {fmt.money(b.amount)}") \
                .classes("dh-kpi-value").mark("budget-spend")
            widgets.bar(s.percentage / 100, widgets.status_color(s.status),
                        f"{s.percentage:g}% of the budget used")
            with ui.row().classes("w-full justify-between text-sm"):
                ui.label(f"{s.percentage:g}% used · {s.status}").classes(f"text-{widgets.status_color(s.status)}")
                ui.label(f"period {fmt.local_time(s.period.start_ms, ctx.tz)[:10]} → "
                         f"{fmt.local_time(s.period.end_ms - 1, ctx.tz)[:10]}").classes("dh-muted")
            if s.forecast_usd is not None:
                message = forecast_message(s, ctx.tz) if s.forecast_warns else None
                ui.label(message or f"Forecast at the end of the period: {fmt.money(s.forecast_usd)}"
                         + ("" if s.forecast_reliable else " (early in the period: rough)")).classes(
                    "text-sm" + (" text-warning" if message else " dh-muted"))

    async def edit(self, budget: BudgetRecord | None = None) -> None:
        with ui.dialog() as dialog, ui.card().classes("gap-3 p-5 min-w-[360px]"):
            ui.label("Edit budget" if budget else "New budget").classes("dh-h2")
            name = ui.input("Name", value=budget.name if budget else "").props("outlined dense autofocus") \
                .mark("budget-name")
            amount = ui.number("Amount (US$)", value=float(budget.amount) if budget else None, min=0.01, step=1,
                               format="%.2f").props("outlined dense").mark("budget-amount")
            period = ui.select(PERIODS, value=budget.period if budget else "monthly", label="Period") \
                .props("outlined dense").mark("budget-period")
            threshold = ui.number("Warn at (% of the amount)", value=round((budget.warning_threshold if budget
                                                                            else 0.8) * 100), min=1, max=100) \
                .props("outlined dense")
            project = ui.input("Project (optional)", value=(budget.project or "") if budget else "") \
                .props("outlined dense")
            model = ui.input("Model (optional)", value=(budget.model or "") if budget else "").props("outlined dense")
            forecast = ui.checkbox("Also warn when the forecast passes the amount",
                                   value=budget.warn_on_forecast if budget else False)
            muted = ui.checkbox("Mute notifications", value=budget.muted if budget else False)
            error = ui.label("").classes("text-sm text-negative")

            async def submit() -> None:
                values = {"name": name.value, "amount": amount.value, "period": period.value,
                          "warning_threshold": (threshold.value or 0) / 100, "project": project.value or None,
                          "model": model.value or None, "warn_on_forecast": bool(forecast.value),
                          "muted": bool(muted.value)}
                try:
                    await run.io_bound(save_budget, values, budget.id if budget else None)
                except BudgetError as exc:
                    error.set_text(f"{exc.field.replace('_', ' ')}: {exc}")
                    return
                dialog.submit(True)

            with ui.row().classes("justify-end w-full gap-2"):
                ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat")
                ui.button("Save", on_click=submit).props("unelevated").mark("budget-save")
        saved = await dialog
        dialog.delete()
        if saved:
            ui.notify("Budget saved", type="positive")
            await self.section.load(self.frame.ctx())

    async def delete(self, budget: BudgetRecord) -> None:
        with ui.dialog() as dialog, ui.card().classes("gap-3 p-5"):
            ui.label(f"Delete the budget “{budget.name}”?").classes("dh-h2")
            ui.label("Its alert history goes with it.").classes("text-sm dh-muted")
            with ui.row().classes("justify-end w-full gap-2"):
                ui.button("Cancel", on_click=lambda: dialog.submit(False)).props("flat")
                ui.button("Delete", color="negative", on_click=lambda: dialog.submit(True)).mark("budget-confirm")
        confirmed = await dialog
        dialog.delete()
        if confirmed:
            await run.io_bound(remove_budget, budget.id)
            ui.notify("Budget deleted")
            await self.section.load(self.frame.ctx())


def register() -> None:
    @ui.page("/budgets", title="Budgets · Devhelion")
    async def page() -> None:
        frame = Frame("/budgets", "Budgets", filters=False, explain="Spend limits per day, week or month (optionally "
                      "for one project or model), with a forecast at the period's end. Periods follow your time zone; "
                      "weeks start on your locale's first day unless start_of_week is set.")
        with frame.content:
            view = BudgetsView(frame)
        with frame.actions:
            ui.button("New budget", icon="add", on_click=lambda: view.edit()).props("unelevated no-caps") \
                .mark("budget-new")
        await frame.start()
