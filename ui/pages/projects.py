"""Projects (``/projects``): spend and activity per project; with a project selected (the global project filter),
its breakdown by model and token class, its most expensive sessions, branches and tools, and a heatmap of the
files and folders Claude read and edited most.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from store.gitlink.costs import branch_stats
from store.monitor.breakdowns import project_breakdown
from store.monitor.dimensions import project_stats
from store.monitor.heatmap import file_heatmap
from store.monitor.params import NotFound
from ui import charts, fmt, widgets
from ui.context import Ctx
from ui.layout import Frame
from ui.pages.common import GRAIN_NOUN, Series, no_data_hint, usage_series

TOP_CHART = 15
NAME_SLOT = r"""<q-td :props="props"><a v-if="props.row.url" :href="props.row.url" class="dh-link"
  :title="props.row.path">{{ props.value }}</a><span v-else>{{ props.value }}</span></q-td>"""


def load_projects(ctx: Ctx) -> dict[str, Any]:
    return project_stats(ctx.db, ctx.prices, ctx.scope())


def load_project(ctx: Ctx) -> dict[str, Any] | None:
    try:
        return project_breakdown(ctx.db, ctx.prices, ctx.scope())
    except NotFound:
        return None


def load_heatmap(ctx: Ctx) -> dict[str, Any] | None:
    try:
        return file_heatmap(ctx.db, ctx.scope())
    except NotFound:
        return None


def load_trend(ctx: Ctx) -> Series:
    return usage_series(ctx)


def load_branches(ctx: Ctx) -> list[dict[str, Any]]:
    """The project's branches in the range with their cost and the git commits linked to their sessions."""
    return branch_stats(ctx.db, ctx.prices, ctx.scope())["branches"]


def _active(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in data["projects"] if p["sessions"] or p["requests"]]


def render_chart(data: dict[str, Any], ctx: Ctx) -> None:
    projects = _active(data)
    if not projects:
        return  # the table below says so
    with widgets.card():
        widgets.heading("Cost by project", "The range's requests priced, grouped by the project (working directory) "
                        "of their session.")
        top = projects[:TOP_CHART]
        charts.chart(charts.hbars([p["project_name"] or "(no project)" for p in top], [p["cost_usd"] for p in top],
                                  "money"), "h-80" if len(top) > 6 else "h-48", marker="chart-projects")


def render_projects(data: dict[str, Any], ctx: Ctx) -> None:
    projects = _active(data)
    if not projects:
        widgets.empty("No projects in this range", no_data_hint(ctx.filt, ctx.today), "folder_open")
        return
    rows = [{"id": p["project"] or "", "name": p["project_name"] or "(no project)", "path": p["project"] or "",
             "url": ctx.filt.with_project(p["project"]).url("/projects") if p["project"] else "",
             "sessions": p["sessions"], "requests": p["requests"], "tokens": p["total_tokens"],
             "tokens_text": fmt.tokens(p["total_tokens"]), "cost": p["cost_usd"],
             "cost_text": fmt.money(p["cost_usd"], bool(p["unpriced_models"])), "tool_calls": p["tool_calls"],
             "last": fmt.iso_local(p["last_activity"], ctx.tz)} for p in projects]
    with widgets.card():
        widgets.heading("All projects", "Click a project to filter every page by it and see its files.")
        table = widgets.table([
            {"name": "name", "label": "Project", "field": "name"},
            {"name": "sessions", "label": "Sessions", "field": "sessions", "align": "right"},
            {"name": "requests", "label": "Requests", "field": "requests", "align": "right"},
            {"name": "tokens", "label": "Tokens", "field": "tokens", "align": "right"},
            {"name": "cost", "label": "Cost", "field": "cost", "align": "right"},
            {"name": "tool_calls", "label": "Tool calls", "field": "tool_calls", "align": "right"},
            {"name": "last", "label": "Last activity", "field": "last"},
        ], rows, rows_per_page=20, marker="projects-table")
        table.add_slot("body-cell-name", NAME_SLOT)
        table.add_slot("body-cell-tokens", r"""<q-td :props="props">{{ props.row.tokens_text }}</q-td>""")
        table.add_slot("body-cell-cost", r"""<q-td :props="props">{{ props.row.cost_text }}</q-td>""")


def render_project(data: dict[str, Any] | None, ctx: Ctx) -> None:
    if data is None:
        widgets.empty("Unknown project", f"No sessions belong to “{ctx.filt.project}”. Clear the project filter to "
                      "see every project.", "folder_off")
        return
    usage = data["usage"]
    with ui.grid().classes("w-full gap-4 grid-cols-2 lg:grid-cols-4"):
        widgets.kpi("Cost", fmt.money(usage["cost_usd"], bool(usage["unpriced_models"])), marker="project-cost",
                    explain="The project's requests in the range, priced.")
        widgets.kpi("Tokens", fmt.tokens(usage["total_tokens"]), exact=fmt.integer(usage["total_tokens"]),
                    explain="Input, output, cache writes and cache reads.")
        widgets.kpi("Sessions", fmt.integer(data["sessions"]), explain="Sessions of the project active in the range.")
        widgets.kpi("Last activity", fmt.iso_local(data["last_activity"], ctx.tz),
                    explain="The latest transcript line of the project in the range.")
    with ui.row().classes("w-full gap-4 no-wrap max-md:flex-wrap items-stretch"):
        with widgets.card("flex-1"):
            widgets.heading("Most expensive sessions", "The project's sessions by cost in the range.")
            for s in data["top_sessions"]:
                with ui.row().classes("w-full justify-between no-wrap gap-2 text-sm"):
                    widgets.session_link(s["session_id"], s["title"], ctx.filt.query_string()).classes("truncate")
                    ui.label(fmt.money(s["cost_usd"])).classes("dh-muted")
            if not data["top_sessions"]:
                ui.label("No sessions with usage in the range.").classes("dh-muted text-sm")
        with widgets.card("flex-1"):
            widgets.heading("Models", "The project's cost per model.")
            for m in data["models"]:
                with ui.row().classes("w-full justify-between text-sm"):
                    ui.label(fmt.model_label(m["model"])).tooltip(m["model"])
                    ui.label(f"{fmt.money(m['cost_usd'])} · {fmt.tokens(m['total_tokens'])} tokens").classes("dh-muted")


def render_branches(branches: list[dict[str, Any]], ctx: Ctx) -> None:
    with widgets.card():
        widgets.heading("Branches and commits", "Cost of the project's requests in the range per git branch, with "
                        "the commits Devhelion linked to those sessions (made on the branch while they ran) and the "
                        "cost per commit.")
        if not branches:
            widgets.empty("No branch activity", "No request of this project in the range.", "call_split")
            return
        widgets.table([
            {"name": "branch", "label": "Branch", "field": "branch", "classes": "dh-mono"},
            {"name": "sessions", "label": "Sessions", "field": "sessions", "align": "right"},
            {"name": "cost", "label": "Cost", "field": "cost", "align": "right", "sortable": False},
            {"name": "commits", "label": "Commits", "field": "commits", "align": "right"},
            {"name": "per_commit", "label": "Cost per commit", "field": "per_commit", "align": "right",
             "sortable": False},
        ], [{"id": f"{b['project_path']}:{b['branch']}", "branch": b["branch"] or "(no branch)",
             "sessions": b["sessions"], "cost": fmt.money(b["usage"]["cost_usd"], bool(b["usage"]["unpriced_models"])),
             "commits": b["commits"], "per_commit": fmt.money(b["cost_per_commit_usd"])}
            for b in branches], rows_per_page=8, marker="branches-table")
        if not any(b["commits"] for b in branches):
            ui.label("No commits linked yet: Devhelion matches each session's working directory and branch against "
                     "git history after a sync.").classes("text-xs dh-muted")


def render_trend(series: Series, ctx: Ctx) -> None:
    with widgets.card():
        widgets.heading(f"Cost per {GRAIN_NOUN[series.grain]}", "The project's cost over the range, by model.")
        if series.empty:
            widgets.empty("No usage in this range", no_data_hint(ctx.filt, ctx.today), "bar_chart")
            return
        charts.chart(series.cost_chart(), "h-64", marker="chart-project-trend")


def render_heatmap(data: dict[str, Any] | None, ctx: Ctx) -> None:
    with widgets.card():
        widgets.heading("File heatmap", "Files Claude read (Read), wrote (Write) and edited (Edit, MultiEdit, "
                        "NotebookEdit) in this project during the range; rectangles are sized by touches and grouped "
                        "by folder. Searches (Grep, Glob) are not counted.")
        if data is None or not data["files"]:
            widgets.empty("No file activity", "No reads or edits of files in this project during the range.",
                          "description")
            return
        folders: dict[str, list[dict[str, Any]]] = {}
        for f in data["files"]:
            path = f["relative_path"]
            folder, _, name = path.rpartition("/")
            folders.setdefault(folder or ".", []).append({"name": name or path, "value": f["total"], "path": path,
                                                          "edits": f["edits"] + f["writes"]})
        items = [{"name": folder, "children": [{"name": c["name"], "value": c["value"]} for c in children]}
                 for folder, children in folders.items()]
        charts.chart(charts.treemap(items), "h-96", marker="chart-heatmap")
        with ui.row().classes("w-full gap-4 no-wrap max-md:flex-wrap items-start"):
            with ui.column().classes("flex-1 min-w-0"):
                widgets.heading("Top files")
                widgets.table([{"name": "path", "label": "File", "field": "path", "classes": "max-w-[260px] truncate"},
                               {"name": "reads", "label": "Reads", "field": "reads", "align": "right"},
                               {"name": "edits", "label": "Edits", "field": "edits", "align": "right"},
                               {"name": "writes", "label": "Writes", "field": "writes", "align": "right"},
                               {"name": "errors", "label": "Failed", "field": "errors", "align": "right"}],
                              [{"id": f["path"], "path": f["relative_path"], "reads": f["reads"], "edits": f["edits"],
                                "writes": f["writes"], "errors": f["errors"]} for f in data["files"]],
                              rows_per_page=10, marker="files-table")
            with ui.column().classes("flex-1 min-w-0"):
                widgets.heading("Top folders")
                widgets.table([{"name": "path", "label": "Folder", "field": "path",
                                "classes": "max-w-[260px] truncate"},
                               {"name": "files", "label": "Files", "field": "files", "align": "right"},
                               {"name": "total", "label": "Touches", "field": "total", "align": "right"}],
                              [{"id": d["path"], "path": d["relative_path"], "files": d["files"], "total": d["total"]}
                               for d in data["directories"]], rows_per_page=10)


def register() -> None:
    @ui.page("/projects", title="Projects · Devhelion")
    async def page() -> None:
        frame = Frame("/projects", "Projects", explain="Spend and activity per project (the working directory of "
                      "each session). Pick a project to see its breakdown and file heatmap.")
        with frame.content:
            if frame.filt.project:
                with frame.actions:
                    ui.button("All projects", icon="close",
                              on_click=lambda: frame.set_filter(frame.filt.with_project(None))).props("flat no-caps")
                frame.section("project", load_project, render_project, skeleton="kpis", classes="dh-primary")
                frame.section("trend", load_trend, render_trend, height="h-64")
                frame.section("branches", load_branches, render_branches, height="h-40")
                frame.section("heatmap", load_heatmap, render_heatmap, height="h-96")
            else:
                frame.section("chart", load_projects, render_chart, height="h-80", shared="projects")
                frame.section("projects", load_projects, render_projects, skeleton="table", classes="dh-primary",
                              shared="projects")

        def layout_changed(filt: Any) -> bool:
            """Selecting or clearing the project changes what the page shows: rebuild it."""
            if bool(filt.project) != bool(frame.sections and frame.sections[0].name == "project"):
                ui.navigate.to(frame.url())
                return True
            return False

        frame.filter_hooks.append(layout_changed)
        await frame.start()
