"""Token and cost totals per local day, week or month, priced at query time.

The ``usage_rollup`` table holds deduplicated requests summed per 15-minute UTC slot, project and
pricing group (model, speed, geo, long-context flag), kept exact at ingest. SQLite groups slots into
local days (exact across DST changes); Python prices each group once per period. Pricing is linear
within a group, so this equals pricing every request and summing, with exact Decimals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta, tzinfo
from decimal import Decimal
from typing import Literal

from peewee import Database

from store.monitor.rollups import row_level_only
from store.monitor.sql import project_condition, project_id_condition
from store.pricing import LONG_CONTEXT_THRESHOLD, PriceTable, TokenCounts, cost_usd, is_synthetic
from store.sqlite.day_rollups import rollup_zone, zone_key
from store.sqlite.rollup_tables import ALL_PROJECTS, ZONE_END_DAY, ZONE_FIRST_DAY
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
        condition, extra = project_condition(filters.project)
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
        condition, extra = project_id_condition("u.project_id", filters.project)
        where.append(condition)
        params.extend(extra)
    return f"FROM usage_rollup u WHERE {' AND '.join(where) or '1'}", params


def day_usage(db: Database, filters: Filters) -> list[tuple]:
    """Token sums per local date and pricing group.

    Rows are ``(date, model, speed, geo, long_context, input, output, cw5m, cw1h, cache_read, web, requests)``.
    When ``filters.tz`` is the archive's rollup zone, the covered local days come from ``usage_day`` (one row
    per project, day and pricing group) and only dates outside the covered span from the 15-minute slots; the
    answer is the same as grouping the slots (:func:`slot_day_usage`), which ``row_level()`` forces.
    """
    with db.atomic():  # one read snapshot: the zone checked is the zone the day rows are in
        fast = _usage_day_rows(db, filters)
    return slot_day_usage(db, filters) if fast is None else fast


def slot_bounds(db: Database, filters: Filters) -> tuple[int, int] | None:
    """The first and last 15-minute slots with requests in the filters' range and project (None: none)."""
    scope, params = rollup_scope(filters)
    # two queries: SQLite answers a lone min() or max() from the index, both together by a full scan
    (first,) = db.execute_sql(f"SELECT min(u.slot) {scope}", params).fetchone()
    (last,) = db.execute_sql(f"SELECT max(u.slot) {scope}", params).fetchone()
    return None if first is None else (first, last)


def slot_day_usage(db: Database, filters: Filters) -> list[tuple]:
    """:func:`day_usage` from ``usage_rollup``'s slots, grouped into local days by SQLite."""
    bounds = slot_bounds(db, filters)
    if bounds is None:
        return []
    first, last = bounds
    scope, params = rollup_scope(filters)
    day = local_day_sql("u.slot", filters.tz, first, last)
    sql = (
        f"SELECT {day}, u.model, nullif(u.speed, ''), nullif(u.geo, ''), u.long_context, sum(u.input_tokens), "
        "sum(u.output_tokens), sum(u.cache_write_5m), sum(u.cache_write_1h), sum(u.cache_read), "
        f"sum(u.web_search_requests), sum(u.requests) {scope} GROUP BY 1, 2, 3, 4, 5"
    )
    return [(day_number_date(row[0]), *row[1:]) for row in db.execute_sql(sql, params).fetchall()]


_EPOCH = date(1970, 1, 1).toordinal()
_FIRST_DAY = ZONE_FIRST_DAY.toordinal() - _EPOCH  # the covered local days of the rollup zone
_LAST_DAY = ZONE_END_DAY.toordinal() - _EPOCH - 1


_aligned: dict[str, bool] = {}


def _slot_aligned(db: Database, zone: str) -> bool:
    """Every covered local day of the rollup zone (``zone``) starts on a slot boundary: a slot then lies in one
    local day, and ``usage_day`` (which files a slot under the day of its start) agrees with grouping slots by
    local day. ``zone_day`` is a function of the zone, so the answer is kept per zone."""
    found = _aligned.get(zone)
    if found is None:
        found = _aligned[zone] = not db.execute_sql(
            f"SELECT EXISTS (SELECT 1 FROM zone_day WHERE start_ms % {SLOT_MS} != 0)").fetchone()[0]
    return found


def _usage_day_rows(db: Database, filters: Filters) -> list[tuple] | None:
    """:func:`day_usage` from ``usage_day`` for the covered days, from the slots for dates outside them; None
    when the rollup zone is not ``filters.tz`` (or inside ``row_level()``)."""
    zone = zone_key(filters.tz)
    if row_level_only() or rollup_zone(db.connection()) != zone or not _slot_aligned(db, zone):
        return None
    lo = _FIRST_DAY if filters.since is None else max(_FIRST_DAY, filters.since.toordinal() - _EPOCH)
    hi = _LAST_DAY if filters.until is None else min(_LAST_DAY, filters.until.toordinal() - _EPOCH)
    rows: list[tuple] = []
    if filters.since is None or filters.since < ZONE_FIRST_DAY:  # before the covered days
        until = ZONE_FIRST_DAY - timedelta(days=1)
        if filters.until is not None and filters.until < until:
            until = filters.until
        rows += slot_day_usage(db, replace(filters, until=until))
    if lo <= hi:
        if filters.project:
            projects, params = project_id_condition("d.project_id", filters.project)
        else:
            projects, params = f"d.project_id = {ALL_PROJECTS}", []
        sql = (
            "SELECT d.day, d.model, nullif(d.speed, ''), nullif(d.geo, ''), d.long_context, sum(d.input_tokens), "
            "sum(d.output_tokens), sum(d.cache_write_5m), sum(d.cache_write_1h), sum(d.cache_read), "
            f"sum(d.web_search_requests), sum(d.requests) FROM usage_day d WHERE {projects} "
            "AND d.day BETWEEN ? AND ? GROUP BY 1, 2, 3, 4, 5"
        )
        rows += [(day_number_date(row[0]), *row[1:]) for row in db.execute_sql(sql, [*params, lo, hi]).fetchall()]
    if filters.until is None or filters.until >= ZONE_END_DAY:  # after the covered days
        since = ZONE_END_DAY
        if filters.since is not None and filters.since > since:
            since = filters.since
        rows += slot_day_usage(db, replace(filters, since=since))
    return rows


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
