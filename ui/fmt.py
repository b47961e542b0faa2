"""Numbers, money, durations and dates formatted for people: ``1.2M`` tokens, ``$3.40``, ``2h 05m``, ``3 min ago``.

Every page formats through here, so the same figure reads the same everywhere (a tooltip or the API gives the
exact value where it matters).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal

_UNITS = ((1_000_000_000_000, "T"), (1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k"))


def compact(n: float | int | None) -> str:
    """``950``, ``1.2k``, ``12k``, ``1.23M``: three significant digits at most, never ``1000k``."""
    if n is None:
        return "–"
    sign = "-" if n < 0 else ""
    value = abs(float(n))
    for size, unit in _UNITS:
        if value >= size * 0.9995:
            scaled = value / size
            if scaled >= 999.5 and unit != "T":
                continue
            digits = 0 if scaled >= 99.95 else 1 if scaled >= 9.995 else 2
            text = f"{scaled:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{scaled:.0f}"
            return f"{sign}{text}{unit}"
    if value == int(value):
        return f"{sign}{int(value)}"
    return f"{sign}{value:.1f}"


def tokens(n: float | None) -> str:
    """Token counts (whole tokens: a mean of 232.2 tokens is ``232``)."""
    return compact(None if n is None else round(n))


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``1 session``, ``2 sessions`` (counts with thousands separators)."""
    return f"{n:,} {noun if n == 1 else many or noun + 's'}"


def integer(n: int | None) -> str:
    """Exact count with thousands separators, for tooltips and tables where exactness matters."""
    return "–" if n is None else f"{n:,}"


def money(amount: Decimal | float | int | None, unpriced: bool = False) -> str:
    """Dollars with cents (``$1,234.56``); a positive amount under a cent is ``<$0.01``, not ``$0.00``.

    ``unpriced`` marks a lower bound (some models have no price): ``$12.30+``.
    """
    if amount is None:
        return "–"
    value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    suffix = "+" if unpriced else ""
    if 0 < value < Decimal("0.005"):
        return f"<$0.01{suffix}"
    sign = "-" if value < 0 else ""
    cents = abs(value).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"{sign}${cents:,}{suffix}"


def percent(fraction: float | None, digits: int = 1) -> str:
    """``0.1234`` -> ``12.3%``."""
    if fraction is None:
        return "–"
    return f"{fraction * 100:.{digits}f}%"


def delta(current: float, previous: float) -> tuple[str, str]:
    """Change against the previous period as text and a direction (``up``, ``down``, ``flat``, ``new``)."""
    if previous == 0:
        return ("new", "new") if current > 0 else ("no change", "flat")
    change = (current - previous) / previous
    if abs(change) < 0.0005:
        return "no change", "flat"
    arrow = "▲" if change > 0 else "▼"
    return f"{arrow} {abs(change) * 100:.0f}%", "up" if change > 0 else "down"


def duration(ms: int | float | None) -> str:
    """``850 ms``, ``12.3 s``, ``4m 05s``, ``2h 05m``, ``3d 4h``."""
    if ms is None:
        return "–"
    ms = float(ms)
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def relative(ts_ms: int | None, now_ms: int) -> str:
    """``just now``, ``5 min ago``, ``3 h ago``, ``2 days ago``."""
    if ts_ms is None:
        return "–"
    seconds = max(0, (now_ms - ts_ms) // 1000)
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min ago"
    if seconds < 48 * 3600:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} days ago"


def parse_iso_ms(text: str | None) -> int | None:
    """UTC ISO-8601 (as the store writes it) to epoch milliseconds."""
    if not text:
        return None
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def local_time(ts_ms: int | None, tz: tzinfo, with_date: bool = True) -> str:
    """``2026-03-04 14:05`` (or ``14:05:09``) in the user's zone."""
    if ts_ms is None:
        return "–"
    moment = datetime.fromtimestamp(ts_ms / 1000, tz)
    return moment.strftime("%Y-%m-%d %H:%M") if with_date else moment.strftime("%H:%M:%S")


def iso_local(text: str | None, tz: tzinfo, with_date: bool = True) -> str:
    return local_time(parse_iso_ms(text), tz, with_date)


def day_label(d: date) -> str:
    """``Mon 3 Mar 2026``."""
    return f"{d:%a} {d.day} {d:%b %Y}"


def model_label(model: str) -> str:
    """``claude-sonnet-4-5-20250929`` -> ``sonnet-4-5``: short enough for legends; the full id is in tooltips."""
    name = model.removeprefix("claude-")
    parts = name.split("-")
    if len(parts) > 1 and parts[-1].isdigit() and len(parts[-1]) == 8:
        parts = parts[:-1]
    return "-".join(parts) or model
