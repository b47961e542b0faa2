"""ISO-8601 ``dateFrom``/``dateTo`` bounds as a half-open UTC millisecond range.

A bare date is a local calendar date in the archive's time zone, inclusive at both ends, exactly like
``devhelion report --since/--until``; a date-time is an instant (``Z``/offset, or local when naive), and
``dateTo`` includes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from store.timezones import format_utc_iso_ms, local_day_start_utc_ms

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?", re.IGNORECASE)
_MIN_YEAR, _MAX_YEAR = 1970, 9998
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TimeRange:
    """``[start_ms, end_ms)``; ``None`` leaves that side open."""

    start_ms: int | None = None
    end_ms: int | None = None

    def where(self, column: str) -> tuple[list[str], list[int]]:
        """SQL conditions (and parameters) keeping ``column`` inside the range."""
        conditions, params = [], []
        if self.start_ms is not None:
            conditions.append(f"{column} >= ?")
            params.append(self.start_ms)
        if self.end_ms is not None:
            conditions.append(f"{column} < ?")
            params.append(self.end_ms)
        return conditions, params

    def overlaps(self, first: str, last: str) -> tuple[list[str], list[int]]:
        """Conditions for an interval ``[first, last]`` that shares at least one instant with the range."""
        conditions, params = [], []
        if self.start_ms is not None:
            conditions.append(f"{last} >= ?")
            params.append(self.start_ms)
        if self.end_ms is not None:
            conditions.append(f"{first} < ?")
            params.append(self.end_ms)
        return conditions, params


def parse_range(date_from: str | None, date_to: str | None, tz: tzinfo) -> TimeRange:
    """Raises ``ValueError`` naming the parameter for unparseable bounds or ``dateFrom`` after ``dateTo``."""
    start = _bound(date_from, tz, end=False, name="dateFrom") if date_from else None
    end = _bound(date_to, tz, end=True, name="dateTo") if date_to else None
    if start is not None and end is not None and start >= end:
        raise ValueError("dateFrom must not be after dateTo")
    return TimeRange(start, end)


def _bound(text: str, tz: tzinfo, end: bool, name: str) -> int:
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
    raise ValueError(f"{name} must be an ISO-8601 date (YYYY-MM-DD) or date-time (YYYY-MM-DDTHH:MM:SSZ), "
                     f"got {text!r}")


def _check_year(year: int) -> None:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise ValueError("year out of range")


def iso(ts_ms: int | None) -> str | None:
    return format_utc_iso_ms(ts_ms) if ts_ms is not None else None
