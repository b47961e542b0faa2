"""SQL fragments for a :class:`Scope` over each table, so every query filters the same way.

Projects match like ``devhelion report --project``: the full path, the encoded folder name or the last path
component. Project filters become ``session_id IN (...)`` sub-selects so SQLite can use the session_id
indexes of the big tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from store.monitor.params import Scope

CHUNK = 500  # ids per IN (...) list, well under SQLite's variable limit


@dataclass
class Where:
    """Conditions joined by AND, with their parameters in order."""

    parts: list[str] = field(default_factory=list)
    params: list[Any] = field(default_factory=list)

    def add(self, sql: str, *params: Any) -> Where:
        self.parts.append(sql)
        self.params.extend(params)
        return self

    @property
    def sql(self) -> str:
        return f" WHERE {' AND '.join(self.parts)}" if self.parts else ""


def escape_like(text: str) -> str:
    """``text`` with LIKE's wildcards escaped (patterns here use ``ESCAPE '\\'``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere."""
    return f"%{escape_like(text)}%"


def project_path_ids(project: str) -> tuple[str, list[Any]]:
    """SELECT of the ids of projects whose path is ``project`` or ends with ``/<project>``."""
    return ("SELECT id FROM project WHERE path = ? OR path LIKE ? ESCAPE '\\'",
            [project, "%/" + escape_like(project.rstrip("/"))])


def project_condition(project: str, alias: str = "s") -> tuple[str, list[Any]]:
    """Sessions (``session`` aliased ``alias``) of a project given as path, folder name or last component."""
    ids, params = project_path_ids(project)
    return f"({alias}.project_dir = ? OR {alias}.project_id IN ({ids}))", [project, *params]


def project_id_condition(column: str, project: str) -> tuple[str, list[Any]]:
    """A rollup's ``column`` (project ids) holds a project of ``project`` (path, last component or folder)."""
    ids, params = project_path_ids(project)
    return (f"({column} IN ({ids}) OR {column} IN (SELECT project_id FROM session WHERE project_dir = ? "
            "AND project_id IS NOT NULL))", [*params, project])


def in_project(column: str, project: str) -> tuple[str, list[Any]]:
    """``column`` (a session id column) belongs to a session of ``project``."""
    condition, params = project_condition(project, "ps")
    return f"{column} IN (SELECT ps.session_id FROM session ps WHERE {condition})", params


def model_condition(column: str, model: str) -> tuple[str, list[Any]]:
    """Exact model id, or its dated variants (``claude-sonnet-4-5`` matches ``claude-sonnet-4-5-20250929``)."""
    return f"({column} = ? OR {column} LIKE ? ESCAPE '\\')", [model, f"{escape_like(model)}-%"]


def _time(where: Where, column: str, scope: Scope) -> None:
    if scope.start_ms is not None:
        where.add(f"{column} >= ?", scope.start_ms)
    if scope.end_ms is not None:
        where.add(f"{column} < ?", scope.end_ms)


SHORT_RANGE_MS = 2 * 24 * 60 * 60 * 1000


def is_short(scope: Scope, dated: bool = True) -> bool:
    """A range short enough that its rows are best found through the time index, even for one project."""
    return dated and scope.start_ms is not None and scope.end_ms is not None and (
        scope.end_ms - scope.start_ms <= SHORT_RANGE_MS)


def of_project(column: str, project: str) -> tuple[str, list[Any]]:
    """``column`` (a session id column) belongs to a session of ``project``, checked row by row (for few rows:
    listing all the project's sessions first would cost more)."""
    condition, params = project_condition(project, "ps")
    return f"EXISTS (SELECT 1 FROM session ps WHERE ps.session_id = {column} AND {condition})", params


def _project(where: Where, column: str, scope: Scope, dated: bool = True) -> None:
    if scope.project:
        condition, params = (of_project if is_short(scope, dated) else in_project)(column, scope.project)
        where.add(condition, *params)


def requests_where(scope: Scope, dated: bool = True, alias: str = "r") -> Where:
    """Deduplicated API requests in scope (attributed by request time)."""
    where = Where().add(f"{alias}.model IS NOT NULL")
    if dated:
        _time(where, f"{alias}.ts_ms", scope)
    _project(where, f"{alias}.session_id", scope, dated)
    if scope.model:
        where.add(*_flat(model_condition(f"{alias}.model", scope.model)))
    return where


def tool_calls_where(scope: Scope, dated: bool = True, alias: str = "t") -> Where:
    """Tool calls in scope (by call time); a model filter keeps calls issued by responses of that model."""
    where = Where()
    if dated:
        _time(where, f"{alias}.call_ts_ms", scope)
    _project(where, f"{alias}.session_id", scope, dated)
    if scope.model:
        condition, params = model_condition("mr.model", scope.model)
        where.add(f"EXISTS (SELECT 1 FROM api_request mr WHERE mr.request_key = {alias}.request_key "
                  f"AND {condition})", *params)
    if scope.search:
        pattern = like(scope.search)
        where.add(f"({alias}.name LIKE ? ESCAPE '\\' OR {alias}.file_path LIKE ? ESCAPE '\\' "
                  f"OR {alias}.input_json LIKE ? ESCAPE '\\' OR {alias}.error_text LIKE ? ESCAPE '\\')",
                  *([pattern] * 4))
    return where


def messages_where(scope: Scope, dated: bool = True, alias: str = "m") -> Where:
    """Transcript lines in scope; a model filter keeps assistant lines of that model."""
    where = Where()
    if dated:
        _time(where, f"{alias}.ts_ms", scope)
    _project(where, f"{alias}.session_id", scope, dated)
    if scope.model:
        where.add(*_flat(model_condition(f"{alias}.model", scope.model)))
    if scope.search:
        where.add(f"{alias}.text LIKE ? ESCAPE '\\'", like(scope.search))
    return where


def sessions_where(scope: Scope, dated: bool = True, alias: str = "s") -> Where:
    """Sessions active in the range (their first..last line overlaps it), of the project, using the model,
    matching the search in their titles, path, branch or any line's text."""
    where = Where()
    if dated:
        if scope.start_ms is not None:
            where.add(f"{alias}.last_ts_ms >= ?", scope.start_ms)
        if scope.end_ms is not None:
            where.add(f"{alias}.first_ts_ms < ?", scope.end_ms)
    if scope.project:
        where.add(*_flat(project_condition(scope.project, alias)))
    if scope.model:
        condition, params = model_condition("mr.model", scope.model)
        where.add(f"EXISTS (SELECT 1 FROM api_request mr WHERE mr.session_id = {alias}.session_id "
                  f"AND {condition})", *params)
    if scope.search:
        pattern = like(scope.search)
        columns = ("session_id", "custom_title", "ai_title", "first_prompt", "cwd", "git_branch", "slug")
        meta = " OR ".join(f"{alias}.{c} LIKE ? ESCAPE '\\'" for c in columns)
        where.add(f"({meta} OR EXISTS (SELECT 1 FROM message sm WHERE sm.session_id = {alias}.session_id "
                  "AND sm.text LIKE ? ESCAPE '\\'))", *([pattern] * (len(columns) + 1)))
    return where


def _flat(pair: tuple[str, list[Any]]) -> tuple[Any, ...]:
    return (pair[0], *pair[1])


def chunks(ids: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)
