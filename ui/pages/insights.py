"""Insights (``/insights``): what the insights engine noticed in the archive (cost spikes, cache expiry, repeated
tool errors, unpriced models...), newest first, with read / unread."""

from __future__ import annotations

import time
from typing import Any

from nicegui import run, ui

from store.insights.records import list_insights, mark_all_read, mark_read
from ui import fmt, widgets
from ui.context import Ctx, archive
from ui.layout import Frame

_TYPE_ICONS = {"trend": "trending_up", "anomaly": "warning_amber", "tip": "tips_and_updates"}


def load_insights(ctx: Ctx, unread_only: bool) -> dict[str, Any]:
    return list_insights(ctx.db.connection(), unread_only)


def read(ids: list[str]) -> None:
    conn = archive().db.connection()
    now = int(time.time() * 1000)
    for insight_id in ids:
        mark_read(conn, insight_id, now)


def register() -> None:
    @ui.page("/insights", title="Insights · Devhelion")
    async def page() -> None:
        frame = Frame("/insights", "Insights", filters=False, explain="Findings of the local insights engine, which "
                      "runs after each ingest and hourly: trends, anomalies and tips about cost, performance and "
                      "quality.")
        state = {"unread": frame.param("show") != "all"}

        def render(data: dict[str, Any], ctx: Ctx) -> None:
            items = data["insights"]
            if not data["hasTable"]:
                widgets.empty("Insights are not available", "This archive has no insights yet; they are computed "
                              "after the next ingest.", "lightbulb")
                return
            if not items:
                widgets.empty("No unread insights" if state["unread"] else "No insights yet",
                              "Insights appear when something stands out: a day far above your usual spend, caches "
                              "expiring during idle gaps, the same tool failing again and again.", "lightbulb")
                return
            for item in items:
                with widgets.card().mark("insight"), ui.row().classes("w-full items-start no-wrap gap-3"):
                    ui.icon(_TYPE_ICONS.get(item["type"], "lightbulb"), size="24px",
                            color="grey" if item["is_read"] else "accent")
                    with ui.column().classes("gap-1 flex-1 min-w-0"):
                        with ui.row().classes("items-center gap-2"):
                            ui.label(item["title"]).classes("font-medium")
                            ui.badge(item["category"], color="grey").props("outline")
                            if not item["is_read"]:
                                ui.badge("new", color="primary")
                        ui.label(item["description"]).classes("text-sm")
                        ui.label(f"{item['value'] or ''} · {fmt.iso_local(item['created_at'], ctx.tz)}") \
                            .classes("text-xs dh-muted")
                    if not item["is_read"]:
                        ui.button("Mark read", on_click=lambda i=item["id"]: mark([i])).props(
                            "flat dense no-caps").mark("mark-read")

        with frame.content:
            frame.section("insights", lambda ctx: load_insights(ctx, state["unread"]), render, height="h-48",
                          classes="dh-primary", cache=False)

        async def mark(ids: list[str]) -> None:
            await run.io_bound(read, ids)
            await frame.reload()

        async def mark_all() -> None:
            await run.io_bound(lambda: mark_all_read(archive().db.connection(), int(time.time() * 1000)))
            await frame.reload()

        async def show(value: str) -> None:
            state["unread"] = value == "unread"
            frame.set_page_params(show=None if state["unread"] else "all")
            await frame.reload()

        with frame.actions:
            ui.toggle({"unread": "Unread", "all": "All"}, value="unread" if state["unread"] else "all",
                      on_change=lambda e: show(e.value)).props("dense no-caps").mark("insights-filter")
            ui.button("Mark all read", icon="done_all", on_click=mark_all).props("flat no-caps").mark("mark-all-read")
        await frame.start()
