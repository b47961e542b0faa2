"""Light and dark themes: the user's choice is kept in config.json (``dashboard.theme``), so the first paint of
every page already has the right colours, and the desktop window and a browser agree."""

from __future__ import annotations

from dataclasses import replace

from nicegui import ui

from store.config import load_settings, save_settings
from ui.context import archive

THEMES = ("light", "dark")
PRIMARY = "#5b5bd6"

CSS = """
:root { --dh-muted: #667085; --dh-border: rgba(16, 24, 40, .10); --dh-soft: #f4f5fb; --dh-up: #c2410c;
        --dh-down: #15803d; }
body.body--dark { --dh-muted: #98a2b3; --dh-border: rgba(255, 255, 255, .10); --dh-soft: #1c1f27;
                  --dh-up: #fb923c; --dh-down: #4ade80; }
body { font-feature-settings: "tnum"; }
.dh-muted { color: var(--dh-muted); }
.dh-card { border: 1px solid var(--dh-border); box-shadow: none; border-radius: 12px; }
.dh-kpi-value { font-size: 1.55rem; font-weight: 650; line-height: 1.2; font-variant-numeric: tabular-nums; }
.dh-up { color: var(--dh-up); } .dh-down { color: var(--dh-down); } .dh-flat, .dh-new { color: var(--dh-muted); }
.dh-section { position: relative; min-width: 0; transition: opacity .15s; }
.dh-section.dh-loading { opacity: .55; pointer-events: none; }
.dh-nav { display: flex; align-items: center; gap: .75rem; padding: .45rem .9rem; margin: 1px .5rem;
          border-radius: 8px; color: inherit; text-decoration: none; font-size: .92rem; }
.dh-nav:hover { background: var(--dh-soft); }
.dh-nav.dh-active { background: color-mix(in srgb, var(--q-primary) 16%, transparent); color: var(--q-primary);
                    font-weight: 600; }
.dh-nav:focus-visible, .dh-link:focus-visible, .q-btn:focus-visible { outline: 2px solid var(--q-primary);
                                                                       outline-offset: 2px; }
.dh-nav kbd { margin-left: auto; font-size: .7rem; opacity: .55; font-family: inherit; }
.dh-link { color: var(--q-primary); text-decoration: none; }
.dh-link:hover { text-decoration: underline; }
.dh-title { font-size: 1.45rem; font-weight: 650; }
.dh-h2 { font-size: 1.02rem; font-weight: 600; }
.dh-soft { background: var(--dh-soft); border-radius: 8px; }
.dh-mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .8rem; white-space: pre-wrap;
           word-break: break-word; }
.dh-bubble { border-radius: 10px; padding: .6rem .8rem; border: 1px solid var(--dh-border); max-width: 100%; }
.dh-bubble-user { background: color-mix(in srgb, var(--q-primary) 9%, transparent); }
.dh-answer > :first-child { margin-top: 0; }
.dh-answer > :last-child { margin-bottom: 0; }
.dh-answer pre { overflow-x: auto; padding: .5rem .7rem; border-radius: 6px; background: var(--dh-soft); }
.dh-answer code { font-size: .8rem; }
.dh-answer h1, .dh-answer h2, .dh-answer h3, .dh-answer h4 { font-weight: 600; line-height: 1.3;
                                                             margin: .8rem 0 .4rem; }
.dh-answer h1 { font-size: 1.2rem; }
.dh-answer h2 { font-size: 1.08rem; }
.dh-answer h3, .dh-answer h4 { font-size: .95rem; }
.dh-answer table { border-collapse: collapse; }
.dh-answer a:not([href^="http"]) { pointer-events: none; color: inherit; text-decoration: none; }
.dh-answer th, .dh-answer td { border: 1px solid var(--dh-border); padding: .2rem .5rem; }
.dh-table .q-table__top, .dh-table thead tr th { font-weight: 600; }
.dh-table tbody tr td { font-variant-numeric: tabular-nums; }
.dh-heat-cell { border-radius: 3px; }
.dh-cell-title { max-width: 280px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.dh-cell-narrow { max-width: 150px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.dh-snippet { word-break: break-word; }
.dh-snippet mark { background: color-mix(in srgb, var(--q-accent) 35%, transparent); color: inherit;
                   border-radius: 2px; padding: 0 1px; }
.q-header { backdrop-filter: blur(6px); }
body:not(.body--dark) .q-header { background: rgba(255, 255, 255, .92); color: #101828;
                                  border-bottom: 1px solid var(--dh-border); }
body.body--dark .q-header { background: rgba(17, 19, 24, .92); color: #e6e8ee;
                            border-bottom: 1px solid var(--dh-border); }
body.body--dark .q-drawer { background: #121419; }
"""


def theme() -> str:
    """The saved theme (``light`` unless the user chose dark)."""
    value = (archive().settings.extra.get("dashboard") or {}).get("theme")
    return value if value in THEMES else "light"


def save_theme(value: str) -> None:
    """Persist the choice in config.json; other settings (and unknown keys) are kept as they are."""
    if value not in THEMES:
        raise ValueError(f"theme must be one of {', '.join(THEMES)}")
    current = archive()
    settings = load_settings()
    extra = dict(settings.extra)
    extra["dashboard"] = {**(extra.get("dashboard") or {}), "theme": value}
    settings = replace(settings, extra=extra)
    save_settings(settings)
    current.settings = replace(current.settings, extra=extra)


def apply_page_theme() -> ui.dark_mode:
    ui.colors(primary=PRIMARY, secondary="#0ea5e9", accent="#f59e0b", positive="#16a34a", negative="#dc2626",
              warning="#f59e0b", dark="#181b22", dark_page="#0f1115")
    return ui.dark_mode(theme() == "dark")
