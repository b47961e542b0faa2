"""The page chrome every dashboard page shares: header with the global filter, left navigation, theme switch,
keyboard shortcuts, and the loading and live-refresh logic of the page's sections.

One ``Frame`` per page view (per browser tab). The filter lives in the URL: changing it rewrites the query string
in place (no reload), updates the navigation links so the next page keeps it, and reloads the sections.
"""

from __future__ import annotations

import asyncio
import html
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from nicegui import background_tasks, run, ui
from nicegui.events import KeyEventArguments

from store.dashboard.catalog import ProjectChoice, project_choices
from store.insights.records import unread_count
from ui.cache import results
from ui.context import Ctx, archive, make_ctx
from ui.filters import CUSTOM, PRESETS, DashFilter
from ui.live import version
from ui.section import Section
from ui.theme import apply_page_theme, save_theme, theme

INLINE_WAIT_S = 0.3  # answers this fast go into the page's HTML (painted with it); slower ones follow over the socket
STALE_CHECK_S = 2.0
MIN_REFRESH_S = 5.0  # live data reloads a page at most this often (more when its queries are slow)


@dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    label: str
    icon: str
    key: str  # keyboard shortcut
    filtered: bool = True  # whether the page honours the global filter (links carry it)


NAV: tuple[NavItem, ...] = (
    NavItem("/", "Overview", "space_dashboard", "o"),
    NavItem("/sessions", "Sessions", "forum", "s"),
    NavItem("/projects", "Projects", "folder_open", "p"),
    NavItem("/models", "Models", "memory", "m"),
    NavItem("/tools", "Tools", "construction", "t"),
    NavItem("/errors", "Errors", "report_problem", "e"),
    NavItem("/efficiency", "Efficiency", "bolt", "f"),
    NavItem("/activity", "Activity", "calendar_month", "a"),
    NavItem("/live", "Live", "sensors", "l"),
    NavItem("/budgets", "Budgets", "savings", "b"),
    NavItem("/insights", "Insights", "lightbulb", "i"),
    NavItem("/settings", "Settings", "settings", ","),
)
SHORTCUTS = (*((item.key, f"Go to {item.label}") for item in NAV),
             ("/", "Search sessions"), ("[ ]", "Previous / next date range"), ("r", "Reload the figures"),
             ("d", "Dark / light theme"), ("?", "This help"))


def _project_options(choices: list[ProjectChoice], current: str | None) -> dict[str, str]:
    options = {"": "All projects"}
    options.update({c.value: f"{c.label}" for c in choices})
    if current and current not in options:
        options[current] = current
    return options


class Frame:
    def __init__(self, path: str, title: str, *, explain: str | None = None, filters: bool = True,
                 nav: str | None = None) -> None:
        self.client = ui.context.client
        self.path = path  # the page's own path (with its path parameters)
        self.nav_path = nav or path
        self.filt = DashFilter.from_query(self.client.request.query_params)
        self.page_params: dict[str, str] = {}  # the page's own query parameters (search, sort, ...), kept in the URL
        self.has_filters = filters
        self.sections: list[Section[Any]] = []
        # called on a filter change before the sections reload; a hook returning True rebuilds the page itself
        self.filter_hooks: list[Callable[[DashFilter], Awaitable[Any] | Any]] = []
        self.busy = False
        self.loaded_version = version.value
        self.last_load = time.monotonic()
        self.search_input: ui.input | None = None
        self.unread = 0
        self._syncing = False
        self._primary_sent = asyncio.Event()
        self.dark = apply_page_theme()
        ui.page_title(f"{title} · Devhelion")
        self._header()
        self._drawer()
        with ui.column().classes("w-full max-w-[1440px] mx-auto px-4 md:px-6 py-5 gap-5") as self.main:
            with ui.row().classes("w-full items-center justify-between gap-3"):
                with ui.row().classes("items-center gap-2 no-wrap"):
                    ui.label(title).classes("dh-title").props('role="heading" aria-level="1"')
                    if explain:
                        from ui.widgets import info
                        info(explain)
                self.actions = ui.row().classes("items-center gap-2")
            self.content = ui.column().classes("w-full gap-5")
        ui.keyboard(on_key=self._on_key, ignore=["input", "select", "textarea"])
        ui.timer(STALE_CHECK_S, self._check_stale)

    # -- chrome --------------------------------------------------------------------------------------------
    def _header(self) -> None:
        with ui.header(elevated=False).classes("items-center gap-3 px-3 py-2 no-wrap"):
            ui.button(icon="menu", on_click=lambda: self.drawer.toggle()).props("flat round dense") \
                .props('aria-label="Toggle navigation"')
            with ui.link(target=self.filt.url("/")).classes("flex items-center gap-2 no-underline text-inherit") \
                    .props('aria-label="Devhelion overview"'):
                ui.icon("insights", size="26px", color="primary")
                ui.label("Devhelion").classes("text-lg font-semibold gt-xs")
            ui.space()
            if self.has_filters:
                self._filter_bar()
            ui.space()
            self.progress = ui.spinner(size="20px", color="primary").bind_visibility_from(self, "busy")
            self.updated = ui.label("").classes("text-xs dh-muted gt-sm").mark("updated").props('data-testid="updated"')
            ui.button(icon="dark_mode" if theme() == "light" else "light_mode", on_click=self.toggle_theme) \
                .props('flat round dense aria-label="Switch theme (d)"').tooltip("Dark / light theme (d)")
            ui.button(icon="keyboard", on_click=self.show_shortcuts) \
                .props('flat round dense aria-label="Keyboard shortcuts (?)"').tooltip("Keyboard shortcuts (?)")

    def _filter_bar(self) -> None:
        today = self.ctx().today
        options = {**PRESETS, CUSTOM: "Custom dates…"}
        self.range_select = ui.select(options, value=self.filt.range, on_change=self._range_changed) \
            .props('dense outlined options-dense aria-label="Date range"').classes("w-44") \
                .mark("range").props('data-testid="range"')
        self.range_select.tooltip("Date range for every figure on the page (keys [ and ] step through the presets)")
        self.range_label = ui.button(self.filt.label(today), icon="event", on_click=self.pick_dates) \
            .props("flat dense no-caps").classes("text-sm").mark("range-label").props('data-testid="range-label"')
        self.range_label.set_visibility(self.filt.range == CUSTOM)
        self.project_select = ui.select(_project_options([], self.filt.project), value=self.filt.project or "",
                                        with_input=True, on_change=self._project_changed) \
            .props('dense outlined options-dense aria-label="Project" input-debounce="0"').classes("w-64 dh-side") \
            .mark("project").props('data-testid="project"')
        self.project_select.tooltip("Show one project only (every page), or all projects")

    def _drawer(self) -> None:
        with ui.left_drawer(value=True, fixed=True, bordered=True).props("width=220 breakpoint=760") \
                .classes("px-0 py-3") as self.drawer:
            # one HTML element for the whole list: a page is built (and its links rewritten) in one go
            self.nav = ui.html(self._nav_html(), sanitize=False, tag="nav").props('aria-label="Dashboard pages"') \
                .classes("flex flex-col").mark("nav")
            ui.space()
            with ui.column().classes("px-4 pt-6 gap-1"):
                ui.label("Press ? for keyboard shortcuts").classes("text-xs dh-muted")

    def _nav_html(self) -> str:
        parts = []
        for item in NAV:
            active = item.path == self.nav_path
            url = html.escape(self.filt.url(item.path) if item.filtered else item.path)
            badge = ""
            if item.path == "/insights" and self.unread:
                badge = (f'<span class="q-badge flex inline items-center no-wrap q-badge--single-line '
                         f'q-badge--rounded bg-primary text-white text-xs" data-unread="{self.unread}">'
                         f"{self.unread}</span>")
            parts.append(f'<a href="{url}" class="dh-nav{" dh-active" if active else ""}"'
                         f'{" aria-current=page" if active else ""}>'
                         f'<i class="q-icon notranslate material-icons" aria-hidden="true" style="font-size:20px">'
                         f"{item.icon}</i><span>{item.label}</span>{badge}<kbd>{html.escape(item.key)}</kbd></a>")
        return "".join(parts)

    def _refresh_nav(self) -> None:
        self.nav.set_content(self._nav_html())

    # -- state ---------------------------------------------------------------------------------------------
    def ctx(self) -> Ctx:
        return make_ctx(self.filt)

    def url(self) -> str:
        params = {**self.filt.query(), **{k: v for k, v in self.page_params.items() if v}}
        return self.path + ("?" + urlencode(params) if params else "")

    def set_page_params(self, **params: str | None) -> None:
        """Change the page's own query parameters and rewrite the URL in place (no reload)."""
        for name, value in params.items():
            if value:
                self.page_params[name] = value
            else:
                self.page_params.pop(name, None)
        ui.navigate.history.replace(self.url())

    def param(self, name: str) -> str | None:
        return self.client.request.query_params.get(name)

    def section(self, name: str, load: Callable[[Ctx], Any], render: Callable[[Any, Ctx], None],
                **options: Any) -> Section[Any]:
        section: Section[Any] = Section(name, load, render, **options)
        self.sections.append(section)
        return section

    async def start(self) -> None:
        """Load every section, the page's primary one first (it gets the CPU to itself): a primary answer ready
        within ``INLINE_WAIT_S`` is part of the first HTML; everything else arrives over the socket once the
        browser has connected, so its components (charts) never delay the first paint. Call at the end of the
        page function."""
        ctx = self.ctx()
        self.busy = True
        started = time.perf_counter()
        primary = [s for s in self.sections if s.primary] or self.sections[:1]
        fetches: dict[Section[Any], asyncio.Future] = {s: asyncio.ensure_future(s.fetch(ctx)) for s in primary}
        first = list(fetches.values())
        if first:
            await asyncio.wait(first, timeout=INLINE_WAIT_S)
        for section, fetch in list(fetches.items()):
            if fetch.done():
                section.show(*fetch.result(), ctx)
                del fetches[section]
        rest = asyncio.ensure_future(self._load_rest([s for s in self.sections if s not in primary], first, ctx))
        self._stamp()
        _trace(f"{self.path} inline {time.perf_counter() - started:.3f} ({len(fetches)} primary pending)")
        await self.client.connected()
        _trace(f"{self.path} connected {time.perf_counter() - started:.3f}")
        await asyncio.gather(*(self._show_later(section, fetch, ctx) for section, fetch in fetches.items()))
        await self._flushed()
        self._primary_sent.set()
        _trace(f"{self.path} primary {time.perf_counter() - started:.3f}")
        await asyncio.gather(rest, self._side_data())
        self.busy = False
        self.last_load = time.monotonic()
        self.load_seconds = time.perf_counter() - started
        _trace(f"{self.path} done {time.perf_counter() - started:.3f}")
        self._stamp()

    async def _load_rest(self, sections: list[Section[Any]], first: list[asyncio.Future], ctx: Ctx) -> None:
        """The other sections: fetched once the primary ones are and the browser has connected (their queries
        would otherwise compete for the GIL with serving the page's scripts, delaying the first paint), shown
        after the primary answer."""
        if first:
            await asyncio.wait(first)
        await self.client.connected()
        fetches = {s: asyncio.ensure_future(s.fetch(ctx)) for s in sections}
        await self._primary_sent.wait()  # never in the same update as the primary answer: it is painted first
        await asyncio.gather(*(self._show_later(s, f, ctx) for s, f in fetches.items()))

    async def _flushed(self, limit_s: float = 0.3) -> None:
        """Wait until the outbox has sent what is queued (the primary answer): work started next on worker
        threads competes for the GIL with the event loop and would delay that message by hundreds of ms."""
        outbox = self.client.outbox
        if not self.client.has_socket_connection:
            return
        deadline = time.monotonic() + limit_s
        while (outbox.updates or outbox.messages) and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.01)  # the emit itself (socket.io) runs on the loop after the queue is taken

    async def _show_later(self, section: Section[Any], fetch: asyncio.Future, ctx: Ctx) -> None:
        section.show(*await fetch, ctx)

    async def reload(self, live_only: bool = False) -> None:
        """Reload the sections for the current filter (keeping their content, dimmed, until the answer)."""
        ctx = self.ctx()
        self.loaded_version = version.value
        self.busy = True
        chosen = [s for s in self.sections if s.live or not live_only]
        for section in chosen:
            if section.loaded_at is not None:
                section.container.classes(add="dh-loading")  # dimmed at once, until its new answer arrives
        started = time.perf_counter()
        try:  # the primary section first: a filter change shows its answer as soon as it can
            await asyncio.gather(*(s.load(ctx) for s in chosen if s.primary))
            await self._flushed()
            _trace(f"{self.path} reload primary {time.perf_counter() - started:.3f}")
            await asyncio.gather(*(s.load(ctx) for s in chosen if not s.primary), self._side_data())
            _trace(f"{self.path} reload done {time.perf_counter() - started:.3f}")
        finally:
            self.busy = False
            self.last_load = time.monotonic()
            self._stamp()

    async def _side_data(self) -> None:
        """The project list and the unread insights count (cached; they only change with new data)."""
        def load() -> tuple[list[ProjectChoice], int]:
            db = archive().db
            choices = results.get_or_compute(("catalog.projects", version.value), lambda: project_choices(db))
            unread = unread_count(db.connection())
            return choices, unread

        loaded = await run.io_bound(load)
        if loaded is None:
            return
        choices, unread = loaded
        if self.has_filters:
            self._syncing = True
            try:
                self.project_select.set_options(_project_options(choices, self.filt.project),
                                                value=self.filt.project or "")
                self.project_select.classes(add="dh-ready")  # the page is ready once its project list is too
            finally:
                self._syncing = False
        if unread != self.unread:
            self.unread = unread
            self._refresh_nav()

    def _stamp(self) -> None:
        self.updated.set_text(f"Updated {time.strftime('%H:%M:%S')}")

    async def set_filter(self, filt: DashFilter) -> None:
        if filt == self.filt:
            return
        self.filt = filt
        ui.navigate.history.replace(self.url())
        self._refresh_nav()
        if self.has_filters:
            self._syncing = True
            try:
                self.range_select.set_value(filt.range)
                if (filt.project or "") not in self.project_select.options:
                    self.project_select.set_options({**self.project_select.options, filt.project: filt.project})
                self.project_select.set_value(filt.project or "")
            finally:
                self._syncing = False
            self.range_label.set_text(filt.label(self.ctx().today))
            self.range_label.set_visibility(filt.range == CUSTOM)
        for hook in self.filter_hooks:
            outcome = hook(filt)
            if asyncio.iscoroutine(outcome):
                outcome = await outcome
            if outcome is True:
                return
        await self.reload()

    async def _range_changed(self, event: Any) -> None:
        if self._syncing or event.value == self.filt.range:
            return
        if event.value == CUSTOM:
            await self.pick_dates()
            return
        await self.set_filter(self.filt.with_range(event.value))

    async def _project_changed(self, event: Any) -> None:
        if self._syncing:
            return
        await self.set_filter(self.filt.with_project(event.value or None))

    async def pick_dates(self) -> None:
        """A dialog with two date fields (typed or picked); cancelling keeps the current range."""
        since, until = self.filt.dates(self.ctx().today)
        with ui.dialog() as dialog, ui.card().classes("gap-3 p-5 min-w-[320px]"):
            ui.label("Custom date range").classes("dh-h2")
            ui.label("Inclusive local dates, in your configured time zone.").classes("text-sm dh-muted")
            start = ui.input("From", value=since.isoformat() if since else "").props("type=date outlined dense") \
                .mark("date-from").props('data-testid="date-from"')
            end = ui.input("To", value=until.isoformat() if until else "").props("type=date outlined dense") \
                .mark("date-to").props('data-testid="date-to"')
            with ui.row().classes("justify-end w-full gap-2"):
                ui.button("Cancel", on_click=lambda: dialog.submit(None)).props("flat")
                ui.button("Apply", on_click=lambda: dialog.submit((start.value, end.value))) \
                    .mark("date-apply").props('data-testid="date-apply"')
        chosen = await dialog
        dialog.delete()
        if not chosen:
            self._syncing = True
            self.range_select.set_value(self.filt.range)
            self._syncing = False
            return
        first, last = (_parse_date(v) for v in chosen)
        if first and last and first > last:
            first, last = last, first
        await self.set_filter(self.filt.with_dates(first, last))

    async def step_range(self, step: int) -> None:
        keys = list(PRESETS)
        index = keys.index(self.filt.range) if self.filt.range in keys else keys.index("30d")
        await self.set_filter(self.filt.with_range(keys[(index + step) % len(keys)]))

    def _check_stale(self) -> None:
        """Reload live sections after new data arrived (rate-limited by how long the page's queries take)."""
        if self.busy or version.value == self.loaded_version or not self.client.has_socket_connection:
            return
        spent = max((s.last_duration_s for s in self.sections), default=0.0)
        if time.monotonic() - self.last_load < max(MIN_REFRESH_S, 4 * spent):
            return
        background_tasks.create(self.reload(live_only=True), name="dashboard live reload")

    async def toggle_theme(self) -> None:
        value = "light" if theme() == "dark" else "dark"
        await run.io_bound(save_theme, value)
        self.dark.set_value(value == "dark")
        ui.navigate.reload()  # charts and icons pick their colours at creation

    def show_shortcuts(self) -> None:
        with ui.dialog() as dialog, ui.card().classes("p-5 gap-2 min-w-[320px]"):
            ui.label("Keyboard shortcuts").classes("dh-h2")
            with ui.grid(columns=2).classes("gap-x-6 gap-y-1 text-sm"):
                for key, text in SHORTCUTS:
                    ui.html(f"<kbd>{key}</kbd>", sanitize=False, tag="span")
                    ui.label(text)
            ui.label("Tab moves through links, fields and buttons; Enter opens or activates.") \
                .classes("text-xs dh-muted")
            ui.button("Close", on_click=dialog.close).props("flat")
        dialog.open()

    async def _on_key(self, event: KeyEventArguments) -> None:
        if not event.action.keydown or event.action.repeat:
            return
        if event.modifiers.ctrl or event.modifiers.meta or event.modifiers.alt:
            return
        key = event.key.name
        target = next((item for item in NAV if item.key == key), None)
        if target is not None:
            ui.navigate.to(self.filt.url(target.path) if target.filtered else target.path)
        elif key == "/":
            if self.search_input is not None:
                self.search_input.run_method("focus")
            else:
                ui.navigate.to(self.filt.url("/sessions") + ("&" if self.filt.query() else "?") + "focus=search")
        elif key == "?":
            self.show_shortcuts()
        elif key == "d":
            await self.toggle_theme()
        elif key == "r":
            results.clear()
            await self.reload()
        elif key in ("[", "]") and self.has_filters:
            await self.step_range(-1 if key == "[" else 1)


def _trace(message: str) -> None:
    if os.environ.get("DEVHELION_DASH_TRACE"):
        print(f"[dash {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
