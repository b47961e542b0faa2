"""A part of a page that loads on its own: a skeleton first, then the content (or an empty state, or an error).

Queries run on a worker thread (``run.io_bound``) and may start before the browser has connected, so their time
overlaps the page's own loading. Each load has a generation number: a slow answer for an old filter never
replaces the answer for the current one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from nicegui import run, ui

from ui import widgets
from ui.cache import results
from ui.context import Ctx
from ui.live import version

log = logging.getLogger(__name__)
T = TypeVar("T")


class Section(Generic[T]):
    def __init__(self, name: str, load: Callable[[Ctx], T], render: Callable[[T, Ctx], None], *,
                 skeleton: str = "block", height: str = "h-48", classes: str = "", live: bool = True,
                 cache: bool = True, key: Callable[[], Hashable] | None = None, shared: str | None = None) -> None:
        self.name = name
        self.shared = shared  # sections with the same ``shared`` name (and key) share one computation
        self.primary = "dh-primary" in classes.split()  # the part that answers the page's question
        self.load_fn = load
        self.render_fn = render
        self.live = live
        self.cache = cache
        self.key = key  # extra state the answer depends on (a page's own controls)
        self.generation = 0
        self.loaded_at: float | None = None
        self.last_duration_s = 0.0
        self.container = ui.element("div").classes(f"dh-section w-full flex flex-col gap-4 {classes}") \
            .props(f'data-section="{name}"')
        with self.container:
            widgets.skeleton(skeleton, height)

    def compute(self, ctx: Ctx) -> T:
        """Run the loader (cached by the filter, the section's own key and the bus's data version)."""
        if not self.cache:
            return self.load_fn(ctx)
        key = (self.shared or self.name, ctx.cache_key, self.key() if self.key else None, version.value)
        return results.get_or_compute(key, lambda: self.load_fn(ctx))

    async def fetch(self, ctx: Ctx) -> tuple[int, tuple[T] | BaseException | None]:
        """Start loading for ``ctx``; returns the generation and the boxed result (or the exception)."""
        self.generation += 1
        generation = self.generation
        started = time.perf_counter()
        try:
            boxed = await run.io_bound(lambda: (self.compute(ctx),))
        except Exception as exc:  # shown in the section; the page keeps working
            log.exception("dashboard section %s failed", self.name)
            return generation, exc
        self.last_duration_s = time.perf_counter() - started
        return generation, boxed

    def show(self, generation: int, outcome: tuple[T] | BaseException | None, ctx: Ctx) -> None:
        if generation != self.generation or self.container.is_deleted or outcome is None:
            return
        self.container.clear()
        with self.container:
            if isinstance(outcome, BaseException):
                widgets.error(str(outcome) or type(outcome).__name__)
            else:
                try:
                    self.render_fn(outcome[0], ctx)
                except Exception as exc:
                    log.exception("dashboard section %s could not render", self.name)
                    self.container.clear()
                    widgets.error(str(exc) or type(exc).__name__)
        self.container.classes(remove="dh-loading", add="dh-ready")
        self.container.props(f'data-generation="{generation}"')
        self.loaded_at = time.monotonic()

    async def load(self, ctx: Ctx) -> None:
        if self.loaded_at is not None:
            self.container.classes(add="dh-loading")
        generation, outcome = await self.fetch(ctx)
        self.show(generation, outcome, ctx)
