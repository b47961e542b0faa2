"""The project condition over the request table for short time spans, matching ``devhelion report --project``."""

from __future__ import annotations

from typing import Any

from store.monitor.sql import in_project


def request_project(project: str | None, alias: str = "r") -> tuple[str, list[Any]]:
    """Requests (``api_request`` aliased ``alias``) of a project's sessions ("1" for none).

    The unary ``+`` keeps SQLite on the time index: these queries read a short time span, and walking every
    request of the project's sessions through the session_id index instead would take seconds on a big archive.
    """
    if not project:
        return "1", []
    condition, params = in_project(f"{alias}.session_id", project)
    return "+" + condition, params
