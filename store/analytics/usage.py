"""Requests in a time range, summed per key and pricing group and priced with the report code's rules.

Usage comes from the local-day rollup (kept exact at ingest), plus the requests of the partial days at the ends
of a date-time range. Each (key, pricing group) is priced by ``store.monitor.usage.price_rows`` with the report's
own ``price_group``, so every surface gives the same figures for a range.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, tzinfo

from peewee import Database

from store.analytics.range import TimeRange
from store.monitor.params import Scope
from store.monitor.rollups import plan
from store.monitor.usage import GROUP_COLUMNS, KeyUsage, price_rows, rekey_rows, scope_rows, session_rows
from store.pricing import PriceTable
from store.reports.usage import Usage


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

    Whole local days come from the day rollup, the partial days at the ends of a date-time range from the
    requests (see ``store.monitor.rollups``).
    """
    return scope_rows(db, Scope(tz or UTC, rng.start_ms, rng.end_ms), by_day=tz is not None)


def range_usage(db: Database, prices: PriceTable, rng: TimeRange) -> KeyUsage | None:
    """Everything in the range as one priced total with its per-model split; ``None`` when nothing was used."""
    return price_rows(rekey_rows(day_groups(db, rng, None), lambda _: None), prices).get(None)


def usage_by_session(db: Database, prices: PriceTable, rng: TimeRange, session_ids: Sequence[str]
                     ) -> dict[object, KeyUsage]:
    """Priced usage of the given sessions inside the range: whole local days from the per-session rollup, the
    partial days at the ends from the requests."""
    if not session_ids:
        return {}
    p = plan(db, Scope(UTC, rng.start_ms, rng.end_ms))
    rows = session_rows(db, session_ids, p.lo, p.hi) if p.whole else []
    for edge in p.edges:
        scope, params = request_scope(TimeRange(edge.start_ms, edge.end_ms), session_ids)
        rows += db.execute_sql(f"SELECT r.session_id, {GROUP_COLUMNS} {scope} GROUP BY 1, 2, 3, 4, 5",
                               params).fetchall()
    return price_rows(rows, prices)


def main_model(models: dict[str, Usage]) -> str | None:
    """The model that did most of the work (most output tokens, then requests)."""
    if not models:
        return None
    return max(models.items(), key=lambda kv: (kv[1].output_tokens, kv[1].requests, kv[0]))[0]
