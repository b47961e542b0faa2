"""/api/sync/*: ingest status, a dry preview, archive statistics, start a run, reset the read offsets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StrictBool

from desktop.api.deps import ArchiveDep, RunnerDep, ok
from desktop.api.errors import SYNC_IN_PROGRESS, ApiError
from desktop.api.models import (
    ERROR_RESPONSES,
    ArchiveStats,
    Envelope,
    ErrorEnvelope,
    SyncPreview,
    SyncReset,
    SyncStarted,
    SyncStatus,
)
from store.analytics.sync import archive_stats, last_run, preview
from store.sync_runner import SyncInProgress

router = APIRouter(prefix="/api/sync", tags=["sync"], responses=ERROR_RESPONSES)
CONFLICT = {409: {"model": ErrorEnvelope, "description": "SYNC_IN_PROGRESS"}}


class SyncRunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incremental: StrictBool = True
    dryRun: StrictBool = False


@router.get("/status", response_model=Envelope[SyncStatus])
def status(archive: ArchiveDep, runner: RunnerDep) -> dict[str, Any]:
    """The last finished run (by this server or the CLI) and whether one is running now."""
    current = runner.current
    return ok({**last_run(archive.db), "isRunning": current is not None,
               "currentSyncId": current.sync_id if current else None})


@router.get("/preview", response_model=Envelope[SyncPreview])
def sync_preview(archive: ArchiveDep) -> dict[str, Any]:
    """What a run would read now: files compared with their bookkeeping by size and time; nothing is written."""
    return ok(preview(archive.db, archive.roots))


@router.get("/stats", response_model=Envelope[ArchiveStats])
def stats(archive: ArchiveDep) -> dict[str, Any]:
    return ok(archive_stats(archive.db, archive.path, archive.settings.retention_days))


@router.post("/run", response_model=Envelope[SyncStarted], status_code=202, responses=CONFLICT)
def run(archive: ArchiveDep, runner: RunnerDep,
        body: Annotated[SyncRunRequest | None, Body()] = None) -> Any:
    """Start a run in the background (``incremental=false`` re-reads every file; ``dryRun`` only previews)."""
    body = body or SyncRunRequest()
    if body.dryRun:
        data = {"started": False, "syncId": None, "message": "Dry run: nothing was read or written",
                "preview": preview(archive.db, archive.roots)}
        return JSONResponse(ok(data), status_code=200)
    try:
        result = runner.start(full=not body.incremental)
    except SyncInProgress as exc:
        raise _conflict(exc) from exc
    kind = "Incremental" if body.incremental else "Full"
    return ok({"started": True, "syncId": result.sync_id, "message": f"{kind} synchronization started"})


@router.post("/reset", response_model=Envelope[SyncReset], responses=CONFLICT)
def reset(runner: RunnerDep) -> dict[str, Any]:
    """Forget how far each file was read: the next run re-reads everything, and dedup keeps every total."""
    try:
        files = runner.reset()
    except SyncInProgress as exc:
        raise _conflict(exc) from exc
    return ok({"message": "Sync metadata reset: the next run re-reads every file", "filesReset": files})


def _conflict(exc: SyncInProgress) -> ApiError:
    return ApiError(409, SYNC_IN_PROGRESS, str(exc))
