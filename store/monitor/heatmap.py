"""File heatmap of a project (``/api/stats/file-heatmap``): the files and directories Claude touched most.

Counts come from file tools only: reads (Read), writes (Write) and edits (Edit, MultiEdit, NotebookEdit).
Search tools (Grep, Glob, LS) take a directory to search, not a file to read, so they are left out. Every
attempt counts (failed ones too; ``errors`` says how many failed). A directory's counts are those of the
files directly in it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from peewee import Database

from store.monitor.fmt import iso
from store.monitor.lookup import project_paths
from store.monitor.params import Scope, require
from store.monitor.rollups import Plan, plan
from store.monitor.sql import in_project, is_short, marks, of_project, tool_calls_where

TOP_FILES = 50
TOP_DIRECTORIES = 20
ACTIONS: dict[str, str] = {"Read": "reads", "NotebookRead": "reads", "Write": "writes", "Edit": "edits",
                           "MultiEdit": "edits", "NotebookEdit": "edits"}


@dataclass(slots=True)
class _Counts:
    reads: int = 0
    writes: int = 0
    edits: int = 0
    errors: int = 0
    last: int | None = None

    @property
    def total(self) -> int:
        return self.reads + self.writes + self.edits

    def add(self, action: str, n: int, errors: int, last: int | None) -> None:
        setattr(self, action, getattr(self, action) + n)
        self.errors += errors
        if last is not None and (self.last is None or last > self.last):
            self.last = last

    def json(self) -> dict[str, Any]:
        return {"reads": self.reads, "writes": self.writes, "edits": self.edits, "total": self.total,
                "errors": self.errors, "last_access": iso(self.last)}


def parent_dir(path: str) -> str:
    """Directory part of a POSIX or Windows path (``/`` for a file at the root)."""
    cut = max(path.rfind("/"), path.rfind("\\"))
    if cut < 0:
        return "."
    return path[:cut] or path[0]


def relative(path: str, roots: list[str]) -> str:
    """``path`` relative to the project root containing it (the longest match), else unchanged."""
    for root in sorted(roots, key=len, reverse=True):
        base = root.rstrip("/\\")
        if path == base:
            return "."
        if path.startswith(base) and path[len(base)] in "/\\":
            return path[len(base) + 1 :]
    return path


def file_heatmap(db: Database, scope: Scope) -> dict[str, Any]:
    """Top files and directories of ``scope.project`` (required) by reads + writes + edits."""
    project = require(scope.project, "project")
    roots = project_paths(db, project)
    rows = _file_rows(db, scope, project)
    files: dict[str, _Counts] = {}
    directories: dict[str, _Counts] = {}
    dir_files: dict[str, set[str]] = {}
    for path, name, n, errors, last in rows:
        action = ACTIONS[name]
        files.setdefault(path, _Counts()).add(action, n, errors, last)
        folder = parent_dir(path)
        directories.setdefault(folder, _Counts()).add(action, n, errors, last)
        dir_files.setdefault(folder, set()).add(path)

    def ranked(items: dict[str, _Counts], top: int) -> list[tuple[str, _Counts]]:
        return sorted(items.items(), key=lambda kv: (-kv[1].total, kv[0]))[:top]

    return {
        "project": project, "project_paths": roots,
        "total_files": len(files), "total_directories": len(directories),
        "files": [{"path": p, "relative_path": relative(p, roots), **c.json()} for p, c in ranked(files, TOP_FILES)],
        "directories": [{"path": d, "relative_path": relative(d, roots), "files": len(dir_files[d]), **c.json()}
                        for d, c in ranked(directories, TOP_DIRECTORIES)],
    }


def _file_rows(db: Database, scope: Scope, project: str) -> list[tuple]:
    """``(path, tool, calls, errors, last call)``: all time from ``file_touch``, a range from the calls."""
    p = plan(db, scope)
    if p.whole and not scope.dated:
        return db.execute_sql(
            f"SELECT file_path, name, sum(calls), sum(errors), max(last_ms) FROM file_touch WHERE project_id IN "
            f"({marks(p.pids)}) GROUP BY 1, 2", list(p.pids)).fetchall()
    if p.whole:
        return _range_rows(db, p)
    where = tool_calls_where(replace(scope, project=None))
    condition, params = (of_project if is_short(scope) else in_project)("t.session_id", project)
    where.add(condition, *params).add("t.file_path IS NOT NULL").add(f"t.name IN ({marks(ACTIONS)})", *ACTIONS)
    return db.execute_sql(
        f"SELECT t.file_path, t.name, count(*), sum(t.status = 'error'), max(t.call_ts_ms) FROM tool_call t"
        f"{where.sql} GROUP BY 1, 2", where.params).fetchall()


def _range_rows(db: Database, p: Plan) -> list[tuple]:
    """:func:`_file_rows` of a range for a project whose sessions are exactly those of the plan's projects: the
    whole local days from ``file_day``, the partial days at the ends from their calls (through the time index:
    a partial day holds few)."""
    where, params = p.where()
    rows = db.execute_sql(f"SELECT file_path, name, sum(calls), sum(errors), max(last_ms) FROM file_day WHERE {where} "
                          "GROUP BY 1, 2", params).fetchall()
    for edge in p.edges:
        conditions = ["t.file_path IS NOT NULL", f"t.name IN ({marks(ACTIONS)})",
                      f"t.session_id IN (SELECT session_id FROM session WHERE project_id IN ({marks(p.pids)}))"]
        values: list[Any] = [*ACTIONS, *p.pids]
        if edge.start_ms is not None:
            conditions.append("t.call_ts_ms >= ?")
            values.append(edge.start_ms)
        if edge.end_ms is not None:
            conditions.append("t.call_ts_ms < ?")
            values.append(edge.end_ms)
        rows += db.execute_sql(
            "SELECT t.file_path, t.name, count(*), sum(t.status = 'error'), max(t.call_ts_ms) FROM tool_call t "
            f"WHERE {' AND '.join(conditions)} GROUP BY 1, 2", values).fetchall()
    merged: dict[tuple[str, str], list[Any]] = {}
    for path, name, calls, errors, last in rows:  # a file in the whole days and a partial day: one row
        row = merged.setdefault((path, name), [path, name, 0, 0, None])
        row[2] += calls
        row[3] += errors
        row[4] = last if row[4] is None or (last is not None and last > row[4]) else row[4]
    return [tuple(row) for row in merged.values()]
