"""Validated query parameters shared by every monitor query: time range, filters and pagination.

Parsing lives here, not in the web layer, so bad input is rejected the same way wherever the queries are used;
errors name the offending parameter so the API can answer 400 with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from store.timezones import local_day_start_utc_ms, resolve_timezone

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000
MAX_DAYS = 3660
ACTIVE_WINDOW_MS = 15 * 60 * 1000  # a session with a line this recent counts as active

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?", re.IGNORECASE)
_MIN_YEAR, _MAX_YEAR = 1970, 9998
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ParamError(ValueError):
    """A query parameter is unusable; ``parameter`` names it for the client."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class NotFound(LookupError):
    """The session or project a query is about does not exist in the archive."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True, slots=True)
class Scope:
    """Filters of one request: ``[start_ms, end_ms)`` in UTC ms (``None`` = open) and optional text filters."""

    tz: tzinfo
    start_ms: int | None = None
    end_ms: int | None = None
    project: str | None = None
    model: str | None = None
    search: str | None = None

    @property
    def dated(self) -> bool:
        return self.start_ms is not None or self.end_ms is not None


@dataclass(frozen=True, slots=True)
class Page:
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def archive_timezone(name: str | None) -> tzinfo:
    """The configured zone, or the machine's when unset or unknown (days must still bucket somewhere)."""
    try:
        return resolve_timezone(name)
    except ValueError:
        return resolve_timezone(None)


def _blank_to_none(value: str | None) -> str | None:
    return value.strip() if value is not None and value.strip() else None


def parse_bound(text: str, tz: tzinfo, *, end: bool, name: str) -> int:
    """UTC ms of ``from`` (start) or ``to`` (exclusive end) given as RFC3339 or ``YYYY-MM-DD``.

    A date is a whole local day in ``tz`` (inclusive at both ends, like ``devhelion report``); a date-time is an
    instant, naive ones read in ``tz``; ``to`` includes its instant.
    """
    value = text.strip()
    try:
        if _DATE.fullmatch(value):
            day = date.fromisoformat(value)
            _check_year(day.year)
            return local_day_start_utc_ms(day + timedelta(days=1) if end else day, tz)
        if _DATETIME.fullmatch(value):
            instant = datetime.fromisoformat(value.upper().replace(" ", "T"))
            _check_year(instant.year)
            if instant.tzinfo is None:
                instant = instant.replace(tzinfo=tz)
            ms = (instant - _EPOCH) // timedelta(milliseconds=1)
            return ms + 1 if end else ms
    except (ValueError, OverflowError, OSError):
        pass
    raise ParamError(name, f"{name} must be RFC3339 (2026-05-01T10:00:00Z) or a date (YYYY-MM-DD) between "
                           f"{_MIN_YEAR} and {_MAX_YEAR}, got {text!r}")


def _check_year(year: int) -> None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise ValueError("year out of range")


def make_scope(tz: tzinfo, *, date_from: str | None = None, date_to: str | None = None, project: str | None = None,
               model: str | None = None, search: str | None = None) -> Scope:
    """A validated scope; empty strings mean "not given"."""
    date_from, date_to = _blank_to_none(date_from), _blank_to_none(date_to)
    start = parse_bound(date_from, tz, end=False, name="from") if date_from else None
    end = parse_bound(date_to, tz, end=True, name="to") if date_to else None
    if start is not None and end is not None and start >= end:
        raise ParamError("from", "from must not be after to")
    return Scope(tz, start, end, _blank_to_none(project), _blank_to_none(model), _blank_to_none(search))


def make_page(limit: int | None = None, offset: int | None = None, max_limit: int = MAX_LIMIT) -> Page:
    limit = DEFAULT_LIMIT if limit is None else limit
    offset = 0 if offset is None else offset
    if not 0 <= limit <= max_limit:
        raise ParamError("limit", f"limit must be between 0 and {max_limit}")
    if not 0 <= offset <= MAX_OFFSET:
        raise ParamError("offset", f"offset must be between 0 and {MAX_OFFSET}")
    return Page(limit, offset)


def require(value: str | None, name: str) -> str:
    """A required text parameter, stripped."""
    value = _blank_to_none(value)
    if value is None:
        raise ParamError(name, f"{name} is required")
    return value
