"""What every insight rule shares: the evaluation context, the finding a rule returns, and small helpers.

Rules are pure functions of the archive and ``Context.now_ms``: the same archive and clock give the same findings,
which is what makes the demo archive's insights stable and the rules testable on crafted archives.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import PurePath
from typing import Any

from store.pricing import LONG_CONTEXT_THRESHOLD, PriceTable, TokenCounts, cost_usd
from store.timezones import DAY_MS, local_date, local_day_start_utc_ms, week_start

TYPES = ("trend", "anomaly", "tip")
CATEGORIES = ("cost", "performance", "quality", "usage")
TOKEN_SUM = "input_tokens + output_tokens + cache_write_5m + cache_write_1h + cache_read"

# Requests grouped the way prices apply (model, speed, geography, long context), with their summed tokens.
PRICE_GROUP = (f"model, coalesce(speed, ''), coalesce(inference_geo, ''), "
               f"input_tokens + cache_write_5m + cache_write_1h + cache_read > {LONG_CONTEXT_THRESHOLD}")
PRICE_SUMS = ("sum(input_tokens), sum(output_tokens), sum(cache_write_5m), sum(cache_write_1h), sum(cache_read), "
              "sum(web_search_requests)")


@dataclass(frozen=True)
class Context:
    conn: sqlite3.Connection
    now_ms: int
    prices: PriceTable
    tz: tzinfo = UTC
    start_of_week: int = 0  # 0 = Monday

    @property
    def today(self) -> date:
        return local_date(self.now_ms, self.tz)

    def day_start(self, d: date) -> int:
        return local_day_start_utc_ms(d, self.tz)

    def days_ago(self, days: int) -> int:
        return self.now_ms - days * DAY_MS

    @property
    def week(self) -> str:
        """The current week (by the user's first day of the week) as a period key."""
        return "week:" + week_start(self.today, self.start_of_week).isoformat()

    def last_full_week(self) -> tuple[date, date]:
        this_week = week_start(self.today, self.start_of_week)
        return this_week - timedelta(days=7), this_week


@dataclass(frozen=True)
class Finding:
    rule: str
    subject: str
    period: str
    title: str
    description: str
    value: str
    type: str
    category: str
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        assert self.type in TYPES and self.category in CATEGORIES, (self.type, self.category)


def group_cost(prices: PriceTable, row: tuple) -> Decimal | None:
    """Cost of one price group row ``(model, speed, geo, long_context, input, output, cw5, cw1, read, web)``."""
    model, speed, geo, long_context, *tokens = row
    return cost_usd(prices, model, TokenCounts(*(int(t or 0) for t in tokens)), speed=speed or None,
                    inference_geo=geo or None, long_context=bool(long_context))


def tokens_text(n: float) -> str:
    return f"{round(n):,} tokens"


def money(amount: Decimal) -> str:
    return f"${amount.quantize(Decimal('0.01'), rounding=ROUND_HALF_EVEN):,}"


def percent(ratio: float) -> str:
    return f"{ratio:.0%}"


def session_labels(conn: sqlite3.Connection, session_ids: Iterable[str]) -> dict[str, str]:
    """``project/1a2b3c4d`` per session: the project folder's name and the session id's start."""
    ids = sorted(set(session_ids))
    labels = {sid: sid[:8] for sid in ids}
    for start in range(0, len(ids), 500):
        part = ids[start:start + 500]
        for sid, path in conn.execute(
                "SELECT s.session_id, coalesce(p.path, s.cwd) FROM session s LEFT JOIN project p ON p.id = "
                f"s.project_id WHERE s.session_id IN ({','.join('?' * len(part))})", part):
            name = PurePath(path).name if path else ""
            labels[sid] = f"{name}/{sid[:8]}" if name else sid[:8]
    return labels


def duration_text(ms: int) -> str:
    minutes = max(1, round(ms / 60_000))
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes / 60
    return f"{hours:.0f} h" if hours < 48 else f"{hours / 24:.0f} days"
