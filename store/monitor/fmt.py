"""JSON shapes shared by the monitor queries: times, money, rates and token usage."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from store.reports.usage import Usage
from store.timezones import format_utc_iso_ms

_MICRO = Decimal("0.000001")


def iso(ts_ms: int | None) -> str | None:
    """UTC ISO-8601 with milliseconds (``2026-05-01T10:00:00.000Z``)."""
    return format_utc_iso_ms(ts_ms) if ts_ms is not None else None


def money(amount: Decimal) -> float:
    """Dollars as a JSON number, rounded to the micro-dollar (the exact Decimal stays in the store)."""
    return float(amount.quantize(_MICRO))


def rate(part: float, whole: float, digits: int = 4) -> float:
    """``part / whole`` rounded, 0 when there is no whole (an empty range has no rate)."""
    return round(part / whole, digits) if whole else 0.0


def usage_json(usage: Usage) -> dict[str, Any]:
    """Token counts, request count and cost; ``unpriced_models`` lists models whose cost is unknown."""
    return {
        "requests": usage.requests,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_write_5m_tokens": usage.cache_write_5m,
        "cache_write_1h_tokens": usage.cache_write_1h,
        "cache_creation_tokens": usage.cache_creation_tokens,
        "cache_read_tokens": usage.cache_read,
        "total_tokens": usage.total_tokens,
        "web_search_requests": usage.web_search_requests,
        "cost_usd": money(usage.cost),
        "unpriced_models": sorted(usage.unpriced),
    }
