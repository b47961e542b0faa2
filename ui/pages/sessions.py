"""Sessions (``/sessions``): every session in the range, paged on the server (fast with 100k sessions), searchable
by title, path, branch or any line of the conversation (the full-text index), filterable by model and tag,
sortable by time, duration, tokens and cost. The title opens the session page; with a search, the best matching
lines (tool inputs and results included) are listed under the table with their highlighted snippets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nicegui import run, ui

from store.dashboard.catalog import model_names
from store.dashboard.session_table import session_page
from store.monitor.params import Page
from store.notes import tag_counts
from store.search import SearchSyntaxError, search
from store.timezones import local_date
from ui import fmt, widgets
from ui.cache import results
from ui.context import Ctx, archive
from ui.layout import Frame
from ui.live import version
from ui.pages.common import no_data_hint

PAGE_SIZES = (25, 50, 100)
SORTABLE = {"last": "last", "started": "started", "duration": "duration", "tokens": "tokens", "cost": "cost"}


@dataclass
class TableState:
    """What the table shows besides the global filter; mirrored in the URL (q, model, sort, desc, page)."""

    search: str = ""
    model: str = ""
    tag: str = ""
    sort: str = "last"
    descending: bool = True
    page: int = 1
    rows_per_page: int = 25

    def key(self) -> tuple:
        return (self.search, self.model, self.tag, self.sort, self.descending, self.page, self.rows_per_page)

    def params(self) -> dict[str, str | None]:
        return {"q": self.search or None, "model": self.model or None, "tag": self.tag or None,
                "sort": None if self.sort == "last" else self.sort,
                "desc": None if self.descending else "0", "page": None if self.page == 1 else str(self.page),
                "size": None if self.rows_per_page == 25 else str(self.rows_per_page)}


def load_sessions(ctx: Ctx, state: TableState) -> dict[str, Any]:
    page = Page(state.rows_per_page, (state.page - 1) * state.rows_per_page)
    scope = ctx.scope(model=state.model or None, search=state.search or None)
    return session_page(ctx.db, ctx.prices, scope, page, state.sort, state.descending, now=ctx.now_ms,
                        tag=state.tag or None)


HITS_SHOWN = 8


def load_hits(ctx: Ctx, query: str) -> dict[str, Any] | None:
    """The lines, tool inputs and tool results that match ``query`` best, kept to the filter's range and project
    (None without a query; ``{"error": ...}`` for invalid search syntax)."""
    if not query.strip():
        return None
    try:
        found = search(ctx.db, query, limit=200)
    except SearchSyntaxError as exc:
        return {"error": str(exc), "results": [], "more": 0}
    since, until = ctx.dates()
    project = ctx.filt.project
    kept = []
    for hit in found["results"]:
        ms = fmt.parse_iso_ms(hit["timestamp"])
        day = local_date(ms, ctx.tz) if ms is not None else None
        if (since or until) and (day is None or (since and day < since) or (until and day > until)):
            continue
        path = (hit.get("project_path") or "").rstrip("/")
        if project and not (path == project.rstrip("/") or path.endswith("/" + project.strip("/"))):
            continue
        kept.append(hit)
    return {"error": None, "results": kept[:HITS_SHOWN], "more": max(0, len(kept) - HITS_SHOWN),
            "order": found["order"]}


def row_of(s: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    usage = s["usage"]
    errors = s["tool_error_count"]
    return {
        "id": s["id"], "title": (s["title"] or "").strip()[:120] or s["id"][:8], "q": ctx.filt.query_string(),
        "project": s["project_name"] or "–", "project_path": s["project_path"] or "",
        "started": fmt.iso_local(s["started_at"], ctx.tz),
        "last": fmt.relative(fmt.parse_iso_ms(s["ended_at"]), ctx.now_ms), "last_exact": fmt.iso_local(s["ended_at"],
                                                                                                         ctx.tz),
        "duration": fmt.duration(s["duration_ms"]), "messages": fmt.compact(s["message_count"]),
        "tools": fmt.compact(s["tool_call_count"]) + (f" ({errors} failed)" if errors else ""),
        "models": ", ".join(fmt.model_label(m) for m in s["models"][:3]) + (" …" if len(s["models"]) > 3 else ""),
        "tokens": fmt.tokens(usage["total_tokens"]),
        "cost": fmt.money(usage["cost_usd"], bool(usage["unpriced_models"])),
        "active": s["is_active"], "tags": s.get("tags") or [],
    }


COLUMNS: list[dict[str, Any]] = [  # the figures first: a narrow window scrolls the table, not the cost
    {"name": "title", "label": "Session", "field": "title", "align": "left", "classes": "dh-cell-title",
     "headerClasses": "min-w-[180px]"},
    {"name": "project", "label": "Project", "field": "project", "align": "left", "classes": "dh-cell-narrow"},
    {"name": "last", "label": "Last activity", "field": "last", "align": "left", "sortable": True},
    {"name": "cost", "label": "Cost", "field": "cost", "align": "right", "sortable": True},
    {"name": "tokens", "label": "Tokens", "field": "tokens", "align": "right", "sortable": True},
    {"name": "duration", "label": "Duration", "field": "duration", "align": "right", "sortable": True},
    {"name": "tools", "label": "Tool calls", "field": "tools", "align": "right"},
    {"name": "models", "label": "Models", "field": "models", "align": "left", "classes": "dh-cell-narrow"},
    {"name": "started", "label": "Started", "field": "started", "align": "left", "sortable": True},
    {"name": "messages", "label": "Lines", "field": "messages", "align": "right"},
]
_TITLE_SLOT = r"""
<q-td :props="props">
  <q-badge v-if="props.row.active" color="positive" rounded class="q-mr-xs" aria-label="active now" />
  <a :href="'/sessions/' + encodeURIComponent(props.row.id) + props.row.q" class="dh-link"
     :title="props.value">{{ props.value }}</a>
  <q-badge v-for="tag in props.row.tags" :key="tag" color="primary" outline class="q-ml-xs">{{ tag }}</q-badge>
</q-td>"""
_LAST_SLOT = r"""<q-td :props="props"><span :title="props.row.last_exact">{{ props.value }}</span></q-td>"""
_PROJECT_SLOT = r"""<q-td :props="props"><span :title="props.row.project_path">{{ props.value }}</span></q-td>"""


def _state_from(frame: Frame) -> TableState:
    def number(name: str, default: int, allowed: tuple[int, ...] | None = None) -> int:
        try:
            value = int(frame.param(name) or default)
        except ValueError:
            return default
        return value if value >= 1 and (allowed is None or value in allowed) else default

    sort = frame.param("sort") or "last"
    return TableState(frame.param("q") or "", frame.param("model") or "", frame.param("tag") or "",
                      sort if sort in SORTABLE else "last", frame.param("desc") != "0", number("page", 1),
                      number("size", 25, PAGE_SIZES))


def register() -> None:
    @ui.page("/sessions", title="Sessions · Devhelion")
    async def page() -> None:
        frame = Frame("/sessions", "Sessions", explain="Sessions active in the date range (their first to last line "
                      "overlaps it). Tokens and cost are the whole session's. Search matches titles, paths, "
                      "branches and the text of every line.")
        state = _state_from(frame)
        frame.page_params.update({k: v for k, v in state.params().items() if v})

        async def changed(**changes: Any) -> None:
            for name, value in changes.items():
                setattr(state, name, value)
            frame.set_page_params(**state.params())
            await table_section.load(frame.ctx())
            if "search" in changes or hits_section.loaded_at is None:
                await hits_section.load(frame.ctx())

        with frame.content:
            with ui.row().classes("w-full items-center gap-3"):
                search = ui.input(placeholder="Search sessions (press /)", value=state.search) \
                    .props('outlined dense clearable aria-label="Search sessions"').classes("w-80") \
                        .mark("search").props('data-testid="search"')
                search.on("update:model-value", lambda e: changed(search=(e.args or "").strip(), page=1),
                          throttle=0.4, leading_events=False)
                with search.add_slot("prepend"):
                    ui.icon("search")
                frame.search_input = search
                model = ui.select({"": "All models", **({state.model: state.model} if state.model else {})},
                                  value=state.model, label="Model",
                                  on_change=lambda e: changed(model=e.value or "", page=1)) \
                    .props("outlined dense options-dense").classes("w-56").mark("model").props('data-testid="model"')
                tag = ui.select({"": "All tags", **({state.tag: state.tag} if state.tag else {})}, value=state.tag,
                                label="Tag", on_change=lambda e: changed(tag=e.value or "", page=1)) \
                    .props("outlined dense options-dense").classes("w-44").mark("tag").props('data-testid="tag"')
                tag.tooltip("Sessions you tagged (tags are added on a session's page)")
                ui.space()
                total_label = ui.label("").classes("text-sm dh-muted") \
                    .mark("session-count").props('data-testid="session-count"')

            def render(data: dict[str, Any], ctx: Ctx) -> None:
                total_label.set_text(f"{fmt.integer(data['total'])} sessions")
                if not data["sessions"] and data["total"] == 0:
                    hint = "No session matches this search or filter. Clear the search box, the model or the tag." \
                        if state.search or state.model or state.tag else no_data_hint(ctx.filt, ctx.today)
                    widgets.empty("No sessions", hint, "forum")
                    return
                pagination = {"page": state.page, "rowsPerPage": state.rows_per_page, "rowsNumber": data["total"],
                              "sortBy": state.sort, "descending": state.descending}
                table = ui.table(columns=COLUMNS, rows=[row_of(s, ctx) for s in data["sessions"]], row_key="id",
                                 pagination=pagination).classes("w-full dh-table").props(
                    f"flat dense :rows-per-page-options='{list(PAGE_SIZES)}' binary-state-sort") \
                        .mark("sessions-table").props('data-testid="sessions-table"')
                table.add_slot("body-cell-title", _TITLE_SLOT)
                table.add_slot("body-cell-last", _LAST_SLOT)
                table.add_slot("body-cell-project", _PROJECT_SLOT)

                async def request(event: Any) -> None:
                    p = (event.args or {}).get("pagination") or {}
                    sort = p.get("sortBy") or "last"
                    await changed(page=int(p.get("page") or 1), rows_per_page=int(p.get("rowsPerPage") or 25),
                                  sort=sort if sort in SORTABLE else "last", descending=bool(p.get("descending", True)))

                table.on("request", request)

            table_section = frame.section("table", lambda ctx: load_sessions(ctx, state), render, skeleton="table",
                                          classes="dh-primary", key=lambda: state.key())
            hits_section = frame.section("hits", lambda ctx: load_hits(ctx, state.search), render_hits,
                                         height="h-8", key=lambda: state.search)

        async def fill_models() -> None:
            names = await run.io_bound(lambda: results.get_or_compute(("catalog.models", version.value),
                                                                      lambda: model_names(archive().db)))
            if names:
                model.set_options({"": "All models", **{n: fmt.model_label(n) for n in names}}, value=state.model)
            tags = await run.io_bound(lambda: tag_counts(archive().db))  # not cached: tagging is no bus event
            options = {"": "All tags", **{t["tag"]: f"{t['tag']} ({t['count']})" for t in tags}}
            if state.tag and state.tag not in options:
                options[state.tag] = state.tag
            tag.set_options(options, value=state.tag)
            tag.set_visibility(len(options) > 1)

        async def reset_page(_filter: Any) -> None:
            state.page = 1
            frame.set_page_params(**state.params())

        frame.filter_hooks.append(reset_page)
        if frame.param("focus") == "search":
            search.run_method("focus")
        await frame.start()
        await fill_models()


def render_hits(data: dict[str, Any] | None, ctx: Ctx) -> None:
    """The best matching lines of a search, each opening its session."""
    if data is None:
        return
    with widgets.card().mark("search-hits").props('data-testid="search-hits"'):
        widgets.heading("Matching lines", "Lines, tool inputs and tool results that contain the search (full-text "
                        "index: words, \"exact phrases\", prefix*, OR, NOT), in the date range and project; best "
                        "matches first, or newest first when very many lines match.")
        if data["error"]:
            ui.label(data["error"]).classes("text-sm text-negative")
            return
        if not data["results"]:
            ui.label("No line in this range matches; the sessions above matched on their title, path or branch."
                     ).classes("text-sm dh-muted")
            return
        for hit in data["results"]:
            with ui.column().classes("w-full gap-0 py-1"):
                with ui.row().classes("items-center gap-2 text-xs dh-muted no-wrap"):
                    ui.label(hit["kind"].replace("_", " ") + (f" · {hit['tool_name']}" if hit.get("tool_name")
                                                              else f" · {hit['role']}" if hit.get("role") else ""))
                    ui.label(fmt.iso_local(hit["timestamp"], ctx.tz))
                    widgets.session_link(hit["session_id"], hit.get("session_title") or hit["session_id"][:8],
                                         ctx.filt.query_string()).classes("truncate").mark("search-hit-link")
                ui.html(hit["snippet"], sanitize=False).classes("text-sm dh-snippet")
        if data["more"]:
            ui.label(f"{fmt.plural(data['more'], 'more matching line')} not shown: refine the search to narrow them."
                     ).classes("text-xs dh-muted")
