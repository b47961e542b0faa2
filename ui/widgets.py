"""Small building blocks shared by the pages: metric cards with explanations, section headings, empty and error
states, progress bars and links, so every page looks and reads the same."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from nicegui import ui

from ui import fmt


def info(text: str) -> None:
    """An (i) that explains a figure: how it is computed and what it includes."""
    with ui.icon("info_outline", size="16px").classes("dh-muted cursor-help").props('tabindex="0" role="img"') \
            .props(f'aria-label="{_attr(text)}"'):
        ui.tooltip(text).classes("text-sm max-w-xs")


def heading(title: str, explain: str | None = None, *, level: str = "dh-h2") -> None:
    with ui.row().classes("items-center gap-1 no-wrap"):
        ui.label(title).classes(level)
        if explain:
            info(explain)


def kpi(label: str, value: str, *, explain: str, sub: str | None = None, change: tuple[str, str] | None = None,
        change_label: str | None = None, marker: str | None = None, exact: str | None = None) -> ui.card:
    """A headline figure: label with its explanation, the value (exact value on hover), an optional change."""
    with ui.card().classes("dh-card p-4 gap-1 min-w-0") as card:
        if marker:
            testid(card, marker)
        with ui.row().classes("items-center gap-1 no-wrap"):
            ui.label(label).classes("text-sm dh-muted")
            info(explain)
        value_label = ui.label(value).classes("dh-kpi-value")
        if exact:
            value_label.tooltip(exact)
        if sub:
            ui.label(sub).classes("text-sm dh-muted")
        if change:
            text, direction = change
            with ui.row().classes("items-center gap-1 text-sm no-wrap"):
                ui.label(text).classes(f"dh-{direction} font-medium")
                if change_label:
                    ui.label(change_label).classes("dh-muted")
    return card


def empty(title: str, hint: str, icon: str = "inbox", action: tuple[str, Callable[[], Any]] | None = None) -> None:
    """What to do when there is nothing to show: never a blank area."""
    with ui.column().classes("items-center text-center w-full py-8 gap-1 dh-empty"):
        ui.icon(icon, size="36px").classes("dh-muted")
        ui.label(title).classes("font-medium")
        ui.label(hint).classes("text-sm dh-muted max-w-lg")
        if action:
            ui.button(action[0], on_click=action[1]).props("flat color=primary")


def error(message: str) -> None:
    with ui.row().classes("items-center gap-2 p-3 w-full rounded-lg dh-error").style(
            "background: color-mix(in srgb, var(--q-negative) 12%, transparent)"):
        ui.icon("error_outline", color="negative")
        ui.label(f"Could not load this part: {message}").classes("text-sm")


def skeleton(kind: str = "block", height: str = "h-48") -> None:
    """Placeholders shaped like what is loading, so the page does not jump when it arrives."""
    if kind == "kpis":
        with ui.grid(columns=3).classes("w-full gap-4"):
            for _ in range(3):
                with ui.card().classes("dh-card p-4 gap-2"):
                    ui.skeleton("text").classes("w-24")
                    ui.skeleton("text").classes("w-32 text-2xl")
                    ui.skeleton("text").classes("w-20")
    elif kind == "table":
        with ui.column().classes("w-full gap-2"):
            for _ in range(6):
                ui.skeleton("text").classes("w-full h-6")
    else:
        ui.skeleton("rect").classes(f"w-full {height} rounded-lg")


def bar(fraction: float, color: str = "primary", label: str | None = None) -> None:
    ui.linear_progress(min(max(fraction, 0.0), 1.0), show_value=False, color=color, size="8px").classes("rounded") \
        .props(f'aria-label="{_attr(label or fmt.percent(fraction))}"')


def session_link(session_id: str, text: str | None, query: str = "") -> ui.link:
    title = (text or "").strip() or session_id[:8]
    return ui.link(title if len(title) <= 90 else title[:87] + "…", f"/sessions/{quote(session_id, safe='')}{query}") \
        .classes("dh-link")


def card(classes: str = "") -> ui.card:
    return ui.card().classes(f"dh-card p-4 gap-3 w-full min-w-0 {classes}")


def testid(element: Any, name: str) -> Any:
    """Mark an element for the simulated user (``marker``) and for the browser (``data-testid``) alike."""
    return element.mark(name).props(f'data-testid="{name}"')


def _attr(text: str) -> str:
    return text.replace('"', "&quot;")


def status_color(status: str) -> str:
    return {"ok": "positive", "warning": "warning", "exceeded": "negative"}.get(status, "primary")


def table(columns: list[dict[str, Any]], rows: list[dict[str, Any]], *, row_key: str = "id", rows_per_page: int = 0,
          marker: str | None = None) -> ui.table:
    """A compact, sortable table (client-side: for short lists such as tools or models)."""
    for column in columns:
        column.setdefault("sortable", True)
        column.setdefault("align", "left")
    pagination = {"rowsPerPage": rows_per_page} if rows_per_page else None
    result = ui.table(columns=columns, rows=rows, row_key=row_key, pagination=pagination) \
        .classes("w-full dh-table").props("flat dense")
    if marker:
        testid(result, marker)
    return result
