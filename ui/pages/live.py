"""Live (``/live``): the event feed that ``/ws`` streams (ingest, hooks, sync, budgets, insights) as it happens,
filtered by kind or text, with pause and "sync now".

The page subscribes to the event bus like a ``/ws`` client (its own bounded queue) and a timer drains it twice a
second; during a large sync only the newest events of each batch are drawn and the rest are counted.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from nicegui import app, ui

from desktop.live.bus import Event
from ui import fmt, widgets
from ui.context import make_ctx
from ui.layout import Frame
from ui.live import FAMILIES, drain, summarize, wanted
from ui.pages.common import sync_now

KEEP = 200  # rows on screen
BATCH_DRAWN = 40  # rows drawn per timer tick at most
TICK_S = 0.5
_ICONS = {"request": "bolt", "tool": "construction", "session": "forum", "hook": "webhook", "sync": "sync",
          "other": "notifications"}


class Feed:
    """The rows on screen and the counters, for one open Live page."""

    def __init__(self) -> None:
        self.families: set[str] = set(FAMILIES)
        self.text = ""
        self.paused = False
        self.seen = 0
        self.skipped = 0
        self.rows: deque[dict[str, Any]] = deque(maxlen=KEEP)

    def accept(self, events: list[Event]) -> list[dict[str, Any]]:
        """Events that pass the filters, summarised, newest last (older ones past ``BATCH_DRAWN`` only counted)."""
        self.seen += len(events)
        rows = [summarize(e) for e in events if wanted(e, self.families)]
        if self.text:
            needle = self.text.lower()
            rows = [r for r in rows if needle in f"{r['kind']} {r['detail']} {r['session_id'] or ''}".lower()]
        if len(rows) > BATCH_DRAWN:
            self.skipped += len(rows) - BATCH_DRAWN
            rows = rows[-BATCH_DRAWN:]
        self.rows.extend(rows)
        return rows


def register() -> None:
    @ui.page("/live", title="Live · Devhelion")
    async def page() -> None:
        frame = Frame("/live", "Live", filters=False, explain="Events as Devhelion receives them: new requests, tool "
                      "calls and failures, sessions, Claude Code hook events, syncs, budget and insight alerts. The "
                      "same feed as ws://…/ws.")
        bus = app.state.bus
        sub = bus.subscribe()
        frame.client.on_delete(lambda: bus.unsubscribe(sub))
        feed = Feed()
        tz = make_ctx(frame.filt).tz
        live_service = getattr(app.state, "live", None)

        with frame.actions:
            pause = ui.button("Pause feed", icon="pause").props("flat no-caps").mark("pause")
            sync = ui.button("Sync now", icon="sync").props("flat no-caps").mark("sync-now")
            sync.tooltip("Read new transcript lines now")
        with frame.content:
            with ui.row().classes("w-full items-center gap-4"):
                for family, label in FAMILIES.items():
                    ui.checkbox(label, value=True,
                                on_change=lambda e, f=family: (feed.families.add(f) if e.value
                                                               else feed.families.discard(f))).mark(f"family-{family}")
                search = ui.input(placeholder="Filter text").props("dense outlined clearable").classes("w-56") \
                    .mark("live-filter")
                search.on_value_change(lambda e: setattr(feed, "text", (e.value or "").strip()))
                ui.space()
                status = ui.label("").classes("text-sm dh-muted").mark("live-status")
            watching = ""
            if live_service is not None:
                watching = "Watching your Claude Code logs." if not live_service.paused else "Watching is paused."
            ui.label(f"{watching} Events appear within a second of Claude Code writing them.").classes(
                "text-sm dh-muted")
            with widgets.card().classes("dh-section dh-primary dh-ready").props('data-section="feed"'):
                empty = ui.column().classes("w-full")
                with empty:
                    widgets.empty("Waiting for events", "Use Claude Code, or press “Sync now”: requests, tool calls "
                                  "and hook events stream in here.", "sensors")
                rows = ui.column().classes("w-full gap-0").mark("live-rows")

        def draw(new_rows: list[dict[str, Any]]) -> None:
            if not new_rows:
                return
            empty.set_visibility(False)
            with rows:
                for row in new_rows:
                    with ui.row().classes("w-full items-center gap-3 py-1 text-sm no-wrap border-b") \
                            .style("border-color: var(--dh-border)") as line:
                        ui.icon(_ICONS.get(row["family"], "notifications"), size="18px").classes("dh-muted")
                        ui.label(fmt.local_time(row["ts_ms"], tz, with_date=False)).classes("dh-muted w-20 shrink-0")
                        ui.label(row["kind"]).classes("font-medium w-44 shrink-0")
                        ui.label(row["detail"]).classes("truncate flex-1")
                        if row["session_id"]:
                            widgets.session_link(row["session_id"], row["session_id"][:8], frame.filt.query_string())
                    line.move(target_index=0)
            while len(rows.default_slot.children) > KEEP:
                rows.remove(rows.default_slot.children[-1])

        def tick() -> None:
            if feed.paused:
                return
            draw(feed.accept(drain(sub)))
            dropped = f" · {sub.dropped} dropped (too fast)" if sub.dropped else ""
            skipped = f" · {feed.skipped} not drawn" if feed.skipped else ""
            status.set_text(f"{feed.seen} events{skipped}{dropped}")

        def toggle_pause() -> None:
            feed.paused = not feed.paused
            pause.set_text("Resume feed" if feed.paused else "Pause feed")
            pause.props(f"icon={'play_arrow' if feed.paused else 'pause'}")

        pause.on_click(toggle_pause)
        sync.on_click(sync_now)
        ui.timer(TICK_S, tick)
        await frame.start()
