"""Requests in a time range, summed per key and pricing group and priced with the report code's rules.

Usage comes from the ``usage_rollup`` table (15-minute slots, kept exact at ingest) like ``devhelion report``'s,
plus the requests of the partial slots at the ends of a date-time range. Each (key, pricing group) is priced
once with ``price_group``, the report's own function, so every surface gives the same figures for a range.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo

from peewee import Database

from store.analytics.range import TimeRange
from store.pricing import LONG_CONTEXT_THRESHOLD, PriceTable, is_synthetic
from store.reports.usage import Usage, display_model, price_group
from store.timezones import SLOT_MS, day_number_date, local_day_sql

_GROUP_SUMS = (
    f"r.model, r.speed, r.inference_geo, "
    f"(r.input_tokens + r.cache_write_5m + r.cache_write_1h + r.cache_read > {LONG_CONTEXT_THRESHOLD}), "
    "sum(r.input_tokens), sum(r.output_tokens), sum(r.cache_write_5m), sum(r.cache_write_1h), "
    "sum(r.cache_read), sum(r.web_search_requests), count(*)"
)


@dataclass(slots=True)
class KeyUsage:
    """Usage under one key: the total and per display model (``<model>-fast`` for fast mode)."""

    total: Usage = field(default_factory=Usage)
    models: dict[str, Usage] = field(default_factory=dict)


def request_scope(rng: TimeRange, session_ids: Sequence[str] | None = None) -> tuple[str, list]:
    """``FROM ... WHERE ...`` over ``api_request r`` in ``rng`` (and in ``session_ids`` when given)."""
    where, params = rng.where("r.ts_ms")
    where.insert(0, "r.model IS NOT NULL")
    if session_ids is not None:
        where.append(f"r.session_id IN ({', '.join('?' for _ in session_ids)})")
        params.extend(session_ids)
    return f"FROM api_request r WHERE {' AND '.join(where)}", list(params)


def day_groups(db: Database, rng: TimeRange, tz: tzinfo | None) -> list[tuple]:
    """``(local date, model, speed, geo, long_context, input, output, cw5m, cw1h, cache_read, web, requests)``;
    with ``tz=None`` the first item is ``None`` and there is one row per pricing group for the whole range.

    Whole 15-minute slots come from the rollup; only the partial slots at the ends of a date-time range are summed
    from the requests (local dates always start on a slot, so a date range has none).
    """
    lo = None if rng.start_ms is None else -(-rng.start_ms // SLOT_MS)  # first whole slot
    hi = None if rng.end_ms is None else rng.end_ms // SLOT_MS  # first slot not wholly inside
    if lo is not None and hi is not None and lo >= hi:  # shorter than a slot: requests only
        return _request_day_groups(db, rng, tz)
    rows = _rollup_day_groups(db, lo, hi, tz)
    if lo is not None and rng.start_ms < lo * SLOT_MS:
        rows += _request_day_groups(db, TimeRange(rng.start_ms, lo * SLOT_MS), tz)
    if hi is not None and rng.end_ms > hi * SLOT_MS:
        rows += _request_day_groups(db, TimeRange(hi * SLOT_MS, rng.end_ms), tz)
    return rows


def _day_sql(db: Database, column: str, scope: str, params: list, tz: tzinfo | None) -> str | None:
    """The local-day expression for ``column`` (a slot) over the scope's rows; None when there are none."""
    if tz is None:
        return "NULL"
    # two queries: SQLite answers a lone min() or max() from the index, both together by a full scan
    (first,) = db.execute_sql(f"SELECT min({column}) {scope}", params).fetchone()
    (last,) = db.execute_sql(f"SELECT max({column}) {scope}", params).fetchone()
    return None if first is None else local_day_sql(column, tz, first, last)


def _dated(rows: list[tuple], tz: tzinfo | None) -> list[tuple]:
    return rows if tz is None else [(day_number_date(row[0]), *row[1:]) for row in rows]


def _rollup_day_groups(db: Database, lo: int | None, hi: int | None, tz: tzinfo | None) -> list[tuple]:
    where, params = [], []
    if lo is not None:
        where.append("u.slot >= ?")
        params.append(lo)
    if hi is not None:
        where.append("u.slot < ?")
        params.append(hi)
    scope = f"FROM usage_rollup u WHERE {' AND '.join(where) or '1'}"
    day = _day_sql(db, "u.slot", scope, params, tz)
    if day is None:
        return []
    sql = (f"SELECT {day}, u.model, nullif(u.speed, ''), nullif(u.geo, ''), u.long_context, sum(u.input_tokens), "
           "sum(u.output_tokens), sum(u.cache_write_5m), sum(u.cache_write_1h), sum(u.cache_read), "
           f"sum(u.web_search_requests), sum(u.requests) {scope} GROUP BY 1, 2, 3, 4, 5")
    return _dated(db.execute_sql(sql, params).fetchall(), tz)


def _request_day_groups(db: Database, rng: TimeRange, tz: tzinfo | None) -> list[tuple]:
    scope, params = request_scope(rng)
    day = _day_sql(db, f"(r.ts_ms / {SLOT_MS})", scope, params, tz)
    if day is None:
        return []
    rows = db.execute_sql(f"SELECT {day}, {_GROUP_SUMS} {scope} GROUP BY 1, 2, 3, 4, 5", params).fetchall()
    return _dated(rows, tz)


def price_rows(prices: PriceTable, rows: Iterable[tuple], key: Callable[[object], object] = lambda k: k
               ) -> dict[object, KeyUsage]:
    """Sum rows ``(key, model, speed, geo, lc, *counts)`` per ``key(key)`` and pricing group, then price each once
    (``<synthetic>`` is left out: it costs nothing and is no model)."""
    sums: dict[tuple, list[int]] = {}
    for raw_key, model, speed, geo, lc, *counts in rows:
        if is_synthetic(model):
            continue
        group = (key(raw_key), model, speed, geo, bool(lc))
        acc = sums.get(group)
        if acc is None:
            sums[group] = list(counts)
        else:
            for i, n in enumerate(counts):
                acc[i] += n
    result: dict[object, KeyUsage] = {}
    for (k, model, speed, geo, lc), counts in sums.items():
        entry = result.get(k)
        if entry is None:
            entry = result[k] = KeyUsage()
        usage = price_group(prices, model, speed, geo, lc, tuple(counts))
        entry.models.setdefault(display_model(model, speed), Usage()).add(usage)
        entry.total.add(usage)
    return result


def range_usage(db: Database, prices: PriceTable, rng: TimeRange) -> KeyUsage | None:
    """Everything in the range as one priced total with its per-model split; ``None`` when nothing was used."""
    return price_rows(prices, day_groups(db, rng, None), key=lambda _: "").get("")


def usage_by_session(db: Database, prices: PriceTable, rng: TimeRange, session_ids: Sequence[str]
                     ) -> dict[object, KeyUsage]:
    """Priced usage of the given sessions inside the range."""
    if not session_ids:
        return {}
    scope, params = request_scope(rng, session_ids)
    rows = db.execute_sql(f"SELECT r.session_id, {_GROUP_SUMS} {scope} GROUP BY 1, 2, 3, 4, 5", params).fetchall()
    return price_rows(prices, rows)


def main_model(models: dict[str, Usage]) -> str | None:
    """The model that did most of the work (most output tokens, then requests)."""
    if not models:
        return None
    return max(models.items(), key=lambda kv: (kv[1].output_tokens, kv[1].requests, kv[0]))[0]
