"""Overview (``/``): where the money and tokens went, at a glance.

Today, this week and this month against the same stretch of the previous period; the range's cost per day by
model; which models and projects it went to; what is running now (active sessions, the 5-hour block with its
burn rate, the plan quota the statusline reported); budgets and unread insights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nicegui import ui

from store.budgets.status import BudgetStatus, current_statuses
from store.dashboard.block import current_block
from store.dashboard.periods import PeriodComparison, period_comparisons
from store.insights.records import list_insights
from store.monitor.dimensions import project_stats
from store.monitor.params import ACTIVE_WINDOW_MS, Page, Scope
from store.monitor.sessions import list_sessions
from store.quota import latest_quota
from store.reports.blocks import Block
from ui import charts, fmt, widgets
from ui.context import Ctx
from ui.layout import Frame
from ui.pages.common import GRAIN_NOUN, Series, no_data_hint, usage_series

TOP_PROJECTS = 6


# -- loaders (plain functions of the context: tested without a browser) ---------------------------------------
def load_periods(ctx: Ctx) -> list[PeriodComparison]:
    return period_comparisons(ctx.db, ctx.prices, ctx.tz, ctx.now_ms, ctx.start_of_week, ctx.filt.project)


def load_spend(ctx: Ctx) -> Series:
    return usage_series(ctx)


@dataclass(frozen=True, slots=True)
class Now:
    block: Block | None
    quota: dict[str, dict[str, Any] | None]


def load_now(ctx: Ctx) -> Now:
    return Now(current_block(ctx.db, ctx.prices, ctx.now_ms), latest_quota(ctx.db, ctx.now_ms))


def load_active(ctx: Ctx) -> list[dict[str, Any]]:
    """Sessions with a line in the last 15 minutes (of the filtered project)."""
    scope = Scope(ctx.tz, ctx.now_ms - ACTIVE_WINDOW_MS, None, ctx.filt.project)
    return list_sessions(ctx.db, ctx.prices, scope, Page(8, 0), now=ctx.now_ms)["sessions"]


def load_projects(ctx: Ctx) -> dict[str, Any]:
    return project_stats(ctx.db, ctx.prices, ctx.scope())


def load_budgets(ctx: Ctx) -> list[BudgetStatus]:
    return current_statuses(ctx.db, ctx.prices, ctx.tz, ctx.now_ms)


def load_insights(ctx: Ctx) -> dict[str, Any]:
    return list_insights(ctx.db.connection(), unread_only=True)


# -- renderers ------------------------------------------------------------------------------------------------
_PERIOD_HELP = {
    "today": "Spend and tokens of requests made today (local time, your configured zone), compared with "
             "yesterday up to the same time of day.",
    "week": "Since the start of this week, compared with last week up to the same point.",
    "month": "Since the first of this month, compared with last month up to the same point.",
}


def render_periods(periods: list[PeriodComparison], ctx: Ctx) -> None:
    with ui.grid().classes("w-full gap-4 grid-cols-1 sm:grid-cols-3"):
        for p in periods:
            unpriced = bool(p.current.unpriced)
            explain = _PERIOD_HELP[p.name] + (" Tokens: input, output, cache writes and cache reads."
                                              + (" Some models have no price: the figure is a lower bound."
                                                 if unpriced else ""))
            widgets.kpi(p.label, fmt.money(p.current.cost, unpriced), explain=explain,
                        sub=f"{fmt.tokens(p.current.total_tokens)} tokens · {fmt.integer(p.current.requests)} "
                            "requests",
                        change=fmt.delta(float(p.current.cost), float(p.previous.cost)),
                        change_label=f"{p.previous_label} ({fmt.money(p.previous.cost)})",
                        exact=f"${p.current.cost:.6f}", marker=f"kpi-{p.name}")


def render_spend(series: Series, ctx: Ctx) -> None:
    noun = GRAIN_NOUN[series.grain]
    with ui.row().classes("w-full items-stretch gap-4 no-wrap max-md:flex-wrap"):
        with widgets.card("flex-[2]"):
            with ui.row().classes("w-full items-center justify-between"):
                widgets.heading(f"Cost per {noun} by model",
                                "What each model cost per local day (or week, month for long ranges), priced from "
                                "the stored tokens with the bundled price table and your overrides.")
                ui.label(f"{fmt.money(series.total.cost, bool(series.total.unpriced))} · "
                         f"{fmt.tokens(series.total.total_tokens)} tokens in {ctx.filt.label(ctx.today).lower()}") \
                    .classes("text-sm dh-muted").mark("range-total").props('data-testid="range-total"')
            if series.empty:
                widgets.empty("No usage in this range", no_data_hint(ctx.filt, ctx.today), "bar_chart")
            else:
                charts.chart(series.cost_chart(), "h-80", marker="chart-daily-cost")
        with widgets.card("flex-1 min-w-[280px]"):
            widgets.heading("Models", "Share of the range's cost per model (fast mode shown as <model>-fast).")
            if series.empty:
                widgets.empty("No models yet", "Models appear once requests are archived.", "memory")
            else:
                items = sorted(((m, float(u.cost)) for m, u in series.models.items()), key=lambda x: -x[1])
                colours = {m: charts.model_color(m) for m, _ in items}
                charts.chart(charts.donut(items, "money", colours, {m: fmt.model_label(m) for m, _ in items}), "h-64",
                             marker="chart-models")
                total = float(series.total.cost) or 1.0
                with ui.column().classes("w-full gap-1"):
                    for model, value in items[:5]:
                        with ui.row().classes("w-full justify-between text-sm no-wrap"):
                            ui.label(fmt.model_label(model)).tooltip(model).classes("truncate")
                            ui.label(f"{fmt.money(value)} · {fmt.percent(value / total, 0)}").classes("dh-muted")


def _quota(quota: dict[str, dict[str, Any] | None], ctx: Ctx) -> None:
    windows = [(name, quota.get(name)) for name in ("five_hour", "seven_day")]
    if not any(sample for _, sample in windows):
        ui.label("Plan quota appears here once the Devhelion statusline has run (devhelion statusline install).") \
            .classes("text-xs dh-muted")
        return
    ui.separator()
    with ui.row().classes("items-center gap-1"):
        ui.label("Plan quota").classes("text-sm font-medium")
        widgets.info("Your real subscription usage as Claude Code's statusline last reported it (not an estimate).")
    for name, sample in windows:
        if not sample:
            continue
        used = (sample.get("usedPercentage") or 0) / 100
        label = "5-hour window" if name == "five_hour" else "Weekly"
        resets = fmt.iso_local(sample.get("resetsAt"), ctx.tz)
        stale = " (stale: the window has reset)" if sample.get("expired") else ""
        ui.label(f"{label}: {fmt.percent(used, 0)} used · resets {resets}{stale}").classes("text-xs") \
            .mark(f"quota-{name}")
        widgets.bar(used, "negative" if used >= 0.9 else "warning" if used >= 0.7 else "primary")


def render_projects(data: dict[str, Any], ctx: Ctx) -> None:
    projects = [p for p in data["projects"] if p["requests"]][:TOP_PROJECTS]
    with widgets.card():
        widgets.heading("Top projects", "Projects by cost in the range; click one to filter every page by it.")
        if not projects:
            widgets.empty("No project usage", no_data_hint(ctx.filt, ctx.today), "folder_open")
            return
        top = max(p["cost_usd"] for p in projects) or 1.0
        for p in projects:
            url = ctx.filt.with_project(p["project"]).url("/projects") if p["project"] else None
            with ui.column().classes("w-full gap-1"):
                with ui.row().classes("w-full justify-between no-wrap gap-2"):
                    label = p["project_name"] or "(no project)"
                    if url:
                        ui.link(label, url).classes("dh-link truncate").tooltip(p["project"])
                    else:
                        ui.label(label)
                    ui.label(f"{fmt.money(p['cost_usd'])} · {fmt.plural(p['sessions'], 'session')}") \
                        .classes("text-sm dh-muted")
                widgets.bar(p["cost_usd"] / top)


def render_budgets(statuses: list[BudgetStatus], ctx: Ctx) -> None:
    with widgets.card():
        with ui.row().classes("w-full items-center justify-between"):
            widgets.heading("Budgets", "Spend of each budget's current period against its amount; the forecast "
                                       "extends the period's pace to its end.")
            ui.link("Manage", ctx.filt.url("/budgets")).classes("dh-link text-sm")
        if not statuses:
            widgets.empty("No budgets yet", "Set a daily, weekly or monthly budget to get a warning before it is "
                                            "blown.", "savings",
                          ("Create a budget", lambda: ui.navigate.to(ctx.filt.url("/budgets"))))
        for s in statuses:
            with ui.column().classes("w-full gap-1"):
                with ui.row().classes("w-full justify-between no-wrap"):
                    ui.label(s.budget.name).classes("font-medium")
                    ui.label(f"{fmt.money(s.spend.usd)} of {fmt.money(s.budget.amount)} {s.budget.period}") \
                        .classes("text-sm dh-muted")
                widgets.bar(s.percentage / 100, widgets.status_color(s.status))


def render_insights(data: dict[str, Any], ctx: Ctx) -> None:
    with widgets.card():
        with ui.row().classes("w-full items-center justify-between"):
            widgets.heading("Unread insights", "Trends, anomalies and tips the insights engine found in your archive.")
            ui.link("All insights", ctx.filt.url("/insights")).classes("dh-link text-sm")
        if not data["insights"]:
            widgets.empty("Nothing new", "Insights appear after ingests when something stands out (a cost spike, "
                                         "cache expiring, repeated tool errors).", "lightbulb")
        for item in data["insights"][:4]:
            with ui.row().classes("w-full no-wrap gap-2 items-start"):
                ui.icon("lightbulb", color="accent", size="18px")
                with ui.column().classes("gap-0 min-w-0"):
                    ui.label(item["title"]).classes("font-medium text-sm")
                    ui.label(item["description"]).classes("text-xs dh-muted line-clamp-2")


def register() -> None:
    for path in ("/", "/overview"):
        ui.page(path, title="Overview · Devhelion")(page)


async def page() -> None:
    frame = Frame("/", "Overview", nav="/", explain="Your Claude Code spend and tokens: the periods so far, the "
                  "selected date range, and what is running now. Every figure honours the project filter.")
    with frame.content:
        frame.section("periods", load_periods, render_periods, skeleton="kpis", classes="dh-primary")
        frame.section("spend", load_spend, render_spend, height="h-96")
        with ui.grid().classes("w-full gap-4 grid-cols-1 lg:grid-cols-3"):
            frame.section("now", load_now, render_now_block, height="h-64", cache=False)
            frame.section("active", load_active, render_active, height="h-64", cache=False)
            frame.section("projects", load_projects, render_projects, height="h-64")
        with ui.grid().classes("w-full gap-4 grid-cols-1 lg:grid-cols-2"):
            frame.section("budgets", load_budgets, render_budgets, height="h-40", cache=False)
            frame.section("insights", load_insights, render_insights, height="h-40", cache=False)
    await frame.start()


def render_now_block(now: Now, ctx: Ctx) -> None:
    with widgets.card():
        widgets.heading("Current 5-hour block",
                        "Claude plans meter usage in 5-hour windows that start at your first request (floored to "
                        "the hour). Burn rate is the block's cost per hour so far; the projection assumes that "
                        "pace until the block ends.")
        block = now.block
        if block is None:
            widgets.empty("No active block", "A block starts with your next Claude Code request.", "timer")
        else:
            elapsed = max(0.0, min(1.0, (ctx.now_ms - block.start_ms) / (block.end_ms - block.start_ms)))
            ui.label(fmt.money(block.cost_usd)).classes("dh-kpi-value").mark("block-cost").props('data-testid="block-cost"')
            ui.label(f"{fmt.tokens(block.total_tokens)} tokens · {block.entries} requests · ends "
                     f"{fmt.local_time(block.end_ms, ctx.tz, with_date=False)[:5]}").classes("text-sm dh-muted")
            widgets.bar(elapsed, label=f"{fmt.percent(elapsed, 0)} of the block elapsed")
            if block.burn_rate is not None:
                ui.label(f"Burn rate {fmt.money(block.burn_rate.cost_per_hour)}/h · "
                         f"{fmt.tokens(block.burn_rate.tokens_per_minute)} tokens/min").classes("text-sm")
            if block.projection is not None:
                ui.label(f"Projected {fmt.money(block.projection.total_cost)} · "
                         f"{fmt.tokens(block.projection.total_tokens)} tokens by the end").classes("text-sm")
        _quota(now.quota, ctx)


def render_active(sessions: list[dict[str, Any]], ctx: Ctx) -> None:
    with widgets.card():
        widgets.heading("Active now", "Sessions with a transcript line in the last 15 minutes.")
        if not sessions:
            widgets.empty("No active sessions", "Sessions show up here while Claude Code is working.", "forum")
        for s in sessions:
            with ui.row().classes("w-full justify-between items-center no-wrap gap-2"):
                with ui.column().classes("gap-0 min-w-0"):
                    widgets.session_link(s["id"], s["title"], ctx.filt.query_string()).classes("truncate")
                    seen = fmt.relative(fmt.parse_iso_ms(s["ended_at"]), ctx.now_ms)
                    ui.label(f"{s['project_name'] or '–'} · {seen}").classes("text-xs dh-muted")
                ui.label(fmt.money(s["usage"]["cost_usd"])).classes("text-sm")
