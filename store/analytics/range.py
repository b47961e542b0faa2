"""ISO-8601 ``dateFrom``/``dateTo`` bounds as a half-open UTC millisecond range.

A bare date is a local calendar date in the archive's time zone, inclusive at both ends, exactly like
``devhelion report --since/--until``; a date-time is an instant (``Z``/offset, or local when naive), and
``dateTo`` includes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from store.monitor.params import parse_bound
from store.timezones import format_utc_iso_ms


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
    """Raises ``ValueError`` naming the parameter for unparseable bounds (the monitor API's parser: one grammar
    for both APIs) or ``dateFrom`` after ``dateTo``."""
    start = parse_bound(date_from, tz, end=False, name="dateFrom") if date_from else None
    end = parse_bound(date_to, tz, end=True, name="dateTo") if date_to else None
    if start is not None and end is not None and start >= end:
        raise ValueError("dateFrom must not be after dateTo")
    return TimeRange(start, end)


def iso(ts_ms: int | None) -> str | None:
    return format_utc_iso_ms(ts_ms) if ts_ms is not None else None
