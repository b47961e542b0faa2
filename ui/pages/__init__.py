"""Every dashboard page, registered from one function that the server assembly calls.

Each page is its own module with a ``register()`` defining its route; data loaders are plain functions of a
:class:`ui.context.Ctx` (tested without a browser) and renderers build the NiceGUI elements from their answer.
"""

from __future__ import annotations

import importlib
from typing import Any

PAGE_MODULES = ("overview", "sessions", "session", "projects", "models", "tools", "errors", "efficiency",
                "activity", "live", "budgets", "insights", "settings")


def register(app: Any = None) -> None:
    """Register the pages on NiceGUI's app (``app.state`` must already hold ``archive`` and ``bus``)."""
    from nicegui import app as nicegui_app
    from nicegui import ui

    from ui import live
    from ui.theme import CSS

    target = app if app is not None else nicegui_app
    live.attach(target.state.bus)
    ui.add_head_html(f"<style>{CSS}</style>", shared=True)
    for name in PAGE_MODULES:
        importlib.import_module(f"ui.pages.{name}").register()
