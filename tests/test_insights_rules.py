"""Each insight rule on crafted archives: one history that must trigger it (with the exact value), one that must not."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from store.cache_expiry import cache_expiry_waste
from store.insights.base import money
from store.insights.rules import (
    cache_drop,
    cache_expiry,
    compactions,
    day_anomaly,
    expensive_sessions,
    session_spike,
    subagent_storm,
    tool_errors,
    unpriced_model,
)
from store.pricing import TokenCounts, cost_usd, is_long_context
from tests.insight_archive import DAY, HOUR, MINUTE, NOW, SONNET, Crafted


@pytest.fixture
def arc(tmp_path: Path) -> Iterator[Crafted]:
    crafted = Crafted(tmp_path)
    yield crafted
    crafted.close()


# -- token and cost spikes ------------------------------------------------------------------------------

def _sessions(arc: Crafted, baseline: int, recent_tokens: int, recent: int = 5) -> None:
    for i in range(baseline):  # 10,000 tokens each, days 30 .. 8 ago
        arc.request(arc.session(), NOW - (30 - i) * DAY, input_tokens=9_900, output=100)
    for i in range(recent):
        arc.request(arc.session(), NOW - (5 - i) * HOUR, input_tokens=recent_tokens - 100, output=100)


def test_session_spike_triggers_on_tokens_and_cost(arc: Crafted) -> None:
    _sessions(arc, baseline=12, recent_tokens=20_000)
    findings = {f.subject: f for f in session_spike.evaluate(arc.context())}
    tokens = findings["sessions:tokens"]
    assert tokens.title == "High Token Usage Detected" and tokens.value == "20,000 tokens"
    assert tokens.description.startswith("Your last 5 sessions used 100% more tokens than average")
    assert (tokens.type, tokens.category, tokens.period) == ("trend", "performance", "day:2026-03-16")
    cost = findings["sessions:cost"]
    per_session = cost_usd(arc.prices, SONNET, TokenCounts(input_tokens=19_900, output_tokens=100))
    assert cost.value == money(per_session) and cost.category == "cost"


def test_session_spike_quiet_below_threshold_or_without_baseline(arc: Crafted, tmp_path: Path) -> None:
    _sessions(arc, baseline=12, recent_tokens=12_000)  # 20 % more: under the 30 % threshold
    assert session_spike.evaluate(arc.context()) == []
    fresh = Crafted(tmp_path / "new")
    try:
        _sessions(fresh, baseline=4, recent_tokens=50_000)  # a new user: too few earlier sessions to compare
        assert session_spike.evaluate(fresh.context()) == []
    finally:
        fresh.close()


# -- day anomalies --------------------------------------------------------------------------------------

def _days(arc: Crafted, yesterday_tokens: int, active_days: int = 20) -> None:
    sid = arc.session()
    for back in range(2, 2 + active_days):
        arc.request(sid, NOW - back * DAY, input_tokens=90_000 if back % 2 else 110_000, output=0)
    arc.request(sid, NOW - DAY, input_tokens=yesterday_tokens, output=0)


def test_day_anomaly_triggers_beyond_two_sigma(arc: Crafted) -> None:
    _days(arc, yesterday_tokens=500_000)
    [finding] = day_anomaly.evaluate(arc.context())
    assert finding.period == "day:2026-03-15" and finding.value == "500,000 tokens"
    assert finding.type == "anomaly" and "standard deviations above your average of 100,000" in finding.description


def test_day_anomaly_quiet_within_two_sigma_or_short_history(arc: Crafted, tmp_path: Path) -> None:
    _days(arc, yesterday_tokens=115_000)
    assert day_anomaly.evaluate(arc.context()) == []
    short = Crafted(tmp_path / "short")
    try:
        _days(short, yesterday_tokens=900_000, active_days=5)  # fewer than 7 active days to compare with
        assert day_anomaly.evaluate(short.context()) == []
    finally:
        short.close()


# -- cache hit rate -------------------------------------------------------------------------------------

def _cache(arc: Crafted, recent_read: int, recent_write: int, volume: int = 1) -> None:
    sid = arc.session()
    for back in range(9, 30):
        arc.request(sid, NOW - back * DAY, input_tokens=0, cw5=100_000 * volume, read=900_000 * volume)
    for back in range(1, 6):
        arc.request(sid, NOW - back * DAY, input_tokens=0, cw5=recent_write * volume, read=recent_read * volume)


def test_cache_hit_drop_triggers(arc: Crafted) -> None:
    _cache(arc, recent_read=400_000, recent_write=600_000)
    [finding] = cache_drop.evaluate(arc.context())
    assert finding.value == "40%" and "down from 90%" in finding.description and finding.period == "week:2026-03-16"


def test_cache_hit_drop_quiet_on_small_drop_or_volume(arc: Crafted, tmp_path: Path) -> None:
    _cache(arc, recent_read=850_000, recent_write=150_000)  # 85 %: a 5-point dip
    assert cache_drop.evaluate(arc.context()) == []
    tiny = Crafted(tmp_path / "tiny")
    try:
        _cache(tiny, recent_read=0, recent_write=1, volume=0)  # no volume at all
        assert cache_drop.evaluate(tiny.context()) == []
    finally:
        tiny.close()


# -- cache-expiry waste ---------------------------------------------------------------------------------

def test_cache_expiry_waste_in_dollars(arc: Crafted) -> None:
    sid = arc.session()
    t = NOW - 2 * DAY
    arc.request(sid, t, cw5=200_000)
    arc.request(sid, t + MINUTE, cw5=5_000, read=200_000)  # warm
    arc.request(sid, t + 20 * MINUTE, cw5=210_000)  # 19 idle minutes: the cache expired, all written again
    [finding] = cache_expiry.evaluate(arc.context())
    price = arc.prices.price_for(SONNET)
    assert price is not None
    expected = (price.cache_write_5m - price.cache_read) * 205_000 / 1_000_000  # capped at what had been cached
    assert finding.value == money(expected) and finding.data["times"] == 1
    assert finding.data["rewritten_tokens"] == 205_000 and (finding.type, finding.category) == ("tip", "cost")


def test_the_insight_and_the_efficiency_page_count_the_same_waste(arc: Crafted) -> None:
    sid = arc.session()
    t = NOW - 3 * DAY
    arc.request(sid, t, cw5=200_000)
    arc.request(sid, t + 20 * MINUTE, cw5=200_000)  # expired after 20 idle minutes: waste
    arc.request(sid, t + 2 * DAY, cw5=300_000)  # back two days later: a new start, waste for neither
    ctx = arc.context()
    [finding] = cache_expiry.evaluate(ctx)
    page = cache_expiry_waste(ctx.conn, ctx.prices, ctx.tz, ctx.days_ago(7), ctx.now_ms + 1)
    assert (finding.data["times"], finding.data["rewritten_tokens"]) == (page.times, page.rewritten_tokens) == (
        1, 200_000)
    assert finding.data["waste_usd"] == str(page.waste_usd.quantize(Decimal("0.000001")))


def test_cache_expiry_quiet_within_the_ttl(arc: Crafted) -> None:
    sid = arc.session()
    t = NOW - 2 * DAY
    arc.request(sid, t, cw5=200_000)
    arc.request(sid, t + 4 * MINUTE, cw5=5_000, read=200_000)  # 4 minutes: still warm
    arc.request(sid, t + 40 * MINUTE, cw1=210_000)  # 36 minutes is within a 1-hour cache's lifetime
    other = arc.session()
    arc.request(other, t, cw5=200_000)
    arc.request(other, t + 30 * MINUTE, cw5=200_000, agent_id="agent-x")  # another thread: its own first write
    assert cache_expiry.evaluate(arc.context()) == []


# -- tool error-rate jump -------------------------------------------------------------------------------

def _tool_calls(arc: Crafted, recent_errors: int, recent_other: str = "ok") -> None:
    sid = arc.session()
    for i in range(20):
        arc.tool(sid, NOW - (10 + i) * DAY, "Bash", "error" if i == 0 else "ok")
        arc.tool(sid, NOW - (i + 1) * (DAY // 4), "Bash", "error" if i < recent_errors else recent_other)


def test_tool_error_jump_triggers(arc: Crafted) -> None:
    _tool_calls(arc, recent_errors=8)
    [finding] = tool_errors.evaluate(arc.context())
    assert finding.subject == "tool:Bash" and finding.value == "40% errors"
    assert "8 of 20 calls (40%)" in finding.description and "up from 5% (1 of 20)" in finding.description


def test_tool_error_jump_quiet_on_small_rise_and_rejections(arc: Crafted, tmp_path: Path) -> None:
    _tool_calls(arc, recent_errors=2)
    assert tool_errors.evaluate(arc.context()) == []
    rejected = Crafted(tmp_path / "rejected")
    try:
        _tool_calls(rejected, recent_errors=2, recent_other="rejected")  # the user said no: not a failure
        assert tool_errors.evaluate(rejected.context()) == []
    finally:
        rejected.close()


# -- unpriced models ------------------------------------------------------------------------------------

def test_unpriced_model_triggers(arc: Crafted) -> None:
    sid = arc.session()
    arc.request(sid, NOW - DAY, model="claude-nova-1-preview", input_tokens=1_000, output=234)
    arc.request(sid, NOW - DAY, model=SONNET)
    [finding] = unpriced_model.evaluate(arc.context())
    assert finding.subject == "model:claude-nova-1-preview" and finding.value == "1,234 tokens unpriced"
    assert finding.period == "all" and "price_overrides" in finding.description


def test_unpriced_model_quiet_for_priced_and_synthetic(arc: Crafted) -> None:
    sid = arc.session()
    arc.request(sid, NOW - DAY, model=SONNET)
    arc.request(sid, NOW - DAY, model="<synthetic>", input_tokens=0, output=0)
    arc.request(sid, NOW - DAY, model="claude-opus-4-6")
    assert unpriced_model.evaluate(arc.context()) == []


# -- subagent storms ------------------------------------------------------------------------------------

def test_subagent_fanout_storm(arc: Crafted) -> None:
    sid = arc.session()
    agents = [arc.subagent(sid, NOW - DAY + i * 30_000) for i in range(8)]  # 8 agents in 3.5 minutes
    arc.request(sid, NOW - DAY, input_tokens=500, output=0, agent_id=agents[0])
    [finding] = subagent_storm.evaluate(arc.context())
    assert finding.subject == f"session:{sid}" and finding.value == "8 agents in 4 min"
    assert finding.data["tokens"] == 500 and finding.period == "day:2026-03-15"


def test_subagent_deep_nesting(arc: Crafted) -> None:
    sid = arc.session()
    first = arc.subagent(sid, NOW - DAY)
    second = arc.subagent(sid, NOW - DAY + MINUTE, spawned_by=first)
    arc.subagent(sid, NOW - DAY + 2 * MINUTE, spawned_by=second)
    [finding] = subagent_storm.evaluate(arc.context())
    assert finding.value == "3 levels deep" and finding.data["max_depth"] == 3


def test_subagent_storm_quiet_when_spread_out_and_shallow(arc: Crafted) -> None:
    sid = arc.session()
    for i in range(8):  # one every 7.5 minutes: at most 2 within any 10 minutes
        arc.subagent(sid, NOW - DAY + i * 450_000)
    parent = arc.subagent(sid, NOW - 2 * DAY)
    arc.subagent(sid, NOW - 2 * DAY + MINUTE, spawned_by=parent)  # two levels only
    assert subagent_storm.evaluate(arc.context()) == []


# -- compactions ----------------------------------------------------------------------------------------

def test_frequent_compactions(arc: Crafted) -> None:
    sid = arc.session()
    for i in range(3):
        arc.compaction(sid, NOW - DAY + i * 20 * MINUTE)
    [finding] = compactions.evaluate(arc.context())
    assert finding.subject == f"session:{sid}" and finding.value == "3 compactions" and "40 min" in finding.description


def test_compactions_quiet_when_few_micro_or_old(arc: Crafted) -> None:
    few, micro, old = arc.session(), arc.session(), arc.session()
    for i in range(2):
        arc.compaction(few, NOW - DAY + i * MINUTE)
    for i in range(5):
        arc.compaction(micro, NOW - DAY + i * MINUTE, kind="microcompact")
        arc.compaction(old, NOW - 10 * DAY + i * MINUTE)
    assert compactions.evaluate(arc.context()) == []


# -- most expensive sessions of the week ----------------------------------------------------------------

def test_expensive_sessions_of_last_week(arc: Crafted) -> None:
    last_week = NOW - 7 * DAY  # Monday of the last complete week
    costs = {}
    for tokens in (1_000_000, 3_000_000, 2_000_000, 500_000):
        sid = arc.session()
        arc.request(sid, last_week + DAY, input_tokens=tokens, output=0)
        costs[sid] = cost_usd(arc.prices, SONNET, TokenCounts(input_tokens=tokens),  # whole request at long-context
                              long_context=is_long_context(tokens, 0, 0))        # rates when over 200k
    arc.request(arc.session(), NOW - HOUR, input_tokens=50_000_000, output=0)  # this week: not last week's
    [finding] = expensive_sessions.evaluate(arc.context())
    ranked = sorted(costs.values(), reverse=True)
    assert finding.period == "week:2026-03-09" and finding.value == money(ranked[0])
    assert finding.description.startswith("Week of 2026-03-09: 1. shop/") and "over 4 sessions" in finding.description
    assert [Decimal(s["cost_usd"]) for s in finding.data["sessions"]] == [c.quantize(Decimal("0.000001"))
                                                                         for c in ranked[:3]]


def test_expensive_sessions_quiet_without_last_week(arc: Crafted) -> None:
    arc.request(arc.session(), NOW - HOUR, input_tokens=5_000_000, output=0)
    arc.request(arc.session(), NOW - 20 * DAY, input_tokens=5_000_000, output=0)
    assert expensive_sessions.evaluate(arc.context()) == []
