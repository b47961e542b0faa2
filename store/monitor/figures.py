"""Counts of a scope from the local-day rollups plus, for the partial days at its ends, the archived rows.

Every function here returns exactly what the same query over the archived rows returns (``row_level`` in
``store.monitor.rollups`` makes them do just that, for checks); only where the numbers come from differs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from datetime import date
from typing import Any

from peewee import Database

from store.monitor.days import SLOT_SQL
from store.monitor.params import Scope
from store.monitor.rollups import Plan, day_date, plan
from store.monitor.sql import chunks, marks, messages_where, requests_where, tool_calls_where
from store.sqlite.rollup_tables import (
    KIND_MCP,
    KIND_MODEL,
    KIND_PATTERN,
    KIND_REQUESTS,
    KIND_SKILL,
    KIND_TOOL,
    NULL_KEY,
)
from store.timezones import slot_local_date


@dataclass(slots=True)
class Activity:
    """Lines, tool calls by outcome and API errors."""

    messages: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    tool_rejected: int = 0
    tool_interrupted: int = 0
    api_errors: int = 0

    def add(self, counts: Iterable[int]) -> None:
        for name, n in zip(self.__slots__, counts, strict=True):
            setattr(self, name, getattr(self, name) + (n or 0))


@dataclass(slots=True)
class ToolCounts:
    """Calls of one tool by outcome, and the sum and number of known durations."""

    calls: int = 0
    ok: int = 0
    errors: int = 0
    rejected: int = 0
    interrupted: int = 0
    pending: int = 0
    duration_sum: int = 0
    durations: int = 0

    def add(self, counts: Iterable[int]) -> None:
        for name, n in zip(self.__slots__, counts, strict=True):
            setattr(self, name, getattr(self, name) + (n or 0))

    @property
    def avg_duration(self) -> float | None:
        return self.duration_sum / self.durations if self.durations else None

    def as_tuple(self) -> tuple[int, ...]:
        return astuple(self)


def _date_of(slot: int | None, scope: Scope) -> date | None:
    return slot_local_date(slot, scope.tz) if slot is not None else None


def activity(db: Database, scope: Scope, by_day: bool = False) -> dict[date | None, Activity]:
    """Activity of the scope, in one entry (key None) or per local day of the scope's zone."""
    p = plan(db, scope, by_day)
    result: dict[date | None, Activity] = defaultdict(Activity)
    if p.whole:
        where, params = p.where()
        key = "day" if by_day else "NULL"
        for day, messages, api_errors in db.execute_sql(
                f"SELECT {key}, sum(messages), sum(api_errors) FROM activity_day WHERE {where} GROUP BY 1",
                params).fetchall():
            result[day_date(day) if by_day else None].add((messages, 0, 0, 0, 0, api_errors))
        for day, *counts in db.execute_sql(
                f"SELECT {key}, sum(calls), sum(errors), sum(rejected), sum(interrupted) FROM tool_day "
                f"WHERE {where} GROUP BY 1", params).fetchall():
            result[day_date(day) if by_day else None].add((0, *counts, 0))
    for edge in p.edges:
        key = "{} " + SLOT_SQL if by_day else "NULL"
        messages, tools, requests = messages_where(edge), tool_calls_where(edge), requests_where(edge)
        for slot, n in db.execute_sql(f"SELECT {key.format('m.ts_ms')}, count(*) FROM message m{messages.sql} "
                                      "GROUP BY 1", messages.params).fetchall():
            result[_date_of(slot, edge) if by_day else None].add((n, 0, 0, 0, 0, 0))
        for slot, *counts in db.execute_sql(
                f"SELECT {key.format('t.call_ts_ms')}, count(*), sum(t.status = 'error'), sum(t.status = 'rejected'), "
                f"sum(t.status = 'interrupted') FROM tool_call t{tools.sql} GROUP BY 1", tools.params).fetchall():
            result[_date_of(slot, edge) if by_day else None].add((0, *counts, 0))
        for slot, n in db.execute_sql(f"SELECT {key.format('r.ts_ms')}, count(*) FROM api_request r{requests.sql} "
                                      "AND r.is_api_error = 1 GROUP BY 1", requests.params).fetchall():
            result[_date_of(slot, edge) if by_day else None].add((0, 0, 0, 0, 0, n))
    return result


def total_activity(db: Database, scope: Scope) -> Activity:
    return activity(db, scope).get(None) or Activity()


_TOOL_SUMS = ("sum(calls), sum(ok), sum(errors), sum(rejected), sum(interrupted), sum(pending), sum(duration_sum), "
              "sum(durations)")
_TOOL_ROW_SUMS = ("count(*), sum(t.status = 'ok'), sum(t.status = 'error'), sum(t.status = 'rejected'), "
                  "sum(t.status = 'interrupted'), sum(t.status = 'pending'), coalesce(sum(t.duration_ms), 0), "
                  "count(t.duration_ms)")


def tool_counts(db: Database, scope: Scope, where: str = "1", row_where: str = "1"
                ) -> dict[tuple[str | None, str | None, str | None], ToolCounts]:
    """Per (tool name, MCP server, skill): outcomes and durations. ``where`` narrows the rollup rows and
    ``row_where`` the same rows of ``tool_call t`` (e.g. ``skill != x'00'`` and ``t.skill IS NOT NULL``)."""
    p = plan(db, scope)
    result: dict[tuple, ToolCounts] = defaultdict(ToolCounts)
    if p.whole:
        clause, params = p.where()
        for name, server, skill, *counts in db.execute_sql(
                f"SELECT nullif(name, {NULL_KEY}), nullif(mcp_server, {NULL_KEY}), nullif(skill, {NULL_KEY}), "
                f"{_TOOL_SUMS} FROM tool_day WHERE {clause} AND {where} GROUP BY name, mcp_server, skill",
                params).fetchall():
            result[(name, server, skill)].add(counts)
    for edge in p.edges:
        w = tool_calls_where(edge).add(row_where)
        for name, server, skill, *counts in db.execute_sql(
                f"SELECT t.name, t.mcp_server, t.skill, {_TOOL_ROW_SUMS} FROM tool_call t{w.sql} GROUP BY 1, 2, 3",
                w.params).fetchall():
            result[(name, server, skill)].add(counts)
    return result


# Distinct sessions per key: which rows of each kind say a session "had" a key (the same as session_key_day).
_KEY_ROWS: dict[int, tuple[str, str]] = {
    KIND_REQUESTS: ("''", "requests"),
    KIND_MODEL: ("iif(r.speed = 'fast', r.model || '-fast', r.model)", "requests"),
    KIND_TOOL: ("t.name", "tools"),
    KIND_SKILL: ("t.skill", "tools"),
    KIND_MCP: ("t.mcp_server", "tools"),
    KIND_PATTERN: ("CAST(e.pattern_id AS TEXT)", "errors"),
}
_KEY_NOT_NULL = {KIND_SKILL: "t.skill IS NOT NULL", KIND_MCP: "t.mcp_server IS NOT NULL"}


def _edge_keys(db: Database, edge: Scope, kind: int) -> set[tuple[Any, Any, str]]:
    """``(key, key2, session)`` present in an edge, read from the rows."""
    keys, source = _KEY_ROWS[kind]
    if source == "requests":
        w = requests_where(edge)
        sql = f"SELECT DISTINCT {keys}, '', r.session_id FROM api_request r{w.sql}"
    elif source == "errors":
        w = tool_calls_where(edge, alias="e")
        sql = f"SELECT DISTINCT {keys}, '', e.session_id FROM error_call e{w.sql}"
    else:
        w = tool_calls_where(edge)
        if kind in _KEY_NOT_NULL:
            w.add(_KEY_NOT_NULL[kind])
        sql = f"SELECT DISTINCT {keys}, '', t.session_id FROM tool_call t{w.sql}"
    return {tuple(row) for row in db.execute_sql(sql, w.params).fetchall()}


def key_sessions(db: Database, scope: Scope, kind: int) -> Counter:
    """Distinct sessions per ``(key, '')`` of ``kind`` in the scope."""
    p = plan(db, scope)
    result: Counter = Counter()
    if p.whole:
        clause, params = p.where()
        for key, key2, n in db.execute_sql(
                f"SELECT nullif(key, {NULL_KEY}), nullif(key2, {NULL_KEY}), sum(sessions) FROM key_sessions "
                f"WHERE {clause} AND kind = ? AND prev < ? GROUP BY key, key2", [*params, kind, p.lo]).fetchall():
            result[(key, key2)] += n
    pairs: set[tuple] = set()
    for edge in p.edges:
        pairs |= _edge_keys(db, edge, kind)
    if pairs and p.whole:
        pairs -= _present(db, p, kind, {sid for *_, sid in pairs})
    for key, key2, _ in pairs:
        result[(key, key2)] += 1
    return result


def _present(db: Database, p: Plan, kind: int, sessions: set[str]) -> set[tuple]:
    """``(key, key2, session)`` of these sessions already counted in the plan's whole days."""
    found: set[tuple] = set()
    for part in chunks(sorted(sessions)):
        found |= {tuple(row) for row in db.execute_sql(
            f"SELECT DISTINCT nullif(key, {NULL_KEY}), nullif(key2, {NULL_KEY}), session_id FROM session_key_day "
            f"WHERE session_id IN ({marks(part)}) AND kind = ? AND day BETWEEN ? AND ?",
            [*part, kind, p.lo, p.hi]).fetchall()}
    return found


def day_sessions(db: Database, scope: Scope) -> dict[date, int]:
    """Sessions with requests per local day of the scope's zone."""
    p = plan(db, scope, by_day=True)
    result: dict[date, int] = defaultdict(int)
    if p.whole:
        clause, params = p.where()
        for day, n in db.execute_sql(f"SELECT day, sum(sessions) FROM key_sessions WHERE {clause} AND kind = ? "
                                     "GROUP BY 1", [*params, KIND_REQUESTS]).fetchall():
            result[day_date(day)] += n
    for edge in p.edges:
        w = requests_where(edge)
        seen: dict[date, set[str]] = defaultdict(set)
        for slot, sid in db.execute_sql(f"SELECT DISTINCT r.ts_ms {SLOT_SQL}, r.session_id FROM api_request r{w.sql}",
                                        w.params).fetchall():
            seen[slot_local_date(slot, edge.tz)].add(sid)
        for day, sids in seen.items():
            result[day] += len(sids)
    return result

