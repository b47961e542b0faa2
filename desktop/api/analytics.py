"""GET /api/analytics/*: overview, sessions, daily usage, model and tool distributions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from desktop.api.deps import ArchiveDep, PageDep, RangeDep, archive_tz, ok
from desktop.api.errors import not_found
from desktop.api.models import (
    ERROR_RESPONSES,
    DailyUsage,
    Envelope,
    ErrorEnvelope,
    ModelUsage,
    Overview,
    SessionDetail,
    SessionList,
    ToolUsage,
)
from store.analytics import overview as queries
from store.analytics.sessions import list_sessions, session_detail

router = APIRouter(prefix="/api/analytics", tags=["analytics"], responses=ERROR_RESPONSES)


@router.get("/overview", response_model=Envelope[Overview])
def overview(archive: ArchiveDep, rng: RangeDep) -> dict[str, Any]:
    """Totals for the range; cost and tokens equal `devhelion report`'s for the same dates."""
    return ok(queries.overview(archive.db, archive.prices, rng))


@router.get("/sessions", response_model=Envelope[SessionList])
def sessions(archive: ArchiveDep, rng: RangeDep, page: PageDep) -> dict[str, Any]:
    """Sessions active in the range, newest first; their figures count the requests inside the range."""
    return ok(list_sessions(archive.db, archive.prices, rng, page.limit, page.offset))


@router.get("/sessions/{session_id}", response_model=Envelope[SessionDetail],
            responses={404: {"model": ErrorEnvelope, "description": "NOT_FOUND"}})
def session(archive: ArchiveDep, session_id: Annotated[str, Path(max_length=200)]) -> dict[str, Any]:
    """One session over its whole life, with every message in order."""
    detail = session_detail(archive.db, archive.prices, session_id)
    if detail is None:
        raise not_found(f"No session with id {session_id!r}")
    return ok(detail)


@router.get("/daily-usage", response_model=Envelope[list[DailyUsage]])
def daily_usage(archive: ArchiveDep, rng: RangeDep) -> dict[str, Any]:
    """Per local day (configured time zone), oldest first; `sessions` counts the sessions started that day."""
    return ok(queries.daily_usage(archive.db, archive.prices, rng, archive_tz(archive)))


@router.get("/model-distribution", response_model=Envelope[list[ModelUsage]])
def model_distribution(archive: ArchiveDep, rng: RangeDep) -> dict[str, Any]:
    return ok(queries.model_distribution(archive.db, archive.prices, rng))


@router.get("/tool-usage", response_model=Envelope[list[ToolUsage]])
def tool_usage(archive: ArchiveDep, rng: RangeDep) -> dict[str, Any]:
    return ok(queries.tool_usage(archive.db, rng))
