"""The dashboard's pure parts: number formatting, the URL filter, the result cache."""

from __future__ import annotations

import threading
import time
from datetime import date
from decimal import Decimal

import pytest

from ui import fmt
from ui.cache import ResultCache
from ui.filters import CUSTOM, DEFAULT_RANGE, DashFilter


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (950, "950"), (999, "999"), (1000, "1k"), (1234, "1.23k"), (12_345, "12.3k"), (999_499, "999k"),
    (999_500, "1M"), (1_234_567, "1.23M"), (53_159_000, "53.2M"), (2_500_000_000, "2.5B"), (-1500, "-1.5k"),
    (None, "–"),
])
def test_compact_numbers(value: int | None, text: str) -> None:
    assert fmt.compact(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("0"), "$0.00"), (Decimal("0.004"), "<$0.01"), (Decimal("0.005"), "$0.01"), (Decimal("1234.5"),
                                                                                        "$1,234.50"),
    (12.345, "$12.35"), (Decimal("-3.2"), "-$3.20"), (None, "–"),
])
def test_money_has_cents(value: Decimal | float | None, text: str) -> None:
    assert fmt.money(value) == text


def test_money_marks_lower_bounds_and_deltas() -> None:
    assert fmt.money(Decimal("12.3"), unpriced=True) == "$12.30+"
    assert fmt.delta(150, 100) == ("▲ 50%", "up")
    assert fmt.delta(50, 100) == ("▼ 50%", "down")
    assert fmt.delta(5, 0) == ("new", "new")
    assert fmt.delta(0, 0) == ("no change", "flat")


def test_durations_and_labels() -> None:
    assert fmt.duration(850) == "850 ms"
    assert fmt.duration(12_300) == "12.3 s"
    assert fmt.duration(245_000) == "4m 05s"
    assert fmt.duration(2 * 3600_000 + 5 * 60_000) == "2h 05m"
    assert fmt.duration(76 * 3600_000) == "3d 4h"
    assert fmt.relative(1_000_000 - 30_000, 1_000_000) == "just now"
    assert fmt.relative(1_000_000 - 300_000, 1_000_000) == "5 min ago"
    assert fmt.model_label("claude-sonnet-4-5-20250929") == "sonnet-4-5"
    assert fmt.model_label("claude-opus-4-6-fast") == "opus-4-6-fast"
    assert fmt.percent(0.1234) == "12.3%"


def test_filter_round_trips_through_the_url() -> None:
    default = DashFilter.from_query({})
    assert default.range == DEFAULT_RANGE and default.query() == {} and default.query_string() == ""
    preset = DashFilter.from_query({"range": "7d", "project": "/home/me/app"})
    assert preset.query() == {"range": "7d", "project": "/home/me/app"}
    assert DashFilter.from_query(preset.query()) == preset
    custom = DashFilter.from_query({"from": "2026-03-09", "to": "2026-03-01"})  # swapped dates are put in order
    assert custom.range == CUSTOM and custom.dates(date(2026, 5, 1)) == (date(2026, 3, 1), date(2026, 3, 9))
    assert DashFilter.from_query(custom.query()) == custom
    assert DashFilter.from_query({"range": "bogus", "from": "not-a-date"}).range == DEFAULT_RANGE
    assert preset.url("/models") == "/models?range=7d&project=%2Fhome%2Fme%2Fapp"


def test_filter_dates_follow_today() -> None:
    today = date(2026, 3, 15)
    assert DashFilter("today").dates(today) == (today, today)
    assert DashFilter("7d").dates(today) == (date(2026, 3, 9), today)
    assert DashFilter("30d").dates(today) == (date(2026, 2, 14), today)
    assert DashFilter("mtd").dates(today) == (date(2026, 3, 1), today)
    assert DashFilter("12m").dates(today) == (date(2025, 3, 16), today)
    assert DashFilter("all").dates(today) == (None, None)
    assert DashFilter("7d", project="x").api_query(today) == {"from": "2026-03-09", "to": "2026-03-15", "project": "x"}
    assert DashFilter("all").label(today) == "All time"


def test_cache_shares_one_computation_and_expires() -> None:
    cache = ResultCache(max_entries=2, ttl_s=0.2)
    calls = []
    started = threading.Event()

    def slow() -> int:
        calls.append(1)
        started.set()
        time.sleep(0.1)
        return 42

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get_or_compute("k", slow))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [42, 42, 42] and len(calls) == 1  # concurrent callers waited for the one computation
    assert cache.get_or_compute("k", lambda: 0) == 42
    time.sleep(0.25)
    assert cache.get_or_compute("k", lambda: 7) == 7  # expired
    cache.get_or_compute("a", lambda: 1)
    cache.get_or_compute("b", lambda: 2)
    assert cache.get_or_compute("k", lambda: 9) == 9  # evicted (least recently used)
