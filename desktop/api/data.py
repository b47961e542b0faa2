"""The data API of the Devhelion API reference: the events feed and insights, for scripts.

Paths, parameters and field names are the reference's, so a script written against it works by changing only its
base URL. ``sk_live_`` keys read the user's archive; ``sk_test_`` keys read the built-in demo archive (fixed
clock, fixed data: stable numbers). Rate limits and their headers are applied by the security middleware.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from peewee import SqliteDatabase
from pydantic import BaseModel

from desktop.api.errors import NOT_FOUND, ApiError
from store.data_api.events import EventQuery, local_user_id, query_events
from store.insights.records import list_insights, mark_read
from store.keys import TEST

router = APIRouter(prefix="/api/data", tags=["data"])


@dataclass(frozen=True)
class DataSource:
    """Which archive answers: the user's (live keys) or the demo (test keys), with its clock and user id."""

    db: SqliteDatabase
    now_ms: int
    user_id: str
    demo: bool


def data_source(request: Request) -> DataSource:
    key = getattr(request.state, "api_key", None)
    if key is not None and key.mode == TEST:
        demo = request.app.state.demo
        return DataSource(demo.database(), demo.now_ms, demo.user_id, True)
    return DataSource(request.app.state.archive.db, int(time.time() * 1000), local_user_id(), False)


SourceDep = Annotated[DataSource, Depends(data_source)]


class Event(BaseModel):
    id: str
    time: str
    event_type: str
    tool: str
    project_path: str | None
    user_id: str
    tokens_used: int
    model: str | None


class EventStats(BaseModel):
    totalEvents: int
    projects: int
    totalTokens: int
    toolsUsed: int


class EventsPage(BaseModel):
    events: list[Event]
    totalCount: int
    stats: EventStats
    page: int
    limit: int


class Insight(BaseModel):
    id: str
    title: str
    description: str
    value: str
    type: str
    category: str
    is_read: bool
    created_at: str


class Insights(BaseModel):
    insights: list[Insight]
    hasTable: bool
    unreadCount: int


class Success(BaseModel):
    success: bool = True


@router.get("/events", response_model=EventsPage)
def events(
    source: SourceDep,
    project: Annotated[str | None, Query(max_length=4096, description="Only this project (its full path)")] = None,
    event_type: Annotated[Literal["user", "assistant", "tool_use"] | None, Query(
        alias="eventType", description="user (prompts), assistant (API responses) or tool_use (tool calls)")] = None,
    time_range: Annotated[Literal["24h", "7d", "30d"] | None, Query(
        alias="timeRange", description="Only the last 24 hours, 7 days or 30 days (default: all time)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Events per page (1 … 1000)")] = 50,
    page: Annotated[int, Query(ge=0, le=1_000_000, description="Page number, 0-based")] = 0,
) -> dict[str, Any]:
    """Prompts, responses and tool calls, newest first; ``stats`` cover every event the filters match."""
    query = EventQuery(project=project.rstrip("/") or project if project else None, event_type=event_type,
                       time_range=time_range, limit=limit, page=page)
    return query_events(source.db.connection(), query, source.now_ms, source.user_id)


@router.get("/insights", response_model=Insights)
def insights(
    source: SourceDep,
    filter_: Annotated[Literal["unread", "all"], Query(alias="filter", description="unread or all")] = "all",
) -> dict[str, Any]:
    """What the local insights engine found (newest first): trends, anomalies and tips about cost, performance,
    quality and usage."""
    return list_insights(source.db.connection(), unread_only=filter_ == "unread")


@router.post("/insights/{insight_id}/read", response_model=Success)
def read_insight(source: SourceDep, insight_id: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    """Mark an insight as read (idempotent)."""
    if not mark_read(source.db.connection(), insight_id, int(time.time() * 1000)):
        raise ApiError(404, NOT_FOUND, f"No insight with id '{insight_id}'", {"id": insight_id})
    return {"success": True}
