"""Errors (``/errors``): how often tools fail and how that moves, which tools fail, and the error patterns
(similar messages grouped) with examples that open the sessions where they happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from nicegui import ui

from store.dashboard.catalog import last_request_ms
from store.dashboard.errors import pattern_sessions
from store.monitor.errors import error_stats
from store.monitor.params import Scope
from store.timezones import local_date, local_day_start_utc_ms
from ui import charts, fmt, widgets
from ui.context import Ctx
from ui.layout import Frame
from ui.pages.common import no_data_hint


@dataclass(frozen=True, slots=True)
class ErrorsData:
    stats: dict[str, Any]
    sessions: dict[str, list[dict[str, Any]]]


def load_errors(ctx: Ctx) -> ErrorsData:
    scope = ctx.scope()
    if scope.end_ms is None:  # an open range: the 30-day trend ends with the last day that has data
        last = last_request_ms(ctx.db)
        if last is not None and local_date(last, ctx.tz) < ctx.today:
            end = local_day_start_utc_ms(local_date(last, ctx.tz) + timedelta(days=1), ctx.tz)
            scope = Scope(ctx.tz, scope.start_ms, end, scope.project)
    stats = error_stats(ctx.db, scope, now=ctx.now_ms)
    sessions = pattern_sessions(ctx.db, scope, [p["pattern"] for p in stats["patterns"]])
    return ErrorsData(stats, sessions)


def render_summary(data: ErrorsData, ctx: Ctx) -> None:
    s = data.stats
    with ui.grid().classes("w-full gap-4 grid-cols-2 lg:grid-cols-4"):
        widgets.kpi("Failed tool calls", fmt.integer(s["total_errors"]), marker="kpi-errors",
                    explain="Tool calls whose result was an error, in the range.")
        widgets.kpi("Error rate", fmt.percent(s["error_rate"]), sub=f"of {fmt.integer(s['total_tool_calls'])} calls",
                    explain="Failed calls out of all tool calls in the range.")
        widgets.kpi("Rejected / interrupted", f"{fmt.integer(s['rejected'])} / {fmt.integer(s['interrupted'])}",
                    explain="Calls you declined, and calls stopped before they finished.")
        widgets.kpi("API errors", fmt.integer(s["api_errors"]), explain="Responses that were API errors (overload, "
                    "rate limits, invalid requests) instead of an answer.")


def render_trend(data: ErrorsData, ctx: Ctx) -> None:
    s = data.stats
    with ui.row().classes("w-full gap-4 no-wrap max-lg:flex-wrap items-stretch"):
        with widgets.card("flex-[2]"):
            trend = s["trend"]
            widgets.heading(f"Error rate, 30 days to {trend[-1]['date'] if trend else 'today'}",
                            "Daily failed calls and error rate for the 30 days that end with the range (or with the "
                            "last day that has data).")
            options = charts.lines([d["date"] for d in trend], {"error rate": [d["error_rate"] for d in trend]},
                                   "percent", area=True)
            options["series"].append({"name": "failed calls", "type": "bar", "yAxisIndex": 1, "barMaxWidth": 10,
                                      "data": [d["errors"] for d in trend], "itemStyle": {"color": charts.PALETTE[4]}})
            options["yAxis"] = [options["yAxis"], {"type": "value", "splitLine": {"show": False}, "minInterval": 1,
                                                   "axisLabel": {"color": charts.TEXT}}]
            charts.chart(options, "h-64", marker="chart-error-trend")
        with widgets.card("flex-1 min-w-[300px]"):
            widgets.heading("By tool", "Failed calls per tool, with that tool's error rate.")
            if not s["by_tool"]:
                widgets.empty("No failures", "No tool call failed in this range.", "check_circle")
            for t in s["by_tool"][:10]:
                with ui.row().classes("w-full justify-between text-sm no-wrap"):
                    ui.label(t["tool_name"]).classes("truncate")
                    ui.label(f"{t['errors']} of {t['calls']} · {fmt.percent(t['error_rate'])}").classes("dh-muted")


def render_patterns(data: ErrorsData, ctx: Ctx) -> None:
    with widgets.card():
        widgets.heading("Error patterns", "Error messages grouped after replacing their specifics (paths, numbers, "
                        "ids, quoted values); each with an example and the latest sessions where it happened.")
        patterns = data.stats["patterns"]
        if not patterns:
            widgets.empty("No errors", no_data_hint(ctx.filt, ctx.today) if not data.stats["total_tool_calls"]
                          else "No tool call failed in this range.", "check_circle")
            return
        for p in patterns:
            tools = ", ".join(f"{t['tool_name']} ({t['count']})" for t in p["tools"][:3])
            caption = f"{tools} · {fmt.plural(p['sessions'], 'session')} · last {fmt.iso_local(p['last_seen'], ctx.tz)}"
            with ui.expansion(f"{p['count']}× {p['pattern']}", caption=caption, icon="report_problem") \
                    .classes("w-full dh-soft").mark("error-pattern"):
                ui.label(p["example"]).classes("dh-mono")
                links = data.sessions.get(p["pattern"], [])
                if links:
                    with ui.row().classes("gap-3 items-center text-sm"):
                        ui.label("Sessions:").classes("dh-muted")
                        for link in links:
                            widgets.session_link(link["session_id"], link["session_id"][:8],
                                                 ctx.filt.query_string()).mark("error-session-link")


def register() -> None:
    @ui.page("/errors", title="Errors · Devhelion")
    async def page() -> None:
        frame = Frame("/errors", "Errors", explain="Tool failures and API errors in the range, their trend, and the "
                      "common patterns with the sessions they came from.")
        with frame.content:
            for name, render, options in (("summary", render_summary, {"skeleton": "kpis", "classes": "dh-primary"}),
                                          ("trend", render_trend, {"height": "h-64"}),
                                          ("patterns", render_patterns, {"height": "h-64"})):
                frame.section(name, load_errors, render, shared="errors", **options)
        await frame.start()
