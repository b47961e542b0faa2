"""Time-zone resolution and local-calendar bucketing for reports.

The store keeps integer UTC epoch milliseconds. Reports aggregate in SQL by 15-minute
UTC slot (``ts_ms // SLOT_MS``) and map slots to local dates here: every UTC offset
in use since the 1970s is a multiple of 15 minutes and transitions happen on such
boundaries, so a slot never straddles a local midnight and the mapping is exact.
(Pre-1900 "local mean time" offsets like +0:53:28 are the only exception.)

Period keys follow ccusage's JSON: daily ``YYYY-MM-DD``, monthly ``YYYY-MM``, weekly =
the ISO date of the week's first day. ccusage 20 has two weekly flavours:
``ccusage weekly`` (unified, key ``period``) always starts weeks on Monday;
``ccusage claude weekly`` (key ``week``) has ``--start-of-week`` defaulting to Sunday.
Weekdays here use Python's ``date.weekday()`` numbering (Monday=0 … Sunday=6).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SLOT_MS = 15 * 60 * 1000
DAY_MS = 24 * 60 * 60 * 1000

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)
WEEKDAY_NAMES: dict[str, int] = {
    "monday": MONDAY,
    "tuesday": TUESDAY,
    "wednesday": WEDNESDAY,
    "thursday": THURSDAY,
    "friday": FRIDAY,
    "saturday": SATURDAY,
    "sunday": SUNDAY,
}
# `ccusage weekly` (unified report) has no option and starts on Monday.
CCUSAGE_UNIFIED_START_OF_WEEK = MONDAY
# `ccusage claude weekly --start-of-week` defaults to Sunday.
CCUSAGE_CLAUDE_START_OF_WEEK = SUNDAY

PeriodKind = Literal["daily", "weekly", "monthly"]
BoundsKind = Literal["day", "week", "month"]

_UTC = ZoneInfo("UTC")


def resolve_timezone(name: str | None) -> ZoneInfo:
    """IANA zone by name; ``None``/empty means the machine's zone (tzlocal), else UTC.

    tzlocal is used because Windows reports its own zone names, not IANA ones.
    """
    if name is None or not name.strip():
        return _local_zone()
    key = name.strip()
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(
            f"Unknown time zone {name!r}: expected an IANA name such as 'UTC', "
            "'Europe/Berlin' or 'America/New_York'"
        ) from exc


def _local_zone() -> ZoneInfo:
    try:
        import tzlocal

        local_name = tzlocal.get_localzone_name()
        if local_name:
            return ZoneInfo(local_name)
    except Exception:  # tzlocal raises several types on odd setups; UTC is the documented fallback
        pass
    return _UTC


def parse_start_of_week(value: str | int) -> int:
    """Weekday number from a ccusage-style name (``sunday``…) or an int 0–6."""
    if isinstance(value, int):
        if 0 <= value <= 6:
            return value
        raise ValueError(f"start of week must be 0 (Monday) … 6 (Sunday), got {value}")
    try:
        return WEEKDAY_NAMES[value.strip().lower()]
    except KeyError:
        raise ValueError(
            f"Invalid start of week {value!r}: expected one of {', '.join(WEEKDAY_NAMES)}"
        ) from None


# --- instants -> local dates -------------------------------------------------------------


def local_date(ts_ms: int, tz: tzinfo) -> date:
    """Local calendar date of a UTC epoch-ms instant (whole seconds suffice: midnights are)."""
    return datetime.fromtimestamp(ts_ms // 1000, tz).date()


@lru_cache(maxsize=1 << 18)
def slot_local_date(slot: int, tz: tzinfo) -> date:
    """Local date of a 15-minute UTC slot (``ts_ms // SLOT_MS``); cached, called per slot."""
    return datetime.fromtimestamp(slot * (SLOT_MS // 1000), tz).date()


SLOTS_PER_DAY = DAY_MS // SLOT_MS
_PROBE_SLOTS = 48  # offsets are probed every 12 hours: no zone changes its offset twice within that


def _offset_slots(slot: int, tz: tzinfo) -> int:
    offset = datetime.fromtimestamp(slot * (SLOT_MS // 1000), tz).utcoffset()
    return int(offset.total_seconds()) // (SLOT_MS // 1000) if offset else 0


def offset_segments(tz: tzinfo, first_slot: int, last_slot: int) -> list[tuple[int, int]]:
    """``[(from_slot, offset_in_slots), ...]`` covering ``first_slot..last_slot``: the zone's UTC offset
    changes exactly at each ``from_slot`` (found by probing, then bisecting to the slot)."""
    segments = [(first_slot, _offset_slots(first_slot, tz))]
    slot = first_slot
    while slot < last_slot:
        probe = min(slot + _PROBE_SLOTS, last_slot)
        offset = _offset_slots(probe, tz)
        if offset != segments[-1][1]:
            low, high = slot, probe  # low has the old offset, high the new one
            while high - low > 1:
                mid = (low + high) // 2
                if _offset_slots(mid, tz) == segments[-1][1]:
                    low = mid
                else:
                    high = mid
            segments.append((high, offset))
        slot = probe
    return segments


def local_slot_sql(column: str, tz: tzinfo, first_slot: int, last_slot: int) -> str:
    """SQL for the local slot number (slots since local 1970-01-01 00:00) of a UTC slot column, exact across the
    offset changes between ``first_slot`` and ``last_slot``."""
    segments = offset_segments(tz, first_slot, last_slot)
    offset = str(segments[0][1])
    if len(segments) > 1:
        whens = " ".join(f"WHEN {column} < {start} THEN {previous}"
                         for (_, previous), (start, _) in pairwise(segments))
        offset = f"CASE {whens} ELSE {segments[-1][1]} END"
    return f"({column} + {offset})"


def local_day_sql(column: str, tz: tzinfo, first_slot: int, last_slot: int) -> str:
    """SQL for the local day number (days since 1970-01-01 local) of a slot column: lets SQLite group slots into
    local days."""
    return f"({local_slot_sql(column, tz, first_slot, last_slot)} / {SLOTS_PER_DAY})"


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def day_number_date(day: int) -> date:
    """The date of a local day number from :func:`local_day_sql`."""
    return date.fromordinal(_EPOCH_ORDINAL + day)


def format_utc_iso_ms(ts_ms: int) -> str:
    """``2026-02-10T21:00:00.000Z``, the form JavaScript's ``toISOString`` (and ccusage) uses."""
    dt = datetime.fromtimestamp(ts_ms // 1000, UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ts_ms % 1000:03d}Z"


# --- periods ------------------------------------------------------------------------------


def week_start(d: date, start_of_week: int) -> date:
    """First day of the week containing ``d``."""
    return d - timedelta(days=(d.weekday() - start_of_week) % 7)


def period_key(kind: PeriodKind, d: date, start_of_week: int) -> str:
    """ccusage's period key for the local date ``d``."""
    if kind == "daily":
        return d.isoformat()
    if kind == "weekly":
        return week_start(d, start_of_week).isoformat()
    if kind == "monthly":
        return f"{d.year:04d}-{d.month:02d}"
    raise ValueError(f"unknown period kind {kind!r}")


def period_first_and_next(kind: BoundsKind, d: date, start_of_week: int) -> tuple[date, date]:
    """First local date of the day/week/month containing ``d``, and the first date of the next one."""
    if kind == "day":
        return d, d + timedelta(days=1)
    if kind == "week":
        first = week_start(d, start_of_week)
        return first, first + timedelta(days=7)
    if kind == "month":
        first = d.replace(day=1)
        nxt = date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)
        return first, nxt
    raise ValueError(f"unknown period kind {kind!r}")


def local_day_start_utc_ms(d: date, tz: tzinfo) -> int:
    """First UTC instant whose local date is ``d`` (handles midnights skipped by DST)."""
    naive = datetime.combine(d, time(0))
    candidates = [int(naive.replace(tzinfo=tz, fold=fold).timestamp()) * 1000 for fold in (0, 1)]
    lo, hi = min(candidates), max(candidates)
    if local_date(lo, tz) >= d:
        return lo
    # Midnight falls in a DST gap: the day starts at the transition, somewhere in (lo, hi].
    while hi - lo > 1000:
        mid = (lo + hi) // 2 // 1000 * 1000
        if mid <= lo:
            break
        if local_date(mid, tz) >= d:
            hi = mid
        else:
            lo = mid
    return hi


def period_bounds_utc_ms(kind: BoundsKind, d: date, tz: tzinfo, start_of_week: int) -> tuple[int, int]:
    """Half-open ``[start, end)`` in UTC ms of the local day/week/month containing ``d``.

    Computed from local midnights, so DST days come out 23 or 25 hours long.
    """
    first, nxt = period_first_and_next(kind, d, start_of_week)
    return local_day_start_utc_ms(first, tz), local_day_start_utc_ms(nxt, tz)


def date_range_utc_ms(since: date | None, until: date | None, tz: tzinfo) -> tuple[int | None, int | None]:
    """UTC bounds ``[start, end)`` for inclusive local ``--since``/``--until`` dates."""
    start = local_day_start_utc_ms(since, tz) if since is not None else None
    end = local_day_start_utc_ms(until + timedelta(days=1), tz) if until is not None else None
    return start, end


_COMPACT_RE = re.compile(r"\d{8}")
_ISO_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date_arg(s: str) -> date:
    """Parse a ``--since``/``--until`` value: ``YYYYMMDD`` (ccusage) or ``YYYY-MM-DD``."""
    text = s.strip()
    try:
        if _COMPACT_RE.fullmatch(text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if _ISO_RE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"Invalid date {s!r}: expected YYYY-MM-DD or YYYYMMDD")
