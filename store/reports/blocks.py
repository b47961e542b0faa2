"""ccusage's 5-hour "billing blocks", reimplemented to match ``ccusage blocks --json``.

Checked against ccusage 20.0.24:
* a block starts at its first entry floored to the UTC hour (independent of ``--timezone``)
  and lasts ``session_hours`` (5); ``endTime`` is start + duration, ``actualEndTime`` the
  last entry;
* an entry starts a new block when it is *more than* the duration after the block start
  or after the previous entry (exactly 5 h stays in the block);
* when the pause after the previous entry exceeds the duration, a gap block covers
  ``[previous entry + duration, next entry)``;
* burn rate uses all four token classes over the minutes between first and last entry
  (``null`` with fewer than two distinct timestamps); the "indicator" rate uses
  input + output only; both appear in JSON only for the active block;
* projection rounds the remaining minutes first, then tokens to an integer and cost to
  cents: ``round(tokens + tpm × round(min))``;
* ``<synthetic>`` entries count (entries, tokens) but their model is not listed.

``now_ms`` is always a parameter so results are reproducible in tests.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
from decimal import Decimal
from typing import Any, Literal

from store.timezones import format_utc_iso_ms, local_date

HOUR_MS = 60 * 60 * 1000
MINUTE_MS = 60 * 1000
DEFAULT_SESSION_HOURS = 5
RECENT_DAYS = 3
SYNTHETIC_MODEL = "<synthetic>"


@dataclass(frozen=True, slots=True)
class BlockEntry:
    """One deduplicated assistant request, as fed to the block algorithm."""

    ts_ms: int
    model: str
    input_tokens: int
    output_tokens: int
    cache_creation_tokens: int
    cache_read_tokens: int
    cost_usd: Decimal | None


@dataclass(frozen=True, slots=True)
class BurnRate:
    tokens_per_minute: float
    tokens_per_minute_for_indicator: float
    cost_per_hour: float


@dataclass(frozen=True, slots=True)
class Projection:
    total_tokens: int
    total_cost: float
    remaining_minutes: int


@dataclass(frozen=True, slots=True)
class Block:
    """A billing block or a gap block. Times are UTC epoch ms."""

    id: str
    start_ms: int
    end_ms: int
    actual_end_ms: int | None  # last entry; None for gaps
    first_entry_ms: int | None
    is_active: bool
    is_gap: bool
    entries: int
    input_tokens: int
    output_tokens: int
    cache_creation_tokens: int
    cache_read_tokens: int
    cost_usd: Decimal
    models: tuple[str, ...]
    burn_rate: BurnRate | None  # for every non-gap block spanning > 0 min
    projection: Projection | None  # active block only

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_creation_tokens + self.cache_read_tokens


def _js_round(x: float) -> int:
    """JavaScript ``Math.round`` (half up), not Python's banker's rounding."""
    return math.floor(x + 0.5)


class _Acc:
    """Running totals of the block being built (entries are streamed, not kept)."""

    __slots__ = ("cc", "cost", "cr", "first", "inp", "last", "models", "n", "out", "start")

    def __init__(self, start: int, first: int) -> None:
        self.start = start
        self.first = first
        self.last = first
        self.n = 0
        self.inp = self.out = self.cc = self.cr = 0
        self.cost = Decimal(0)
        self.models: dict[str, None] = {}

    def add(self, e: BlockEntry) -> None:
        self.n += 1
        self.last = e.ts_ms
        self.inp += e.input_tokens
        self.out += e.output_tokens
        self.cc += e.cache_creation_tokens
        self.cr += e.cache_read_tokens
        if e.cost_usd is not None:
            self.cost += e.cost_usd
        if e.model != SYNTHETIC_MODEL:
            self.models.setdefault(e.model, None)


def _burn_rate(acc: _Acc) -> BurnRate | None:
    minutes = (acc.last - acc.first) / MINUTE_MS
    if minutes <= 0:
        return None
    total = acc.inp + acc.out + acc.cc + acc.cr
    return BurnRate(
        tokens_per_minute=total / minutes,
        tokens_per_minute_for_indicator=(acc.inp + acc.out) / minutes,
        cost_per_hour=float(acc.cost) / minutes * 60,
    )


def _close(acc: _Acc, duration_ms: int, now_ms: int) -> Block:
    end = acc.start + duration_ms
    is_active = now_ms - acc.last < duration_ms and now_ms < end
    rate = _burn_rate(acc)
    projection = None
    if is_active and rate is not None:
        remaining = _js_round(max(0.0, (end - now_ms) / MINUTE_MS))
        total = acc.inp + acc.out + acc.cc + acc.cr
        projection = Projection(
            total_tokens=_js_round(total + rate.tokens_per_minute * remaining),
            total_cost=_js_round((float(acc.cost) + rate.cost_per_hour / 60 * remaining) * 100) / 100,
            remaining_minutes=remaining,
        )
    return Block(
        id=format_utc_iso_ms(acc.start),
        start_ms=acc.start,
        end_ms=end,
        actual_end_ms=acc.last,
        first_entry_ms=acc.first,
        is_active=is_active,
        is_gap=False,
        entries=acc.n,
        input_tokens=acc.inp,
        output_tokens=acc.out,
        cache_creation_tokens=acc.cc,
        cache_read_tokens=acc.cr,
        cost_usd=acc.cost,
        models=tuple(acc.models),
        burn_rate=rate,
        projection=projection,
    )


def _gap(last_ms: int, next_ms: int, duration_ms: int) -> Block | None:
    if next_ms - last_ms <= duration_ms:
        return None
    start = last_ms + duration_ms
    return Block(
        id=f"gap-{format_utc_iso_ms(start)}",
        start_ms=start,
        end_ms=next_ms,
        actual_end_ms=None,
        first_entry_ms=None,
        is_active=False,
        is_gap=True,
        entries=0,
        input_tokens=0,
        output_tokens=0,
        cache_creation_tokens=0,
        cache_read_tokens=0,
        cost_usd=Decimal(0),
        models=(),
        burn_rate=None,
        projection=None,
    )


def identify_blocks(
    entries: Iterable[BlockEntry], now_ms: int, session_hours: float = DEFAULT_SESSION_HOURS
) -> list[Block]:
    """Group time-sorted entries into blocks and gap blocks, oldest first.

    Raises ValueError if entries go back in time (sort in SQL: ``ORDER BY ts_ms``).
    """
    duration_ms = round(session_hours * HOUR_MS)
    if duration_ms <= 0:
        raise ValueError("session length must be positive")
    blocks: list[Block] = []
    acc: _Acc | None = None
    for e in entries:
        ts = e.ts_ms
        if acc is None:
            acc = _Acc(ts - ts % HOUR_MS, ts)
        elif ts < acc.last:
            raise ValueError("block entries must be sorted by timestamp")
        elif ts - acc.start > duration_ms or ts - acc.last > duration_ms:
            blocks.append(_close(acc, duration_ms, now_ms))
            gap = _gap(acc.last, ts, duration_ms)
            if gap is not None:
                blocks.append(gap)
            acc = _Acc(ts - ts % HOUR_MS, ts)
        acc.add(e)
    if acc is not None:
        blocks.append(_close(acc, duration_ms, now_ms))
    return blocks


# --- ccusage `blocks` command filters and JSON -----------------------------------------------


def filter_blocks(
    blocks: Sequence[Block],
    now_ms: int,
    *,
    since: date | None = None,
    until: date | None = None,
    tz: tzinfo | None = None,
    recent: bool = False,
    active_only: bool = False,
) -> list[Block]:
    """ccusage's ``--since/--until`` (block start's local date, inclusive), ``--recent``
    (start within 3 days, or active) and ``--active`` filters, applied in that order."""
    out = list(blocks)
    if since is not None or until is not None:
        if tz is None:
            raise ValueError("tz is required with since/until")
        out = [
            b
            for b in out
            if (since is None or local_date(b.start_ms, tz) >= since)
            and (until is None or local_date(b.start_ms, tz) <= until)
        ]
    if recent:
        cutoff = now_ms - RECENT_DAYS * 24 * HOUR_MS
        out = [b for b in out if b.start_ms >= cutoff or b.is_active]
    if active_only:
        out = [b for b in out if b.is_active]
    return out


def max_block_tokens(blocks: Iterable[Block]) -> int:
    """``--token-limit max``: the largest finished (non-gap, inactive) block's total."""
    return max((b.total_tokens for b in blocks if not b.is_gap and not b.is_active), default=0)


def _js_number(x: Decimal | float) -> int | float:
    """ccusage prints integral ``costUSD`` values without ``.0``."""
    f = float(x)
    return int(f) if f.is_integer() else f


def _token_limit_status(projected: int, limit: int) -> dict[str, Any]:
    status = "exceeds" if projected > limit else "warning" if projected > limit * 0.8 else "ok"
    return {
        "limit": limit,
        "percentUsed": projected / limit * 100 if limit else None,
        "projectedUsage": projected,
        "status": status,
    }


def block_to_ccusage_json(block: Block, token_limit: int | None = None) -> dict[str, Any]:
    """One element of ccusage's ``blocks`` array (keys in ccusage's alphabetical order)."""
    rate = block.burn_rate if block.is_active else None
    proj = block.projection if block.is_active else None
    obj: dict[str, Any] = {
        "actualEndTime": format_utc_iso_ms(block.actual_end_ms) if block.actual_end_ms is not None else None,
        "burnRate": None
        if rate is None
        else {
            "costPerHour": rate.cost_per_hour,
            "tokensPerMinute": rate.tokens_per_minute,
            "tokensPerMinuteForIndicator": rate.tokens_per_minute_for_indicator,
        },
        "costUSD": _js_number(block.cost_usd),
        "endTime": format_utc_iso_ms(block.end_ms),
        "entries": block.entries,
        "id": block.id,
        "isActive": block.is_active,
        "isGap": block.is_gap,
        "models": list(block.models),
        "projection": None
        if proj is None
        else {
            "remainingMinutes": proj.remaining_minutes,
            "totalCost": proj.total_cost,
            "totalTokens": proj.total_tokens,
        },
        "startTime": format_utc_iso_ms(block.start_ms),
        "tokenCounts": {
            "cacheCreationInputTokens": block.cache_creation_tokens,
            "cacheReadInputTokens": block.cache_read_tokens,
            "inputTokens": block.input_tokens,
            "outputTokens": block.output_tokens,
        },
    }
    if proj is not None and token_limit is not None and token_limit >= 0:
        obj["tokenLimitStatus"] = _token_limit_status(proj.total_tokens, token_limit)
    obj["totalTokens"] = block.total_tokens
    return obj


def blocks_to_ccusage_json(
    blocks: Sequence[Block],
    now_ms: int,
    *,
    token_limit: int | Literal["max"] | None = None,
    since: date | None = None,
    until: date | None = None,
    tz: tzinfo | None = None,
    recent: bool = False,
    active_only: bool = False,
    order: Literal["asc", "desc"] = "asc",
) -> dict[str, Any]:
    """``ccusage blocks --json`` output for ``blocks`` (all blocks, as from identify_blocks).

    ``token_limit='max'`` uses the largest finished block over *all* blocks, before
    filters (as ccusage does); 0 or no finished block means no limit.
    """
    limit = (max_block_tokens(blocks) or None) if token_limit == "max" else token_limit
    shown = filter_blocks(
        blocks, now_ms, since=since, until=until, tz=tz, recent=recent, active_only=active_only
    )
    if order == "desc":
        shown.reverse()
    return {"blocks": [block_to_ccusage_json(b, limit) for b in shown]}
