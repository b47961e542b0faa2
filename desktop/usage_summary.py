"""Today's spend and the current 5-hour block, as the tray and the home page show them (from the usage rollup)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from store.archive import Archive
from store.budgets.status import money
from store.live_usage import Block, Cost, active_block, today_cost
from store.timezones import resolve_timezone


@dataclass(frozen=True, slots=True)
class UsageSummary:
    now_ms: int
    today: Cost
    block: Block | None
    tz_name: str

    def today_text(self) -> str:
        lower_bound = "+" if self.today.unpriced else ""  # unpriced models: the figure is a lower bound
        return f"Today: {money(self.today.usd)}{lower_bound}"

    def block_text(self) -> str:
        if self.block is None:
            return "5-hour block: none active"
        tz = resolve_timezone(self.tz_name)
        ends = datetime.fromtimestamp(self.block.end_ms / 1000, tz)
        return f"5-hour block: {money(self.block.cost.usd)} (ends {ends:%H:%M})"


def usage_summary(archive: Archive, now_ms: int | None = None) -> UsageSummary:
    """Reads on the calling thread's connection: call it from a worker thread, never an event loop."""
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    tz = resolve_timezone(archive.settings.timezone)
    conn = archive.db.connection()
    return UsageSummary(now_ms, today_cost(conn, archive.prices, tz, now_ms),
                        active_block(conn, archive.prices, now_ms), getattr(tz, "key", "UTC"))
