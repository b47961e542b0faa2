"""Quiet hours: a local ``"HH:MM-HH:MM"`` window (it may span midnight) during which notifications wait."""

from __future__ import annotations

import re
from datetime import datetime, time, tzinfo

_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_quiet_hours(value: object) -> tuple[time, time]:
    """``(start, end)`` from ``"22:00-07:30"``; raises ValueError with what is expected."""
    match = _RANGE.match(value) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"expected local hours like '22:00-07:00', not {value!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"hours must be 00:00 … 23:59, not {value!r}")
    start, end = time(h1, m1), time(h2, m2)
    if start == end:
        raise ValueError("quiet hours must not start and end at the same time")
    return start, end


def in_quiet_hours(spec: str | None, now_ms: int, tz: tzinfo) -> bool:
    """Whether the local time of ``now_ms`` falls in ``[start, end)``; ``spec`` None means never quiet."""
    if not spec:
        return False
    start, end = parse_quiet_hours(spec)
    now = datetime.fromtimestamp(now_ms / 1000, tz).time()
    if start < end:
        return start <= now < end
    return now >= start or now < end  # spans midnight
