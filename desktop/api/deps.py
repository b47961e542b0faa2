"""Shared route parameters: the archive on ``app.state``, date ranges and pagination."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query, Request

from desktop.api.errors import validation_error
from store.analytics.range import TimeRange, parse_range
from store.archive import Archive
from store.sync_runner import SyncRunner
from store.timezones import resolve_timezone

MAX_LIMIT = 1000


def get_archive(request: Request) -> Archive:
    return request.app.state.archive


def get_runner(request: Request) -> SyncRunner:
    return request.app.state.sync


def archive_tz(archive: Archive) -> Any:
    return resolve_timezone(archive.settings.timezone)


def date_range(
    archive: Annotated[Archive, Depends(get_archive)],
    date_from: Annotated[str | None, Query(alias="dateFrom", max_length=64, description=(
        "Start, inclusive: YYYY-MM-DD (a local date in the configured time zone) or an ISO-8601 date-time"))] = None,
    date_to: Annotated[str | None, Query(alias="dateTo", max_length=64, description=(
        "End, inclusive: YYYY-MM-DD (the whole local day) or an ISO-8601 date-time"))] = None,
) -> TimeRange:
    try:
        return parse_range(date_from, date_to, archive_tz(archive))
    except ValueError as exc:
        raise validation_error(str(exc), {"dateFrom": date_from, "dateTo": date_to}) from exc


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int


def page(
    limit: Annotated[int, Query(ge=0, le=MAX_LIMIT, description="Rows per page (0 … 1000)")] = 20,
    offset: Annotated[int, Query(ge=0, le=2**53, description="Rows to skip")] = 0,
) -> Page:
    return Page(limit, offset)


ArchiveDep = Annotated[Archive, Depends(get_archive)]
RangeDep = Annotated[TimeRange, Depends(date_range)]
PageDep = Annotated[Page, Depends(page)]
RunnerDep = Annotated[SyncRunner, Depends(get_runner)]


def ok(data: Any) -> dict[str, Any]:
    return {"success": True, "data": data}
