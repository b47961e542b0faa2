"""Token and cost totals per local day, week or month, priced at query time.

The ``usage_rollup`` table holds deduplicated requests summed per 15-minute UTC slot, project and
pricing group (model, speed, geo, long-context flag), kept exact at ingest. SQLite groups slots into
local days (exact across DST changes); Python prices each group once per period. Pricing is linear
within a group, so this equals pricing every request and summing, with exact Decimals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, tzinfo
from decimal import Decimal
from typing import Literal

from peewee import Database

from store.pricing import LONG_CONTEXT_THRESHOLD, PriceTable, TokenCounts, cost_usd, is_synthetic
from store.timezones import SLOT_MS, date_range_utc_ms, day_number_date, local_day_sql, period_key

PeriodKind = Literal["daily", "weekly", "monthly"]


@dataclass(slots=True)
class Usage:
    """Token counts and cost of a set of requests; ``unpriced`` lists models with no price."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0
    web_search_requests: int = 0
    requests: int = 0
    cost: Decimal = Decimal(0)
    unpriced: set[str] = field(default_factory=set)

    @property
    def cache_creation_tokens(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_creation_tokens + self.cache_read

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_write_5m += other.cache_write_5m
        self.cache_write_1h += other.cache_write_1h
        self.cache_read += other.cache_read
        self.web_search_requests += other.web_search_requests
        self.requests += other.requests
        self.cost += other.cost
        self.unpriced |= other.unpriced


@dataclass(slots=True)
class PeriodUsage:
    key: str
    total: Usage = field(default_factory=Usage)
    models: dict[str, Usage] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Filters:
    """Report filters; dates are inclusive local calendar dates in ``tz``."""

    tz: tzinfo
    since: date | None = None
    until: date | None = None
    project: str | None = None
    start_of_week: int = 0


def display_model(model: str, speed: str | None) -> str:
    """ccusage shows fast-mode requests as ``<model>-fast``; so do we, so the two can be diffed."""
    return f"{model}-fast" if speed == "fast" else model


def _last_component_like(project: str) -> str:
    """LIKE pattern (escape ``\\``) matching project paths that end with ``/<project>``."""
    return "%/" + project.rstrip("/").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _project_condition(project: str) -> tuple[str, list]:
    """Sessions of a project given as full path, folder name or last path component."""
    sql = ("(s.project_dir = ? OR s.project_id IN (SELECT id FROM project WHERE path = ? "
           "OR path LIKE ? ESCAPE '\\'))")
    return sql, [project, project, _last_component_like(project)]


def request_scope(filters: Filters, dated: bool = True) -> tuple[str, list]:
    """``FROM ... WHERE ...`` over ``api_request r`` for the filters; every report selects requests this way."""
    where, params = ["r.model IS NOT NULL"], []
    start, end = date_range_utc_ms(filters.since, filters.until, filters.tz) if dated else (None, None)
    if start is not None:
        where.append("r.ts_ms >= ?")
        params.append(start)
    if end is not None:
        where.append("r.ts_ms < ?")
        params.append(end)
    join = ""
    if filters.project:
        join = " JOIN session s ON s.session_id = r.session_id"
        condition, extra = _project_condition(filters.project)
        where.append(condition)
        params.extend(extra)
    return f"FROM api_request r{join} WHERE {' AND '.join(where)}", params


def rollup_scope(filters: Filters) -> tuple[str, list]:
    """``FROM ... WHERE ...`` over ``usage_rollup u``: the same requests as :func:`request_scope`.

    Local dates start on slot boundaries, so slot bounds are exact. A project is matched through the
    sessions' projects (a session whose working directory is unknown belongs to none).
    """
    where, params = [], []
    start, end = date_range_utc_ms(filters.since, filters.until, filters.tz)
    if start is not None:
        where.append("u.slot >= ?")
        params.append(start // SLOT_MS)
    if end is not None:
        where.append("u.slot < ?")
        params.append(-(-end // SLOT_MS))
    if filters.project:
        where.append("(u.project_id IN (SELECT id FROM project WHERE path = ? OR path LIKE ? ESCAPE '\\') "
                     "OR u.project_id IN (SELECT project_id FROM session WHERE project_dir = ? "
                     "AND project_id IS NOT NULL))")
        params.extend([filters.project, _last_component_like(filters.project), filters.project])
    return f"FROM usage_rollup u WHERE {' AND '.join(where) or '1'}", params


def day_usage(db: Database, filters: Filters) -> list[tuple]:
    """Token sums per local date and pricing group, grouped by SQLite from the rollup.

    Rows are ``(date, model, speed, geo, long_context, input, output, cw5m, cw1h, cache_read, web, requests)``.
    """
    scope, params = rollup_scope(filters)
    # two queries: SQLite answers a lone min() or max() from the index, both together by a full scan
    (first,) = db.execute_sql(f"SELECT min(u.slot) {scope}", params).fetchone()
    (last,) = db.execute_sql(f"SELECT max(u.slot) {scope}", params).fetchone()
    if first is None:
        return []
    day = local_day_sql("u.slot", filters.tz, first, last)
    sql = (
        f"SELECT {day}, u.model, nullif(u.speed, ''), nullif(u.geo, ''), u.long_context, sum(u.input_tokens), "
        "sum(u.output_tokens), sum(u.cache_write_5m), sum(u.cache_write_1h), sum(u.cache_read), "
        f"sum(u.web_search_requests), sum(u.requests) {scope} GROUP BY 1, 2, 3, 4, 5"
    )
    return [(day_number_date(row[0]), *row[1:]) for row in db.execute_sql(sql, params).fetchall()]


def grouped_usage(db: Database, filters: Filters, key_sql: str) -> list[tuple]:
    """Token sums per ``key_sql`` and pricing group (model, speed, geo, long-context flag).

    Rows are ``(key, model, speed, geo, long_context, input, output, cw5m, cw1h, cache_read, web, requests)``.
    """
    scope, params = request_scope(filters)
    sql = (
        f"SELECT {key_sql}, r.model, r.speed, r.inference_geo, "
        f"(r.input_tokens + r.cache_write_5m + r.cache_write_1h + r.cache_read > {LONG_CONTEXT_THRESHOLD}), "
        "sum(r.input_tokens), sum(r.output_tokens), sum(r.cache_write_5m), sum(r.cache_write_1h), "
        f"sum(r.cache_read), sum(r.web_search_requests), count(*) {scope} GROUP BY 1, 2, 3, 4, 5"
    )
    return db.execute_sql(sql, params).fetchall()


def price_group(table: PriceTable, model: str, speed: str | None, geo: str | None, long_context: bool,
                counts: tuple[int, int, int, int, int, int, int]) -> Usage:
    """Usage of one pricing group, with its exact cost (or the model marked unpriced)."""
    inp, out, cw5, cw1, cr, web, n = counts
    usage = Usage(inp, out, cw5, cw1, cr, web, n)
    cost = cost_usd(table, model, TokenCounts(inp, out, cw5, cw1, cr, web), speed=speed, inference_geo=geo,
                    long_context=long_context)
    if cost is None:
        usage.unpriced.add(model)
    else:
        usage.cost = cost
    return usage


def usage_by_period(db: Database, kind: PeriodKind, filters: Filters, table: PriceTable) -> list[PeriodUsage]:
    """Periods in ascending order, each with per-model usage (``<synthetic>`` excluded: it costs nothing).

    Day rows are summed per period and pricing group first, so each group is priced once per period.
    """
    sums: dict[tuple, list[int]] = {}
    for day, model, speed, geo, lc, *counts in day_usage(db, filters):
        if is_synthetic(model):
            continue
        key = (period_key(kind, day, filters.start_of_week), model, speed, geo, lc)
        acc = sums.get(key)
        if acc is None:
            sums[key] = counts
        else:
            for i, n in enumerate(counts):
                acc[i] += n
    periods: dict[str, PeriodUsage] = {}
    for (key, model, speed, geo, lc), counts in sums.items():
        period = periods.get(key)
        if period is None:
            period = periods[key] = PeriodUsage(key)
        usage = price_group(table, model, speed, geo, bool(lc), tuple(counts))
        period.models.setdefault(display_model(model, speed), Usage()).add(usage)
        period.total.add(usage)
    return [periods[k] for k in sorted(periods)]


def grand_total(periods: Iterable[PeriodUsage]) -> Usage:
    total = Usage()
    for period in periods:
        total.add(period.total)
    return total
