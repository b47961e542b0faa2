"""The session workbench: full-text search, the user's notes and tags, git commits linked to sessions, exports.

Bodies are plain JSON like the session monitor's (whose paths these extend); errors use the /api envelope:
400 VALIDATION_ERROR (a malformed search names what to fix), 404 NOT_FOUND for an unknown session.
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from desktop.api.deps import ArchiveDep
from desktop.api.errors import not_found, validation_error
from desktop.api.models import ERROR_RESPONSES
from store.archive import Archive
from store.export import FORMATS, export_stream, file_name, make_export_scope
from store.gitlink.costs import branch_stats, session_commits
from store.gitlink.link import GitSyncRunner
from store.monitor.lookup import require_session
from store.monitor.params import NotFound, ParamError, archive_timezone, make_scope
from store.notes import UNSET, AnnotationError, annotations, tag_counts, update_annotations
from store.search import SearchSyntaxError, search
from store.search.index import MAX_LIMIT

router = APIRouter(prefix="/api", tags=["workbench"], responses={
    **ERROR_RESPONSES, 404: {"description": "NOT_FOUND: no such session"}})
_runner_lock = threading.Lock()


def git_runner(request: Request) -> GitSyncRunner:
    """One git sync runner per app, created on first use."""
    state = request.app.state
    with _runner_lock:
        if getattr(state, "git_sync", None) is None:
            state.git_sync = GitSyncRunner(state.archive.db)
        return state.git_sync


_From = Annotated[str | None, Query(alias="from", max_length=64, description=(
    "Start, inclusive: RFC3339 instant or YYYY-MM-DD (the whole local day in the configured time zone)"))]
_To = Annotated[str | None, Query(alias="to", max_length=64, description="End, inclusive: RFC3339 or YYYY-MM-DD")]
_Project = Annotated[str | None, Query(max_length=4096, description=(
    "Project path, encoded folder name or last path component"))]


def _require_session(archive: Archive, session_id: str) -> None:
    try:
        require_session(archive.db, session_id)
    except NotFound as exc:
        raise not_found(f"No session {session_id!r} in the archive") from exc


@router.get("/search", summary="Full-text search over messages, tool inputs and tool results")
def search_archive(archive: ArchiveDep, q: Annotated[str, Query(max_length=1000, description=(
        'FTS5 syntax: words (all must match), "exact phrase", prefix*, OR, NOT, NEAR(a b, 10), parentheses; '
        "other punctuation is searched literally"))] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50) -> dict[str, Any]:
    """Hits best first (bm25 ``rank``: lower is better), each with its session, message, time, role and a snippet
    in which matches are wrapped in ``<mark>`` (the rest is HTML-escaped)."""
    try:
        return search(archive.db, q, limit)
    except SearchSyntaxError as exc:
        raise validation_error(str(exc), {"parameter": "q", "query": q}) from exc


class AnnotationPatch(BaseModel):
    """Fields left out stay as they are; ``notes`` null or blank removes the note, ``tags`` replaces the set."""

    model_config = ConfigDict(extra="forbid")

    notes: str | None = Field(default=None, max_length=20_000)
    tags: list[Annotated[str, Field(max_length=200)]] | None = Field(default=None, max_length=50)


@router.patch("/sessions/{session_id}", summary="Set a session's notes and tags (the user's own data)")
def patch_session(archive: ArchiveDep, session_id: str, body: AnnotationPatch) -> dict[str, Any]:
    _require_session(archive, session_id)
    sent = body.model_fields_set
    try:
        return update_annotations(archive.db, session_id, notes=body.notes if "notes" in sent else UNSET,
                                  tags=body.tags if "tags" in sent else UNSET)
    except AnnotationError as exc:
        raise validation_error(str(exc)) from exc


@router.get("/sessions/{session_id}/notes", summary="A session's notes and tags")
def session_notes(archive: ArchiveDep, session_id: str) -> dict[str, Any]:
    found = annotations(archive.db, session_id)
    if found["notes"] is None and not found["tags"]:
        _require_session(archive, session_id)
    return found


@router.get("/tags", summary="Every tag with the number of sessions carrying it")
def list_tags(archive: ArchiveDep) -> dict[str, Any]:
    return {"tags": tag_counts(archive.db)}


@router.post("/git-sync", status_code=202, summary="Link sessions to their git commits, in the background")
def git_sync(archive: ArchiveDep, runner: Annotated[GitSyncRunner, Depends(git_runner)],
             session_id: Annotated[str | None, Query(max_length=1000, description=(
                 "Only this session (all sessions when absent)"))] = None) -> dict[str, Any]:
    """Answers at once; progress and the last result are at ``GET /api/git-sync``."""
    if session_id:
        _require_session(archive, session_id)
    runner.request(session_id or None)
    return {"status": "syncing"}


@router.get("/git-sync", summary="Whether a git sync is running, and the last one's result")
def git_sync_status(runner: Annotated[GitSyncRunner, Depends(git_runner)]) -> dict[str, Any]:
    return runner.status()


@router.get("/sessions/{session_id}/commits", summary="Commits made during a session, with the cost behind each")
def commits(archive: ArchiveDep, session_id: str) -> dict[str, Any]:
    try:
        return session_commits(archive.db, archive.prices, session_id)
    except NotFound as exc:
        raise not_found(str(exc)) from exc


def _scope_error(exc: ParamError) -> Exception:
    return validation_error(str(exc), {"parameter": exc.parameter})


@router.get("/stats/branches", summary="Cost, sessions and commits per branch (sessions' gitBranch)")
def branches(archive: ArchiveDep, date_from: _From = None, date_to: _To = None,
             project: _Project = None) -> dict[str, Any]:
    try:
        scope = make_scope(archive_timezone(archive.settings.timezone), date_from=date_from, date_to=date_to,
                           project=project)
    except ParamError as exc:
        raise _scope_error(exc) from exc
    return branch_stats(archive.db, archive.prices, scope)


@router.get("/export", summary="Export sessions, requests and tool calls (JSON, CSV zip or an HTML report)",
            response_class=StreamingResponse, responses={200: {"content": {
                f.media_type.split(";")[0]: {} for f in FORMATS.values()}, "description": "The file, streamed"}})
def export(archive: ArchiveDep, export_format: Annotated[str, Query(alias="format", pattern="^(json|csv|html)$",
                                                                     description="json, csv (a zip) or html")] = "json",
           date_from: _From = None, date_to: _To = None, project: _Project = None,
           session_id: Annotated[str | None, Query(max_length=1000)] = None) -> Any:
    try:
        es = make_export_scope(archive_timezone(archive.settings.timezone), date_from, date_to, project, session_id)
    except ParamError as exc:
        raise _scope_error(exc) from exc
    if es.session_id:
        _require_session(archive, es.session_id)
    fmt = FORMATS[export_format]
    name = file_name(es, fmt.extension, fmt.kind)
    return StreamingResponse(export_stream(archive.path, archive.prices, es, fmt.name), media_type=fmt.media_type,
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})

