"""Tools (``/tools``): how often each tool ran, how often it failed, how long it took; MCP servers and skills."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from store.monitor.dimensions import mcp_stats, skill_stats, tool_stats
from ui import charts, fmt, widgets
from ui.context import Ctx
from ui.layout import Frame
from ui.pages.common import no_data_hint

TOP_CHART = 20


def load_tools(ctx: Ctx) -> dict[str, Any]:
    return tool_stats(ctx.db, ctx.scope())


def load_mcp(ctx: Ctx) -> dict[str, Any]:
    return mcp_stats(ctx.db, ctx.scope())


def load_skills(ctx: Ctx) -> dict[str, Any]:
    return skill_stats(ctx.db, ctx.scope())


def render_summary(data: dict[str, Any], ctx: Ctx) -> None:
    tools = data["tools"]
    if not tools:
        widgets.empty("No tool calls", no_data_hint(ctx.filt, ctx.today), "construction")
        return
    finished = sum(t["calls"] - t["pending"] for t in tools)
    errors = sum(t["errors"] for t in tools)
    with ui.grid().classes("w-full gap-4 grid-cols-1 sm:grid-cols-3"):
        widgets.kpi("Tool calls", fmt.integer(data["total_calls"]), marker="kpi-tool-calls",
                    explain="Tool uses in the range (by call time), subagents included.")
        widgets.kpi("Error rate", fmt.percent(errors / finished if finished else 0),
                    sub=f"{fmt.integer(errors)} failed", explain="Calls whose result was an error, out of finished "
                    "calls (rejected and interrupted calls are counted apart).")
        widgets.kpi("Distinct tools", fmt.integer(len(tools)), explain="Built-in tools and MCP tools that ran.")


def render_tools(data: dict[str, Any], ctx: Ctx) -> None:
    tools = data["tools"]
    if not tools:
        return  # the summary above says so
    with ui.row().classes("w-full gap-4 no-wrap max-lg:flex-wrap items-stretch"):
        with widgets.card("flex-1 min-w-[320px]"):
            widgets.heading("Calls per tool", "Successful and failed calls of the most used tools.")
            top = tools[:TOP_CHART]
            charts.chart(charts.hbars([t["tool_name"] for t in top], [t["calls"] - t["errors"] for t in top],
                                      "count", extra={"failed": [t["errors"] for t in top]}, name="without error",
                                      stack=True), "h-96", marker="chart-tools")
        with widgets.card("flex-[2]"):
            widgets.heading("All tools", "Success and error rates are over finished calls; duration is the mean time "
                            "from the call to its result.")
            widgets.table([
                {"name": "tool", "label": "Tool", "field": "tool"},
                {"name": "calls", "label": "Calls", "field": "calls", "align": "right"},
                {"name": "errors", "label": "Failed", "field": "errors", "align": "right"},
                {"name": "error_rate", "label": "Error rate", "field": "error_rate", "align": "right"},
                {"name": "duration", "label": "Mean duration", "field": "duration", "align": "right"},
                {"name": "sessions", "label": "Sessions", "field": "sessions", "align": "right"},
            ], [{"id": t["tool_name"], "tool": t["tool_name"], "calls": t["calls"], "errors": t["errors"],
                 "error_rate": round(t["error_rate"] * 100, 1), "duration": fmt.duration(t["avg_duration_ms"]),
                 "sessions": t["sessions"]} for t in tools], rows_per_page=15, marker="tools-table") \
                .add_slot("body-cell-error_rate", r"""<q-td :props="props">{{ props.value }}%</q-td>""")


def render_mcp(data: dict[str, Any], ctx: Ctx) -> None:
    with widgets.card():
        widgets.heading("MCP servers", "Tools named mcp__<server>__<tool>, grouped by server.")
        if not data["servers"]:
            widgets.empty("No MCP tools used", "Calls to MCP servers' tools appear here.", "hub")
            return
        for server in data["servers"]:
            with ui.expansion(f"{server['server']} · {fmt.integer(server['calls'])} calls · "
                              f"{fmt.percent(server['error_rate'])} errors", icon="hub").classes("w-full"):
                for tool in server["tools"]:
                    with ui.row().classes("w-full justify-between text-sm"):
                        ui.label(tool["tool"]).classes("dh-mono")
                        ui.label(f"{tool['calls']} calls · {tool['errors']} failed").classes("dh-muted")


def render_skills(data: dict[str, Any], ctx: Ctx) -> None:
    with widgets.card():
        widgets.heading("Skills", "Skills invoked through the Skill tool.")
        if not data["skills"]:
            widgets.empty("No skills used", "Skills Claude loads with the Skill tool appear here.", "school")
            return
        widgets.table([{"name": "skill", "label": "Skill", "field": "skill"},
                       {"name": "calls", "label": "Calls", "field": "calls", "align": "right"},
                       {"name": "errors", "label": "Failed", "field": "errors", "align": "right"},
                       {"name": "sessions", "label": "Sessions", "field": "sessions", "align": "right"},
                       {"name": "last", "label": "Last used", "field": "last"}],
                      [{"id": s["skill"], "skill": s["skill"], "calls": s["calls"], "errors": s["errors"],
                        "sessions": s["sessions"], "last": fmt.iso_local(s["last_used"], ctx.tz)}
                       for s in data["skills"]], rows_per_page=10)


def register() -> None:
    @ui.page("/tools", title="Tools · Devhelion")
    async def page() -> None:
        frame = Frame("/tools", "Tools", explain="Tool calls in the range: volume, failures and durations, plus MCP "
                      "servers and skills.")
        with frame.content:
            frame.section("summary", load_tools, render_summary, skeleton="kpis", classes="dh-primary",
                          shared="tools")
            frame.section("tools", load_tools, render_tools, height="h-96", shared="tools")
            with ui.grid().classes("w-full gap-4 grid-cols-1 lg:grid-cols-2"):
                frame.section("mcp", load_mcp, render_mcp, height="h-40")
                frame.section("skills", load_skills, render_skills, height="h-40")
        await frame.start()
