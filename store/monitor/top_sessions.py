"""The most expensive sessions of a scope without pricing every session.

SQLite ranks sessions by an approximate (float) cost over ``session_usage``; only the leaders, and the sessions
active in the partial days at the scope's ends, are then priced exactly. The float ranking only chooses whom to
price: if the exact cost of the last listed session is not clearly above the approximate cost of every session
left out, more sessions are priced, so the result is the exact top list.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from peewee import Database

from store.monitor.params import Scope
from store.monitor.rollups import Plan, plan
from store.monitor.sql import marks, requests_where
from store.monitor.usage import TOKEN_CLASSES, KeyUsage, grouped_rows, price_rows, session_rows
from store.pricing import PriceTable, TokenCounts, cost_usd, is_synthetic
from store.sqlite.rollup_tables import ALL_PROJECTS

_COLUMNS = ("input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h", "cache_read")
_MILLION = 1_000_000


def _rates(prices: PriceTable, model: str, speed: str, geo: str, long_context: bool) -> tuple[float, ...]:
    """Dollars per token of each class, and per web search (0 for unpriced models)."""
    rates = []
    for i in range(len(TOKEN_CLASSES)):
        counts = [0] * 5
        counts[i] = _MILLION
        cost = cost_usd(prices, model, TokenCounts(*counts), speed=speed or None, inference_geo=geo or None,
                        long_context=long_context)
        rates.append(float(cost or 0) / _MILLION)
    priced = prices.price_for(model) is not None
    rates.append(float(prices.web_search_per_1k / 1000) if priced else 0.0)
    return tuple(rates)


def _cost_sql(db: Database, prices: PriceTable) -> tuple[str, str, list]:
    """SQL for a row's approximate cost and its counted tokens (synthetic rows count for neither).

    The cost switches on the model first (``CASE u.model WHEN ...``, one comparison per model); speed, geo and
    long context are only compared for a model that has more than one of those pricing groups."""
    groups = db.execute_sql(f"SELECT DISTINCT model, speed, geo, long_context FROM usage_day WHERE project_id = "
                            f"{ALL_PROJECTS}").fetchall()
    by_model: dict[str, list[tuple[str, str, int]]] = {}
    for model, speed, geo, long_context in groups:
        by_model.setdefault(model, []).append((speed, geo, long_context))
    cost, params, synthetic = [], [], []
    for model, variants in sorted(by_model.items()):
        if is_synthetic(model):
            synthetic.append(model)
            continue
        terms = []
        for speed, geo, long_context in variants:
            rates = _rates(prices, model, speed, geo, bool(long_context))
            terms.append(" + ".join(f"u.{c} * {r!r}" for c, r in
                                    zip((*_COLUMNS, "web_search_requests"), rates, strict=True)))
        params.append(model)
        if len(variants) == 1:
            cost.append(f"WHEN ? THEN {terms[0]}")
            continue
        inner = []
        for (speed, geo, long_context), term in zip(variants, terms, strict=True):
            inner.append(f"WHEN u.speed = ? AND u.geo = ? AND u.long_context = ? THEN {term}")
            params += [speed, geo, long_context]
        cost.append(f"WHEN ? THEN CASE {' '.join(inner)} ELSE 0 END")
    cost_sql = f"CASE u.model {' '.join(cost)} ELSE 0 END" if cost else "0"
    token_sql = "u.input_tokens + u.output_tokens + u.cache_write_5m + u.cache_write_1h + u.cache_read"
    if synthetic:
        token_sql = f"CASE WHEN u.model IN ({marks(synthetic)}) THEN 0 ELSE {token_sql} END"
    return cost_sql, token_sql, [*params, *synthetic]


def _ranked(db: Database, prices: PriceTable, p: Plan, limit: int) -> list[tuple[str, float]]:
    cost, tokens, params = _cost_sql(db, prices)
    if p.pids == (ALL_PROJECTS,):
        scope, scope_params = "", []
    else:  # the table is keyed by project first: one range per project
        scope, scope_params = f" AND u.project_id IN ({marks(p.pids)})", list(p.pids)
    rows = db.execute_sql(
        f"SELECT u.session_id, sum({cost}) AS c, sum({tokens}) AS t FROM session_usage u WHERE u.day BETWEEN ? AND ?"
        f"{scope} GROUP BY 1 ORDER BY c DESC, t DESC, 1 LIMIT ?", [*params, p.lo, p.hi, *scope_params, limit])
    return [(sid, c) for sid, c, _ in rows.fetchall()]


def _order(entry: tuple[str, KeyUsage]) -> tuple:
    sid, usage = entry
    return -usage.total.cost, -usage.total.total_tokens, sid


def top_sessions(db: Database, prices: PriceTable, scope: Scope, top: int) -> list[tuple[str, KeyUsage]]:
    """The ``top`` sessions by cost (then tokens, then id) of the scope's requests, with their exact usage."""
    p = plan(db, scope)
    edge_rows: list[tuple] = []
    for edge in p.edges:
        edge_rows += grouped_rows(db, requests_where(edge), "r.session_id")
    limit = top * 4 + 16
    while True:
        ranked = _ranked(db, prices, p, limit) if p.whole else []
        candidates: Sequence[str] = sorted({sid for sid, _ in ranked} | {r[0] for r in edge_rows})
        rows = (session_rows(db, candidates, p.lo, p.hi) if p.whole else []) + edge_rows
        leaders = sorted(price_rows(rows, prices).items(), key=_order)
        if len(ranked) < limit or len(leaders) < top:
            return leaders[:top]
        last_out = ranked[-1][1]  # no session left out costs more than about this
        margin = 1e-9 * max(abs(last_out), 1.0)
        if leaders[top - 1][1].total.cost > Decimal(repr(last_out + margin)):
            return leaders[:top]
        limit *= 4
