"""Surface 2, the session monitor API: plain JSON over ``store.monitor`` (every query lives there).

Errors of these routes are plain too: 400 ``{"detail": {"error", "parameter"}}`` for a bad parameter (bad
date, negative limit, ``from`` after ``to``, a missing required one) and 404 with the same shape for an unknown
session or project. The route class answers them itself, so the /api error envelope of Surface 1 does not
rewrap them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from store.archive import Archive
from store.monitor import (
    breakdowns,
    dimensions,
    efficiency,
    errors,
    heatmap,
    messages,
    prompts,
    sessions,
    stats,
    subagents,
    timeline,
    tool_calls,
)
from store.monitor.params import (
    DEFAULT_LIMIT,
    MAX_DAYS,
    MAX_LIMIT,
    MAX_OFFSET,
    NotFound,
    Page,
    ParamError,
    Scope,
    archive_timezone,
    make_page,
    make_scope,
)


def _error(status: int, message: str, parameter: str) -> JSONResponse:
    return JSONResponse({"detail": {"error": message, "parameter": parameter}}, status_code=status)


class MonitorRoute(APIRoute):
    """Turns parameter errors into 400 and unknown ids into 404, naming the parameter."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                location = first.get("loc") or ("query", "?")
                return _error(400, first.get("msg", "invalid parameter"), str(location[-1]))
            except ParamError as exc:
                return _error(400, str(exc), exc.parameter)
            except NotFound as exc:
                return _error(404, str(exc), exc.parameter)

        return route


_ERROR_BODY = {"application/json": {"schema": {"type": "object", "properties": {"detail": {
    "type": "object", "properties": {"error": {"type": "string"}, "parameter": {"type": "string"}}}}}}}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such session or project", "content": _ERROR_BODY}}
router = APIRouter(prefix="/api", tags=["session monitor"], route_class=MonitorRoute, responses={
    400: {"description": "A parameter is invalid or missing; `detail.parameter` names it", "content": _ERROR_BODY}})


def get_archive(request: Request) -> Archive:
    return request.app.state.archive


ArchiveDep = Annotated[Archive, Depends(get_archive)]
_Text = Annotated[str | None, Query(max_length=1000)]
_From = Annotated[str | None, Query(alias="from", max_length=64, description=(
    "Start, inclusive: RFC3339 instant, or YYYY-MM-DD (the whole local day in the configured time zone)"))]
_To = Annotated[str | None, Query(alias="to", max_length=64, description=(
    "End, inclusive: RFC3339 instant, or YYYY-MM-DD (the whole local day)"))]
_Project = Annotated[str | None, Query(max_length=4096, description=(
    "Project path, encoded folder name or last path component"))]


def stats_scope(archive: ArchiveDep, date_from: _From = None, date_to: _To = None,
                project: _Project = None) -> Scope:
    return make_scope(archive_timezone(archive.settings.timezone), date_from=date_from, date_to=date_to,
                      project=project)


def list_scope(archive: ArchiveDep, date_from: _From = None, date_to: _To = None, project: _Project = None,
               model: Annotated[str | None, Query(max_length=200, description=(
                   "Model id; an undated id also matches its dated variants"))] = None,
               search: Annotated[str | None, Query(max_length=1000, description="Text to look for")] = None,
               ) -> Scope:
    return make_scope(archive_timezone(archive.settings.timezone), date_from=date_from, date_to=date_to,
                      project=project, model=model, search=search)


def page(limit: Annotated[int, Query(ge=0, le=MAX_LIMIT)] = DEFAULT_LIMIT,
         offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> Page:
    return make_page(limit, offset)


def timeline_page(limit: Annotated[int, Query(ge=0, le=timeline.MAX_LIMIT)] = timeline.DEFAULT_LIMIT,
                  offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> Page:
    return make_page(limit, offset, max_limit=timeline.MAX_LIMIT)


StatsScope = Annotated[Scope, Depends(stats_scope)]
ListScope = Annotated[Scope, Depends(list_scope)]
PageDep = Annotated[Page, Depends(page)]


@router.get("/sessions", summary="Sessions active in the range, most recent first")
def list_sessions(archive: ArchiveDep, scope: ListScope, pg: PageDep,
                  tag: Annotated[str | None, Query(max_length=200, description="Only sessions with this tag")] = None,
                  ) -> dict[str, Any]:
    return sessions.list_sessions(archive.db, archive.prices, scope, pg, tag=tag)


@router.get("/sessions/{session_id}", responses=_NOT_FOUND,
            summary="A session: metadata, messages, tool calls, subagents")
def session_detail(archive: ArchiveDep, session_id: str) -> dict[str, Any]:
    tz = archive_timezone(archive.settings.timezone)
    return sessions.session_detail(archive.db, archive.prices, Scope(tz), session_id)


@router.get("/sessions/{session_id}/timeline", responses=_NOT_FOUND,
            summary="Messages, tool calls, subagents and compactions in order")
def session_timeline(archive: ArchiveDep, session_id: str,
                     pg: Annotated[Page, Depends(timeline_page)]) -> dict[str, Any]:
    return timeline.session_timeline(archive.db, archive.prices, session_id, pg)


@router.get("/messages", responses=_NOT_FOUND,
            summary="Transcript lines; usage sits on one line per API response")
def list_messages(archive: ArchiveDep, scope: ListScope, pg: PageDep, session_id: _Text = None,
                  message_type: Annotated[str | None, Query(alias="type", max_length=64, description=(
                      "user, assistant, system or attachment"))] = None) -> dict[str, Any]:
    return messages.list_messages(archive.db, archive.prices, scope, pg, session_id=session_id,
                                  message_type=message_type)


@router.get("/tool-calls", responses=_NOT_FOUND,
            summary="Tool calls with status, timing, input and result")
def list_tool_calls(archive: ArchiveDep, scope: ListScope, pg: PageDep, session_id: _Text = None,
                    tool_name: Annotated[str | None, Query(max_length=200)] = None,
                    status: Annotated[str | None, Query(max_length=32, description=(
                        "ok, error, rejected, interrupted or pending"))] = None) -> dict[str, Any]:
    return tool_calls.list_tool_calls(archive.db, scope, pg, session_id=session_id, tool_name=tool_name,
                                      status=status)


@router.get("/subagents", responses=_NOT_FOUND,
            summary="Subagents (also compaction, warmup and workflow agents) with usage")
def list_subagents(archive: ArchiveDep, scope: ListScope, pg: PageDep, session_id: _Text = None,
                   kind: Annotated[str | None, Query(max_length=32, description=(
                       "subagent, compaction, warmup or workflow"))] = None) -> dict[str, Any]:
    return subagents.list_subagents(archive.db, archive.prices, scope, pg, session_id=session_id, kind=kind)


@router.get("/stats", summary="Today (or the range), all-time totals and active sessions")
def stats_summary(archive: ArchiveDep, scope: StatsScope) -> dict[str, Any]:
    return stats.summary(archive.db, archive.prices, scope)


@router.get("/stats/daily", summary="One row per local day for the last N days")
def stats_daily(archive: ArchiveDep, scope: StatsScope,
                days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 90) -> dict[str, Any]:
    return stats.daily(archive.db, archive.prices, scope, days)


@router.get("/stats/tools", summary="Calls, outcomes and durations per tool")
def stats_tools(archive: ArchiveDep, scope: StatsScope) -> dict[str, Any]:
    return dimensions.tool_stats(archive.db, scope)


@router.get("/stats/models", summary="Usage and cost per model")
def stats_models(archive: ArchiveDep, scope: StatsScope) -> dict[str, Any]:
    return dimensions.model_stats(archive.db, archive.prices, scope)


@router.get("/stats/projects", summary="Sessions, usage and cost per project")
def stats_projects(archive: ArchiveDep, scope: StatsScope) -> dict[str, Any]:
    return dimensions.project_stats(archive.db, archive.prices, scope)


@router.get("/stats/skills", summary="Skill invocations")
def stats_skills(archive: ArchiveDep, scope: StatsScope) -> dict[str, Any]:
    return dimensions.skill_stats(archive.db, scope)


@router.get("/stats/mcp", summary="MCP servers and their tools")
def stats_mcp(archive: ArchiveDep, scope: StatsScope) -> dict[str, Any]:
    return dimensions.mcp_stats(archive.db, scope)


@router.get("/stats/errors", summary="Tool errors: rate, per tool, common patterns, 30-day trend")
def stats_errors(archive: ArchiveDep, scope: StatsScope) -> dict[str, Any]:
    return errors.error_stats(archive.db, scope)


@router.get("/stats/token-efficiency", summary="Cache hit rate, tokens per message and tool call, cache savings")
def stats_token_efficiency(archive: ArchiveDep, scope: StatsScope) -> dict[str, Any]:
    return efficiency.token_efficiency(archive.db, archive.prices, scope)


@router.get("/stats/prompt-patterns", summary="Prompt categories and their daily trend (default: last 30 days)")
def stats_prompt_patterns(archive: ArchiveDep, scope: StatsScope) -> dict[str, Any]:
    return prompts.prompt_patterns(archive.db, scope)


@router.get("/stats/file-heatmap", responses=_NOT_FOUND,
            summary="Top 50 files and top 20 directories of a project (project required)")
def stats_file_heatmap(archive: ArchiveDep, scope: StatsScope) -> dict[str, Any]:
    return heatmap.file_heatmap(archive.db, scope)


@router.get("/stats/session-breakdown", responses=_NOT_FOUND,
            summary="A session's usage by model, token class, agent, tool and file")
def stats_session_breakdown(archive: ArchiveDep, session_id: _Text = None) -> dict[str, Any]:
    return breakdowns.session_breakdown(archive.db, archive.prices, session_id)


@router.get("/stats/project-breakdown", responses=_NOT_FOUND,
            summary="A project's usage by model and token class, top sessions, tools")
def stats_project_breakdown(archive: ArchiveDep, scope: StatsScope) -> dict[str, Any]:
    return breakdowns.project_breakdown(archive.db, archive.prices, scope)
