"""Token efficiency: cache hit rate over all prompt tokens and cache savings priced with each model's rates."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from peewee import Database

from store.monitor.efficiency import cache_savings, token_efficiency
from store.monitor.params import Scope, make_scope
from store.pricing import PriceTable, TokenCounts, cost_usd, is_long_context
from store.timezones import resolve_timezone
from tests.monitor_tree import Transcript, ingest, sample_archive

UTC = resolve_timezone("UTC")
PRICES = PriceTable.bundled()


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from sample_archive(tmp_path_factory)


def _d(x: float) -> Decimal:
    return Decimal(str(x))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    root = tmp_path_factory.mktemp("monitor-efficiency") / "claude"
    t = Transcript("c1", "/p/cache", "2026-05-01T10:00:00Z")
    t.prompt("go")
    ids = t.reply(inp=1000, out=2000, cw5=10_000, cw1=20_000, cr=100_000,
                  tools=[("Read", {"file_path": "/a"}), ("Read", {"file_path": "/b"})])
    for tid in ids:
        t.result(tid)
    t.reply(model="claude-haiku-4-5-20251001", inp=100, out=10, cr=50_000)
    t.reply(inp=10, out=10, cr=10_000, speed="fast")
    t.reply(model="claude-nova-9", inp=10, out=0, cr=1000)
    t.write(root, "cache/c1.jsonl")
    database = ingest(root, root.parent / "a.db")
    yield database
    database.close()


def test_cache_savings_by_hand() -> None:
    # opus-4-6 per MTok: input 5, 5m write 6.25, 1h write 10, read 0.50
    read, premium = cache_savings(PRICES, "claude-opus-4-6", None, None, False, (1000, 2000, 10_000, 20_000, 100_000))
    assert read == Decimal("0.45")  # 100,000 reads * (5 - 0.50)
    assert premium == Decimal("0.1125")  # 10,000 * (6.25 - 5) + 20,000 * (10 - 5)
    fast, _ = cache_savings(PRICES, "claude-opus-4-6", "fast", None, False, (0, 0, 0, 0, 10_000))
    assert fast == Decimal("0.27")  # 10,000 * 4.50 = 0.045, times 6 in fast mode
    assert cache_savings(PRICES, "claude-nova-9", None, None, False, (0, 0, 0, 0, 1000)) is None


def test_efficiency_overall_and_by_model(db: Database) -> None:
    result = token_efficiency(db, PRICES, Scope(UTC))
    prompt = (1000 + 100 + 10 + 10) + 30_000 + (100_000 + 50_000 + 10_000 + 1000)
    assert result["cache_hit_rate"] == round(161_000 / prompt, 4)
    total_tokens = 133_000 + 50_110 + 10_020 + 1010
    assert result["total_tokens"] == total_tokens and result["requests"] == 4
    assert result["avg_tokens_per_message"] == round(total_tokens / 4, 1)
    assert result["tool_calls"] == 2 and result["avg_tokens_per_tool_call"] == round(total_tokens / 2, 1)
    # reads: opus 0.45 + haiku 50,000 * (1 - 0.10) = 0.045 + fast opus 0.27; writes: 0.1125 (opus only)
    assert _d(result["read_savings_usd"]) == Decimal("0.765")
    assert _d(result["write_premium_usd"]) == Decimal("0.1125")
    assert _d(result["net_savings_usd"]) == Decimal("0.6525")
    assert result["unpriced_models"] == ["claude-nova-9"]
    models = {m["model"]: m for m in result["by_model"]}
    assert set(models) == {"claude-opus-4-6", "claude-opus-4-6-fast", "claude-haiku-4-5-20251001", "claude-nova-9"}
    assert _d(models["claude-haiku-4-5-20251001"]["read_savings_usd"]) == Decimal("0.045")
    assert _d(models["claude-opus-4-6-fast"]["read_savings_usd"]) == Decimal("0.27")
    assert models["claude-nova-9"]["read_savings_usd"] == 0 and models["claude-nova-9"]["cache_hit_rate"] > 0.9
    assert models["claude-haiku-4-5-20251001"]["cache_hit_rate"] == round(50_000 / 50_100, 4)
    assert "tool_calls" not in models["claude-opus-4-6"]


def test_savings_equal_the_bill_without_caching_minus_the_bill(samples_db: Database) -> None:
    """Net savings = every request priced with its cached tokens as plain input, minus its actual price
    (computed here request by request; the module prices summed groups)."""
    result = token_efficiency(samples_db, PRICES, Scope(UTC))
    without, actual = Decimal(0), Decimal(0)
    for model, speed, geo, inp, out, cw5, cw1, cr, web in samples_db.execute_sql(
            "SELECT model, speed, inference_geo, input_tokens, output_tokens, cache_write_5m, cache_write_1h, "
            "cache_read, web_search_requests FROM api_request WHERE model IS NOT NULL").fetchall():
        lc = is_long_context(inp, cw5 + cw1, cr)
        cost = cost_usd(PRICES, model, TokenCounts(inp, out, cw5, cw1, cr, web), speed=speed, inference_geo=geo,
                        long_context=lc)
        if cost is None:
            continue
        actual += cost
        without += cost_usd(PRICES, model, TokenCounts(inp + cw5 + cw1 + cr, out, 0, 0, 0, web), speed=speed,
                            inference_geo=geo, long_context=lc)
    assert _d(result["net_savings_usd"]) == (without - actual).quantize(Decimal("0.000001")) > 0
    assert _d(result["cost_usd"]) == actual.quantize(Decimal("0.000001"))
    assert 0 < result["cache_hit_rate"] < 1
    scoped = token_efficiency(samples_db, PRICES, make_scope(UTC, project="claude-code-log"))
    assert 0 < scoped["requests"] < result["requests"]
