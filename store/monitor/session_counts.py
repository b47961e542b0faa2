"""The sessions of a scope through the session indexes: a project filter becomes its project ids when they are
exactly its sessions, so counts read the (project, last, first) index instead of every session row."""

from __future__ import annotations

from typing import Any

from peewee import Database

from store.monitor.params import Scope
from store.monitor.rollups import project_ids, row_level_only
from store.monitor.sql import Where, marks, sessions_where


def indexed_sessions_where(db: Database, scope: Scope, dated: bool = True) -> Where:
    """:func:`sessions_where` (alias ``s``), with the project as ``s.project_id IN (...)`` when that is exact."""
    if not scope.project or scope.model or scope.search or row_level_only():
        return sessions_where(scope, dated)
    pids = project_ids(db, scope.project)
    if pids is None:
        return sessions_where(scope, dated)
    where = sessions_where(Scope(scope.tz, scope.start_ms, scope.end_ms), dated)
    return where.add(f"s.project_id IN ({marks(pids)})", *pids) if pids else where.add("0")


def count_sessions(db: Database, scope: Scope, dated: bool = True, active_since: int | None = None) -> int:
    where = indexed_sessions_where(db, scope, dated)
    if active_since is not None:
        where.add("s.last_ts_ms >= ?", active_since)
    return db.execute_sql(f"SELECT count(*) FROM session s{where.sql}", where.params).fetchone()[0]


def sessions_by_project(db: Database, scope: Scope) -> dict[str | None, tuple[int, Any]]:
    """Project path (or folder name when no working directory is known) -> (sessions active, last activity)."""
    where = indexed_sessions_where(db, Scope(scope.tz, scope.start_ms, scope.end_ms, scope.project))
    known = Where(list(where.parts), list(where.params)).add("s.project_id IS NOT NULL")
    paths = dict(db.execute_sql("SELECT id, path FROM project").fetchall())
    result: dict[str | None, tuple[int, Any]] = {}
    for pid, n, last in db.execute_sql(f"SELECT s.project_id, count(*), max(s.last_ts_ms) FROM session s{known.sql} "
                                       "GROUP BY s.project_id", known.params).fetchall():
        _merge(result, paths.get(pid), n, last)
    unknown = Where(list(where.parts), list(where.params)).add("s.project_id IS NULL")
    for folder, n, last in db.execute_sql(f"SELECT s.project_dir, count(*), max(s.last_ts_ms) FROM session s"
                                          f"{unknown.sql} GROUP BY s.project_dir", unknown.params).fetchall():
        _merge(result, folder, n, last)
    return result


def _merge(result: dict[str | None, tuple[int, Any]], path: str | None, n: int, last: Any) -> None:
    old_n, old_last = result.get(path, (0, None))
    result[path] = (old_n + n, last if old_last is None or (last is not None and last > old_last) else old_last)
