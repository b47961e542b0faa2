"""Existence checks for the session or project a query is about (unknown ones are 404s, not empty answers)."""

from __future__ import annotations

from peewee import Database

from store.monitor.params import NotFound
from store.monitor.rollups import project_ids, row_level_only
from store.monitor.sql import marks, project_condition


def require_session(db: Database, session_id: str, parameter: str = "session_id") -> None:
    if db.execute_sql("SELECT 1 FROM session WHERE session_id = ?", (session_id,)).fetchone() is None:
        raise NotFound(parameter, f"no session {session_id!r} in the archive")


def project_paths(db: Database, project: str) -> list[str]:
    """Paths (or folder names, for sessions without a cwd) of the projects matching ``project``; raises NotFound."""
    pids = None if row_level_only() else project_ids(db, project)
    if pids is not None:  # the project's sessions are exactly those of these ids: the session index answers
        rows = db.execute_sql(f"SELECT p.path FROM project p WHERE p.id IN ({marks(pids)}) AND EXISTS "
                              "(SELECT 1 FROM session s WHERE s.project_id = p.id)", list(pids)).fetchall()
    else:
        condition, params = project_condition(project, "s")
        rows = db.execute_sql(
            f"SELECT DISTINCT coalesce(p.path, s.project_dir) FROM session s LEFT JOIN project p "
            f"ON p.id = s.project_id WHERE {condition}", params).fetchall()
    paths = sorted(r[0] for r in rows if r[0])
    if not rows:
        raise NotFound("project", f"no project matching {project!r} in the archive")
    return paths
