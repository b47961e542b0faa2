"""Project conditions over the rollup and the request table, matching ``devhelion report --project``."""

from __future__ import annotations

from typing import Any

from store.monitor.sql import in_project


def _like_last_component(project: str) -> str:
    return "%/" + project.rstrip("/").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def rollup_project(project: str | None, alias: str = "u") -> tuple[str, list[Any]]:
    """``usage_rollup`` rows of a project given as path, folder name or last path component ("1" for none)."""
    if not project:
        return "1", []
    sql = (f"({alias}.project_id IN (SELECT id FROM project WHERE path = ? OR path LIKE ? ESCAPE '\\') "
           f"OR {alias}.project_id IN (SELECT project_id FROM session WHERE project_dir = ? "
           "AND project_id IS NOT NULL))")
    return sql, [project, _like_last_component(project), project]


def request_project(project: str | None, alias: str = "r") -> tuple[str, list[Any]]:
    """Requests (``api_request`` aliased ``alias``) of a project's sessions ("1" for none).

    The unary ``+`` keeps SQLite on the time index: these queries read a short time span, and walking every
    request of the project's sessions through the session_id index instead would take seconds on a big archive.
    """
    if not project:
        return "1", []
    condition, params = in_project(f"{alias}.session_id", project)
    return "+" + condition, params
