"""One session (``/sessions/{id}``): what it cost and where, and the whole conversation.

Header figures; the conversation (tool calls collapsed with inputs and results, thinking hidden by default);
the timeline of requests, tool errors and compactions; the subagent tree with each agent's cost; cost by token
class, model and agent; linked commits, notes and tags (shown as soon as that data exists in the archive).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from nicegui import run, ui

from store.gitlink.costs import session_commits
from store.monitor.breakdowns import session_breakdown
from store.monitor.params import NotFound, Page, Scope
from store.monitor.sessions import session_detail, session_facts, session_json, session_row
from store.monitor.timeline import session_timeline
from store.notes import annotations, update_annotations
from ui import charts, fmt, widgets
from ui.cache import results
from ui.context import Ctx, archive
from ui.conversation import ConversationView, agent_tree, render_items
from ui.layout import Frame

log = logging.getLogger(__name__)
TIMELINE_LIMIT = 5000  # events in the chart
TABLE_EVENTS = 500  # rows in the event table (every row is sent to the browser)
CLASS_LABELS = {"input": "Input", "output": "Output", "cache_write_5m": "Cache write (5 min)",
                "cache_write_1h": "Cache write (1 h)", "cache_read": "Cache read", "web_search": "Web search"}


@dataclass(frozen=True, slots=True)
class SessionData:
    detail: dict[str, Any]
    breakdown: dict[str, Any]
    timeline: dict[str, Any]


def load_session(ctx: Ctx, session_id: str) -> SessionData | None:
    """Everything the page shows, or None for a session the archive does not have."""
    try:
        detail = session_detail(ctx.db, ctx.prices, Scope(ctx.tz), session_id, now=ctx.now_ms)
    except NotFound:
        return None
    return SessionData(detail, session_breakdown(ctx.db, ctx.prices, session_id),
                       session_timeline(ctx.db, ctx.prices, session_id, Page(TIMELINE_LIMIT, 0)))


def load_header(ctx: Ctx, session_id: str) -> dict[str, Any] | None:
    """The session's figures only (what the header shows): counts and priced usage, not its contents."""
    try:
        row = session_row(ctx.db, session_id)
    except NotFound:
        return None
    return session_json(row, session_facts(ctx.db, ctx.prices, [session_id]), ctx.now_ms)


def load_extras(ctx: Ctx, session_id: str) -> dict[str, Any]:
    """Notes, tags and linked commits ({} for an unknown session)."""
    try:
        commits = session_commits(ctx.db, ctx.prices, session_id)
    except NotFound:  # no such session: the header says so
        return {}
    return {"annotations": annotations(ctx.db, session_id), "commits": commits}


def render_header(s: dict[str, Any] | None, ctx: Ctx, session_id: str) -> None:
    if s is None:
        widgets.empty("Session not found", f"The archive has no session {session_id}. It may belong to another "
                      "archive, or was never ingested.", "search_off",
                      ("Back to sessions", lambda: ui.navigate.to(ctx.filt.url("/sessions"))))
        return
    usage = s["usage"]
    with ui.column().classes("w-full gap-1"):
        ui.label((s["title"] or session_id).strip()[:200]).classes("text-lg font-semibold") \
            .mark("session-title").props('data-testid="session-title"')
        bits = [s["project_path"] or "no project", s.get("git_branch") and f"branch {s['git_branch']}",
                f"{fmt.iso_local(s['started_at'], ctx.tz)} → {fmt.iso_local(s['ended_at'], ctx.tz)}",
                s.get("claude_version") and f"Claude Code {s['claude_version']}"]
        ui.label(" · ".join(b for b in bits if b)).classes("text-sm dh-muted")
    with ui.grid().classes("w-full gap-4 grid-cols-2 md:grid-cols-3 xl:grid-cols-6"):
        widgets.kpi("Cost", fmt.money(usage["cost_usd"], bool(usage["unpriced_models"])), marker="session-cost",
                    explain="The whole session's requests priced with your price table (subagents included).",
                    exact=f"${usage['cost_usd']:.6f}")
        widgets.kpi("Tokens", fmt.tokens(usage["total_tokens"]), exact=fmt.integer(usage["total_tokens"]),
                    explain="Input, output, cache writes and cache reads of every request.")
        widgets.kpi("Duration", fmt.duration(s["duration_ms"]), explain="First to last transcript line.")
        widgets.kpi("Lines", fmt.integer(s["message_count"]), explain="Transcript lines (one response can span "
                    "several).")
        widgets.kpi("Tool calls", fmt.integer(s["tool_call_count"]), sub=f"{s['tool_error_count']} failed",
                    explain="Tool uses with their results; failed = the tool returned an error.")
        widgets.kpi("Subagents", fmt.integer(s["subagent_count"]), sub=f"{s['compaction_count']} compactions",
                    explain="Task/Agent runs and workflow agents; compactions summarised the context.")


def _conversation(data: SessionData, ctx: Ctx) -> None:
    view = ConversationView(data.detail, ctx.tz)

    def toggle_thinking(event: Any) -> None:
        view.show_thinking = bool(event.value)
        render_items(view, container)

    def toggle_sidechain(event: Any) -> None:
        view.show_sidechain = bool(event.value)
        render_items(view, container)

    with ui.row().classes("items-center gap-4"):
        ui.switch("Show thinking", on_change=toggle_thinking).mark("show-thinking").props('data-testid="show-thinking"')
        ui.switch("Show subagent lines", value=view.show_sidechain, on_change=toggle_sidechain) \
            .mark("show-sidechain").props('data-testid="show-sidechain"')
        total = data.detail["messages_total"]
        if total > len(data.detail["messages"]):
            ui.label(f"Showing the first {len(data.detail['messages']):,} of {total:,} lines").classes(
                "text-xs dh-muted")
    container = ui.column().classes("w-full gap-3").mark("conversation").props('data-testid="conversation"')
    render_items(view, container)


def _timeline(data: SessionData, ctx: Ctx) -> None:
    events = data.timeline["events"]
    requests = [e for e in events if e["kind"] == "message" and e.get("tokens")]
    if not events:
        widgets.empty("No events", "This session has no dated lines.", "timeline")
        return
    cumulative, running = [], 0
    for e in requests:
        running += e["tokens"]["total_tokens"]
        cumulative.append([e["timestamp"], running])
    errors = [[e["timestamp"], 0] for e in events if e["kind"] == "tool_call" and e.get("status") == "error"]
    compactions = [{"xAxis": e["timestamp"], "name": "compaction"} for e in events if e["kind"] == "compaction"]
    options = {
        "backgroundColor": "transparent", "textStyle": {"color": charts.TEXT},
        "tooltip": {"trigger": "axis", ":valueFormatter": charts.COMPACT_JS, "confine": True},
        "legend": {"bottom": 0, "textStyle": {"color": charts.TEXT}},
        "grid": {"left": 8, "right": 12, "top": 16, "bottom": 36, "containLabel": True},
        "xAxis": {"type": "time", "axisLabel": {"color": charts.TEXT},
                  "axisLine": {"lineStyle": {"color": charts.GRID}}},
        "yAxis": [{"type": "value", "axisLabel": {"color": charts.TEXT, ":formatter": charts.COMPACT_JS},
                   "splitLine": {"lineStyle": {"color": charts.GRID}}},
                  {"type": "value", "axisLabel": {"color": charts.TEXT, ":formatter": charts.COMPACT_JS},
                   "splitLine": {"show": False}}],
        "series": [
            {"name": "Tokens per request", "type": "bar", "barMaxWidth": 6, "itemStyle": {"color": charts.PALETTE[0]},
             "data": [[e["timestamp"], e["tokens"]["total_tokens"]] for e in requests]},
            {"name": "Cumulative tokens", "type": "line", "yAxisIndex": 1, "showSymbol": False, "data": cumulative,
             "itemStyle": {"color": charts.PALETTE[2]},
             "markLine": {"symbol": "none", "label": {"formatter": "compacted", "color": charts.TEXT},
                          "lineStyle": {"color": charts.PALETTE[4], "type": "dashed"}, "data": compactions}},
            {"name": "Tool errors", "type": "scatter", "symbolSize": 9, "itemStyle": {"color": charts.PALETTE[4]},
             "data": errors},
        ]}
    charts.chart(options, "h-72", marker="chart-timeline")
    rows = [{"id": f"{e['kind']}:{e['id']}", "time": fmt.iso_local(e["timestamp"], ctx.tz, with_date=False),
             "kind": e["kind"].replace("_", " "), "what": _event_what(e), "detail": _event_detail(e)}
            for e in events[:TABLE_EVENTS]]
    widgets.table([{"name": "time", "label": "Time", "field": "time"}, {"name": "kind", "label": "Event",
                                                                        "field": "kind"},
                   {"name": "what", "label": "What", "field": "what"}, {"name": "detail", "label": "Detail",
                                                                        "field": "detail"}],
                  rows, rows_per_page=25, marker="timeline-table")
    if data.timeline["total"] > len(rows):
        ui.label(f"The table lists the first {len(rows):,} of {data.timeline['total']:,} events; the chart shows "
                 f"{len(events):,}.").classes("text-xs dh-muted")


def _event_what(e: dict[str, Any]) -> str:
    if e["kind"] == "message":
        return f"{e.get('type')}" + (f" · {fmt.model_label(e['model'])}" if e.get("model") else "")
    if e["kind"] == "tool_call":
        return f"{e.get('tool_name')} · {e.get('status')}"
    if e["kind"] == "subagent":
        return f"{e.get('agent_kind')} {e.get('agent_type') or ''}".strip()
    return f"{e.get('compaction_kind') or 'compact'} ({e.get('trigger') or 'auto'})"


def _event_detail(e: dict[str, Any]) -> str:
    if e["kind"] == "message":
        tokens = e.get("tokens")
        text = (e.get("text") or "").replace("\n", " ")[:100]
        return (f"{fmt.tokens(tokens['total_tokens'])} tokens · " if tokens else "") + text
    if e["kind"] == "tool_call":
        return (e.get("file_path") or e.get("error") or "")[:120]
    if e["kind"] == "subagent":
        return (e.get("description") or "")[:120]
    return f"{fmt.tokens(e.get('pre_tokens'))} → {fmt.tokens(e.get('post_tokens'))} tokens"


def _agents(data: SessionData) -> None:
    if not data.detail["subagents"]:
        widgets.empty("No subagents", "This session did not start Task/Agent subagents.", "account_tree")
        return
    ui.tree(agent_tree(data.detail, data.breakdown), label_key="label", node_key="id") \
        .expand().classes("w-full").mark("agent-tree").props('data-testid="agent-tree"')


def _cost(data: SessionData) -> None:
    b = data.breakdown
    classes = b["token_classes"]
    names = [n for n in CLASS_LABELS if n in classes]
    with ui.row().classes("w-full gap-4 no-wrap max-md:flex-wrap items-stretch"):
        with widgets.card("flex-1"):
            widgets.heading("Cost by token class", "What each kind of token cost: input, output, cache writes "
                            "(5-minute and 1-hour), cache reads, and web searches ($10 per 1,000).")
            charts.chart(charts.hbars([CLASS_LABELS[n] for n in names], [classes[n]["cost_usd"] for n in names],
                                      "money"), "h-56", marker="chart-token-classes")
            for n in names:
                amount = classes[n].get("tokens", classes[n].get("requests", 0))
                unit = "requests" if n == "web_search" else "tokens"
                with ui.row().classes("w-full justify-between text-sm"):
                    ui.label(CLASS_LABELS[n])
                    ui.label(f"{fmt.compact(amount)} {unit} · {fmt.money(classes[n]['cost_usd'])}").classes("dh-muted")
        with widgets.card("flex-1"):
            widgets.heading("By model", "Requests, tokens and cost per model in this session.")
            widgets.table([{"name": "model", "label": "Model", "field": "model"},
                           {"name": "requests", "label": "Requests", "field": "requests", "align": "right"},
                           {"name": "tokens", "label": "Tokens", "field": "tokens", "align": "right"},
                           {"name": "cost", "label": "Cost", "field": "cost", "align": "right"}],
                          [{"id": m["model"], "model": m["model"], "requests": m["requests"],
                            "tokens": fmt.tokens(m["total_tokens"]), "cost": fmt.money(m["cost_usd"])}
                           for m in b["models"]], row_key="id")
            widgets.heading("By agent", "The main conversation, each subagent, compaction and warmup calls.")
            widgets.table([{"name": "agent", "label": "Agent", "field": "agent"},
                           {"name": "kind", "label": "Kind", "field": "kind"},
                           {"name": "tokens", "label": "Tokens", "field": "tokens", "align": "right"},
                           {"name": "cost", "label": "Cost", "field": "cost", "align": "right"}],
                          [{"id": a["agent_id"] or "main", "agent": a["description"] or a["agent_id"] or "main",
                            "kind": a["kind"], "tokens": fmt.tokens(a["total_tokens"]),
                            "cost": fmt.money(a["cost_usd"])} for a in b["agents"]], rows_per_page=10)


def render_extras(extras: dict[str, Any], ctx: Ctx, session_id: str) -> None:
    with ui.row().classes("w-full gap-4 no-wrap max-md:flex-wrap items-start"):
        with widgets.card("flex-1"):
            widgets.heading("Linked commits", "Git commits made on the session's branch while it ran, each with the "
                            "cost of the work before it.")
            commits = extras.get("commits")
            if not commits or not commits.get("commits"):
                detail = (commits or {}).get("detail") or ""
                widgets.empty("No linked commits", "Commits appear once Devhelion has matched the session's working "
                              f"directory and branch against git history. {detail}".strip(), "commit")
            else:
                for c in commits["commits"]:
                    with ui.row().classes("w-full justify-between no-wrap text-sm gap-2"):
                        ui.label(f"{c['short_sha']} {c['message']}").classes("truncate dh-mono")
                        ui.label(f"{fmt.money(c['cost_usd'])} · {fmt.iso_local(c['time'], ctx.tz)}").classes(
                            "dh-muted")
        with widgets.card("flex-1"):
            widgets.heading("Notes and tags", "Your own notes on this session; they are kept even if the "
                            "transcript is deleted.")
            notes = extras.get("annotations")
            if notes is None:
                widgets.empty("Notes are not available", "This archive has no notes tables yet.", "sticky_note_2")
                return
            _notes_editor(notes, session_id)


def _notes_editor(notes: dict[str, Any], session_id: str) -> None:
    tags = ui.input_chips("Tags", value=list(notes.get("tags") or [])).props("outlined dense").classes("w-full") \
        .mark("tags")
    text = ui.textarea("Notes", value=notes.get("notes") or "").props("outlined autogrow").classes("w-full") \
        .mark("notes")
    status = ui.label(f"Saved {notes['updated_at']}" if notes.get("updated_at") else "").classes("text-xs dh-muted")

    async def save() -> None:
        try:
            saved = await run.io_bound(lambda: update_annotations(archive().db, session_id,
                                                                  notes=text.value, tags=list(tags.value)))
        except ValueError as exc:
            ui.notify(str(exc), type="warning")
            return
        if saved:
            results.clear()  # tags show in the sessions table and filter: no cached answer may keep the old ones
            status.set_text("Saved")
            ui.notify("Notes saved", type="positive")

    ui.button("Save notes", icon="save", on_click=save).props("unelevated").mark("save-notes")


def _present(render: Any) -> Any:
    """A renderer that shows nothing when the session is unknown (the header says so)."""
    def wrapped(data: SessionData | None, ctx: Ctx) -> None:
        if data is not None:
            render(data, ctx)

    return wrapped


def register() -> None:
    @ui.page("/sessions/{session_id}", title="Session · Devhelion")
    async def page(session_id: str) -> None:
        frame = Frame(f"/sessions/{quote(session_id, safe='')}", "Session", nav="/sessions", filters=False,
                      explain="One session: its cost, conversation, timeline, subagents and commits.")
        with frame.actions:
            ui.link("← All sessions", frame.filt.url("/sessions")).classes("dh-link text-sm")

        def load(ctx: Ctx) -> SessionData | None:
            return load_session(ctx, session_id)

        def section(name: str, render: Any, **options: Any) -> None:
            frame.section(name, load, render, shared="session", key=lambda: session_id, **options)

        with frame.content:
            frame.section("header", lambda ctx: load_header(ctx, session_id),
                          lambda data, ctx: render_header(data, ctx, session_id), skeleton="kpis",
                          classes="dh-primary", key=lambda: session_id)
            with ui.tabs().classes("w-full").props("align=left dense no-caps inline-label") as tabs:
                tab_conv = ui.tab("Conversation", icon="forum")
                tab_time = ui.tab("Timeline", icon="timeline")
                tab_agents = ui.tab("Subagents", icon="account_tree")
                tab_cost = ui.tab("Cost", icon="payments")
                tab_notes = ui.tab("Commits & notes", icon="sticky_note_2")
            with ui.tab_panels(tabs, value=tab_conv).classes("w-full bg-transparent").props("keep-alive"):
                with ui.tab_panel(tab_conv).classes("px-0"):
                    section("conversation", _present(_conversation), height="h-96", live=False)
                with ui.tab_panel(tab_time).classes("px-0"):
                    section("timeline", _present(_timeline), height="h-72")
                with ui.tab_panel(tab_agents).classes("px-0"):
                    section("agents", _present(lambda data, ctx: _agents(data)), height="h-40")
                with ui.tab_panel(tab_cost).classes("px-0"):
                    section("cost", _present(lambda data, ctx: _cost(data)), height="h-72")
                with ui.tab_panel(tab_notes).classes("px-0"):
                    frame.section("extras", lambda ctx: load_extras(ctx, session_id),
                                  lambda extras, ctx: render_extras(extras, ctx, session_id), height="h-40",
                                  cache=False, live=False)
        await frame.start()
