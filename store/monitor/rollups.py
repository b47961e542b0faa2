"""Which part of a scope the local-day rollups answer, and which part is read row by row.

The rollups (``store/sqlite/day_rollups.py``) hold aggregates per project and local day of the rollup zone. A range
splits into whole local days of that zone, read from them, and at most two partial days at its ends, read from
the archived rows with the usual queries. Totals do not care which zone the days are in; a series per local day
needs the rollups in the scope's zone and rebuilds them for it first. If that cannot happen now (the archive is
busy or read-only), everything is read row by row, exactly as before. So are project filters that do not map
onto whole projects.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, tzinfo

from peewee import Database, OperationalError

from store.monitor.params import Scope
from store.monitor.sql import project_condition, project_path_ids
from store.sqlite.day_rollups import rebuild_day_rollups, rollup_zone, zone_key
from store.sqlite.rollup_tables import ALL_PROJECTS, DAY_EARLY, DAY_LATE, DAY_UNDATED

_EPOCH = date(1970, 1, 1).toordinal()
_row_level: ContextVar[bool] = ContextVar("row_level", default=False)


@contextmanager
def row_level() -> Iterator[None]:
    """Answer every query inside from the archived rows only (the rollups' reference, for checks)."""
    token = _row_level.set(True)
    try:
        yield
    finally:
        _row_level.reset(token)


def row_level_only() -> bool:
    """Inside :func:`row_level`."""
    return _row_level.get()


def day_date(day: int) -> date:
    return date.fromordinal(day + _EPOCH)


@dataclass(frozen=True, slots=True)
class Plan:
    """Whole local days ``lo..hi`` from the rollups for projects ``pids`` (-1: all), ``edges`` row by row.

    ``lo > hi`` means no day comes from the rollups; each edge is the scope restricted to a partial day.
    """

    lo: int
    hi: int
    pids: tuple[int, ...]
    edges: tuple[Scope, ...]

    @property
    def whole(self) -> bool:
        return self.lo <= self.hi and bool(self.pids)

    def where(self, prefix: str = "") -> tuple[str, list[int]]:
        """``project_id IN (...) AND day BETWEEN ? AND ?`` for a rollup table (columns prefixed ``prefix``)."""
        projects = "= ?" if len(self.pids) == 1 else f"IN ({', '.join('?' for _ in self.pids)})"
        return (f"{prefix}project_id {projects} AND {prefix}day BETWEEN ? AND ?", [*self.pids, self.lo, self.hi])


def plan(db: Database, scope: Scope, by_day: bool = False) -> Plan:
    """Split ``scope`` (its range and project) between the rollups and the rows; ``by_day`` when the caller
    groups by the scope's local days (the rollups must then be in its zone)."""
    everything = Plan(1, 0, (), (scope,))
    if _row_level.get() or scope.model or scope.search:  # the rollups know neither models of calls nor text
        return everything
    pids = project_ids(db, scope.project) if scope.project else (ALL_PROJECTS,)
    if pids is None or (by_day and not zone_ready(db, scope.tz)):
        return everything
    if scope.start_ms is None and scope.end_ms is None:
        return Plan(DAY_UNDATED, DAY_LATE, pids, ())
    split = _split(db, scope.start_ms, scope.end_ms)
    if split is None:
        return everything
    lo, hi, edges = split
    return Plan(lo, hi, pids, tuple(Scope(scope.tz, s, e, scope.project) for s, e in edges))


def _day_at(db: Database, ts: int) -> tuple[int, int] | None:
    """``(day, its first ms)`` of the bucket holding ``ts`` (None before the first covered day)."""
    row = db.execute_sql("SELECT day, start_ms FROM zone_day WHERE start_ms <= ? ORDER BY start_ms DESC LIMIT 1",
                         [ts]).fetchone()
    return (row[0], row[1]) if row else None


def _next_start(db: Database, ts: int) -> int:
    return db.execute_sql("SELECT min(start_ms) FROM zone_day WHERE start_ms > ?", [ts]).fetchone()[0]


def _split(db: Database, start: int | None, end: int | None) -> tuple[int, int, list[tuple]] | None:
    """Whole days and partial-day edges of ``[start, end)``; None when no whole day is inside."""
    edges: list[tuple[int | None, int | None]] = []
    if start is None:
        lo = DAY_EARLY
    else:
        at = _day_at(db, start)
        if at is None:  # before the covered days: row by row up to the first one
            first = db.execute_sql("SELECT day, start_ms FROM zone_day ORDER BY start_ms LIMIT 1").fetchone()
            if first is None:
                return None
            lo = first[0]
            edges.append((start, first[1]))
        elif at[0] == DAY_LATE:
            return None
        else:
            lo = at[0]
            if at[1] != start:
                lo += 1
                edges.append((start, _next_start(db, start)))
    if end is None:
        hi = DAY_LATE
    else:
        at = _day_at(db, end)
        if at is None:
            return None
        if at[0] == DAY_LATE:  # up to the last covered day; any part of the LATE bucket row by row
            hi = _day_at(db, at[1] - 1)[0]
            if at[1] != end:
                edges.append((at[1], end))
        else:
            hi = at[0] - 1
            if at[1] != end:
                edges.append((at[1], end))
    if lo > hi:
        return None
    return lo, hi, edges


def day_bounds(db: Database, day: int) -> tuple[int | None, int | None]:
    """``[start, end)`` in UTC ms of a day bucket (EARLY and LATE are open on one side)."""
    if day == DAY_EARLY:
        return None, db.execute_sql("SELECT min(start_ms) FROM zone_day").fetchone()[0]
    start = db.execute_sql("SELECT start_ms FROM zone_day WHERE day = ?", [day]).fetchone()[0]
    return start, (None if day == DAY_LATE else _next_start(db, start))


def zone_ready(db: Database, tz: tzinfo) -> bool:
    """The rollups' days are ``tz``'s local days, rebuilding them if needed; False if that cannot happen now."""
    key = zone_key(tz)
    conn = db.connection()
    if rollup_zone(conn) == key:
        return True
    try:
        with db.atomic("IMMEDIATE"):
            if rollup_zone(conn) != key:  # another request may have rebuilt them meanwhile
                rebuild_day_rollups(conn, tz)
    except (sqlite3.OperationalError, OperationalError):
        return False
    return True


def project_ids(db: Database, project: str) -> tuple[int, ...] | None:
    """Rollup project ids whose sessions are exactly the sessions of ``project`` (as the monitor matches them:
    path, last path component or folder name); None when no set of ids is exactly that."""
    condition, params = project_condition(project, "s")
    ids = {pid for (pid,) in db.execute_sql(*project_path_ids(project)).fetchall()}
    by_folder = {pid for (pid,) in db.execute_sql(
        "SELECT DISTINCT coalesce(project_id, 0) FROM session WHERE project_dir = ?", [project]).fetchall()}
    extra = by_folder - ids
    if 0 in extra:
        return None  # sessions with no known project matched by folder: the rollups cannot tell them apart
    for pid in extra:
        other = db.execute_sql(f"SELECT 1 FROM session s WHERE s.project_id = ? AND NOT coalesce({condition}, 0) "
                               "LIMIT 1", [pid, *params]).fetchone()
        if other is not None:
            return None
    return tuple(sorted(ids | extra))


def whole_scope(db: Database, p: Plan, scope: Scope) -> Scope:
    """The part of ``scope`` the plan's whole days cover, as a scope (for rows the rollups cannot split)."""
    start = None if p.lo in (DAY_UNDATED, DAY_EARLY) else day_bounds(db, p.lo)[0]
    end = None if p.hi == DAY_LATE else day_bounds(db, p.hi)[1]
    return Scope(scope.tz, start, end, scope.project)
