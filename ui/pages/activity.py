"""Activity (``/activity``): when you work with Claude: a calendar of daily spend, and the hour-of-day and
weekday pattern of requests and cost (local time)."""

from __future__ import annotations

from datetime import date, timedelta

from nicegui import ui

from store.dashboard.activity import HourGrid, hour_grid
from ui import charts, fmt, widgets
from ui.context import Ctx
from ui.layout import Frame
from ui.pages.common import Series, no_data_hint, usage_series

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CALENDAR_DAYS = 371  # the calendar shows at most the last year of the range


def load_calendar(ctx: Ctx) -> Series:
    return usage_series(ctx, "daily")


def load_hours(ctx: Ctx) -> HourGrid:
    return hour_grid(ctx.db, ctx.prices, ctx.report_filters())


def render_summary(series: Series, ctx: Ctx) -> None:
    if series.empty:
        widgets.empty("No activity in this range", no_data_hint(ctx.filt, ctx.today), "calendar_month")
        return
    days = {k: p.total for k, p in series.periods.items() if p.total.requests}
    busiest = max(days, key=lambda d: days[d].cost)
    with ui.grid().classes("w-full gap-4 grid-cols-1 sm:grid-cols-3"):
        widgets.kpi("Active days", fmt.integer(len(days)), marker="kpi-active-days",
                    sub=f"of {fmt.plural(len(series.keys), 'day')} in the range",
                    explain="Local days with at least one request.")
        widgets.kpi("Spend per active day", fmt.money(series.total.cost / len(days), bool(series.total.unpriced)),
                    sub=f"{fmt.money(series.total.cost, bool(series.total.unpriced))} in total",
                    explain="The range's cost divided by its active days.")
        widgets.kpi("Busiest day", fmt.day_label(date.fromisoformat(busiest)), sub=fmt.money(days[busiest].cost),
                    explain="The local day with the highest cost in the range.")


def render_calendar(series: Series, ctx: Ctx) -> None:
    with widgets.card():
        widgets.heading("Daily spend", "Each square is a local day, darker for more spend (hover for the amount).")
        if series.empty:
            ui.label("Nothing to show: no request in this range.").classes("text-sm dh-muted")
            return
        days = {k: float(p.total.cost) for k, p in series.periods.items()}
        last = date.fromisoformat(series.keys[-1])
        first = max(date.fromisoformat(series.keys[0]), last - timedelta(days=CALENDAR_DAYS - 1))
        charts.chart(charts.calendar(days, first.isoformat(), last.isoformat()), "h-44", marker="chart-calendar")
        if first > date.fromisoformat(series.keys[0]):
            ui.label(f"The calendar shows the range's last {CALENDAR_DAYS} days.").classes("text-xs dh-muted")


def render_hours(grid: HourGrid, ctx: Ctx) -> None:
    hours = grid.hours()
    with ui.row().classes("w-full gap-4 no-wrap max-lg:flex-wrap items-stretch"):
        with widgets.card("flex-1 min-w-[320px]"):
            widgets.heading("Hour of day", "Requests and cost per local hour over the range.")
            if grid.total().requests == 0:
                widgets.empty("No activity in this range", no_data_hint(ctx.filt, ctx.today), "schedule")
                return
            labels = [f"{h:02d}" for h in range(24)]
            options = charts.stacked_bars(labels, {"cost": [float(u.cost) for u in hours]}, "money")
            options["legend"] = {"show": False}
            charts.chart(options, "h-64", marker="chart-hours")
        with widgets.card("flex-1 min-w-[320px]"):
            widgets.heading("Weekday × hour", "Cost per local weekday and hour: when your heavy sessions happen.")
            values = [[float(grid.cells[d][h].cost) for h in range(24)] for d in range(7)]
            charts.chart(charts.grid_heatmap(WEEKDAYS, [f"{h:02d}" for h in range(24)], values), "h-64",
                         marker="chart-week-hours")


def register() -> None:
    @ui.page("/activity", title="Activity · Devhelion")
    async def page() -> None:
        frame = Frame("/activity", "Activity", explain="When you use Claude Code: daily spend on a calendar and the "
                      "hour-of-day pattern, in your time zone.")
        with frame.content:
            frame.section("summary", load_calendar, render_summary, skeleton="kpis", classes="dh-primary",
                          shared="calendar")
            frame.section("calendar", load_calendar, render_calendar, height="h-56", shared="calendar")
            frame.section("hours", load_hours, render_hours, height="h-64")
        await frame.start()
