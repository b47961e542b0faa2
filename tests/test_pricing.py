"""Pricing: bundled table, model-id matching, exact Decimal costs (expectations computed by hand)."""

from __future__ import annotations

import json
from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import pytest

from store.pricing import (
    ModelPrice,
    PriceTable,
    TokenCounts,
    build_table,
    cost_usd,
    is_long_context,
    is_synthetic,
    micros,
    normalize_model_id,
)
from store.pricing.cost import BUNDLED_TABLE
from tests.ccusage_tool import ccusage_marginal_cost_usd

D = Decimal
SNAPSHOT = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "samples"
    / "pricing"
    / "litellm-claude-anthropic-2026-07-24.json"
)
COMMITTED = Path(__file__).resolve().parents[1] / "store" / "pricing" / "data" / BUNDLED_TABLE
MTOK = 1_000_000


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.bundled()


# --- bundled table -------------------------------------------------------------------------------


def test_bundled_json_is_reproducible_from_snapshot() -> None:
    if not SNAPSHOT.exists():
        pytest.skip("shared LiteLLM snapshot not available")
    converted = build_table.convert(build_table.load_snapshot(SNAPSHOT))
    committed_text = COMMITTED.read_text(encoding="utf-8")
    assert converted == json.loads(committed_text)
    assert build_table.render(converted) == committed_text


def test_build_main_writes_same_file(tmp_path: Path) -> None:
    if not SNAPSHOT.exists():
        pytest.skip("shared LiteLLM snapshot not available")
    out = tmp_path / "table.json"
    assert build_table.main(["--snapshot", str(SNAPSHOT), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == COMMITTED.read_text(encoding="utf-8")


def test_bundled_table_obeys_anthropic_ratios_and_corrections() -> None:
    data = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert build_table.check_rules(data) == []
    models = data["models"]
    # LiteLLM says 6 (6e-06/token) for both; Anthropic's price page: 30 and 0.50.
    assert models["claude-3-opus-20240229"]["cache_write_1h"] == "30"
    assert models["claude-3-haiku-20240307"]["cache_write_1h"] == "0.5"
    # Missing upstream -> 2 × input: 2 × 0.8 = 1.6, 2 × 15 = 30.
    assert models["claude-3-5-haiku-20241022"]["cache_write_1h"] == "1.6"
    assert models["claude-4-opus-20250514"]["cache_write_1h"] == "30"
    assert models["claude-mythos-5"] == models["claude-fable-5"]
    assert data["version"] == "litellm-2026-07-24"


def test_fast_multiplier_overrides_agree_with_litellm() -> None:
    if not SNAPSHOT.exists():
        pytest.skip("shared LiteLLM snapshot not available")
    snap = build_table.load_snapshot(SNAPSHOT)
    for key, expected in build_table.FAST_MULTIPLIER_OVERRIDES.items():
        assert snap[key]["provider_specific_entry"]["fast"] == D(expected)


def test_no_float_in_table(table: PriceTable) -> None:
    assert isinstance(table.web_search_per_1k, Decimal)
    for price in table.models.values():
        for f in fields(ModelPrice):
            value = getattr(price, f.name)
            if f.name == "geo_multipliers":
                assert all(isinstance(v, Decimal) for v in value.values())
            elif f.name == "long_context":
                if value is not None:
                    assert all(isinstance(getattr(value, n), Decimal) for n in build_table._BASE_FIELDS)
            else:
                assert isinstance(value, Decimal), f.name


# --- token classes, one per test row: 1M tokens of a single class = the per-MTok price ---------------

CLASSES = ("input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h", "cache_read")


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        # input, output, 5m write, 1h write, cache read (USD per MTok)
        ("claude-opus-4-6", ("5", "25", "6.25", "10", "0.5")),
        ("claude-sonnet-4-5-20250929", ("3", "15", "3.75", "6", "0.3")),
        ("claude-haiku-4-5-20251001", ("1", "5", "1.25", "2", "0.1")),
        ("claude-3-5-haiku-20241022", ("0.8", "4", "1", "1.6", "0.08")),
        ("claude-opus-4-1-20250805", ("15", "75", "18.75", "30", "1.5")),
        ("claude-3-haiku-20240307", ("0.25", "1.25", "0.3", "0.5", "0.03")),
        ("claude-sonnet-5", ("2", "10", "2.5", "4", "0.2")),
        ("claude-mythos-5", ("10", "50", "12.5", "20", "1")),
    ],
)
def test_each_token_class(table: PriceTable, model: str, expected: tuple[str, ...]) -> None:
    for cls, price in zip(CLASSES, expected, strict=True):
        cost = cost_usd(table, model, TokenCounts(**{cls: MTOK}))
        assert isinstance(cost, Decimal)
        assert cost == D(price), (model, cls)


def test_opus_4_6_mixed(table: PriceTable) -> None:
    t = TokenCounts(1000, 2000, 3000, 4000, 5000)
    # 1000×5 + 2000×25 + 3000×6.25 + 4000×10 + 5000×0.5 = 5000+50000+18750+40000+2500 = 116250 → /1e6
    assert cost_usd(table, "claude-opus-4-6", t) == D("0.11625")
    # fast ×6: 0.11625 × 6 = 0.6975
    assert cost_usd(table, "claude-opus-4-6", t, speed="fast") == D("0.6975")
    # us ×1.1: 0.11625 × 1.1 = 0.127875
    assert cost_usd(table, "claude-opus-4-6", t, inference_geo="us") == D("0.127875")
    # fast and us: 0.6975 × 1.1 = 0.76725
    assert cost_usd(table, "claude-opus-4-6", t, speed="fast", inference_geo="us") == D("0.76725")
    # non-us geography or standard speed: no multiplier
    assert cost_usd(table, "claude-opus-4-6", t, speed="standard", inference_geo="global") == D("0.11625")


def test_fast_multiplier_opus_4_8_and_5(table: PriceTable) -> None:
    t = TokenCounts(output_tokens=MTOK)
    # 1M output × $25 × 2
    assert cost_usd(table, "claude-opus-4-8", t, speed="fast") == D("50")
    assert cost_usd(table, "claude-opus-5", t, speed="fast") == D("50")
    # opus-4-7 ×6; the dated id carries the same multiplier
    assert cost_usd(table, "claude-opus-4-7-20260416", t, speed="fast") == D("150")


def test_geo_only_where_table_has_it(table: PriceTable) -> None:
    t = TokenCounts(input_tokens=MTOK)
    # sonnet-4-5 has no geo multiplier in the table: 1M × $3
    assert cost_usd(table, "claude-sonnet-4-5", t, inference_geo="us") == D("3")
    # sonnet-5 does: 1M × $2 × 1.1
    assert cost_usd(table, "claude-sonnet-5", t, inference_geo="us") == D("2.2")


def test_sonnet_4_5_without_long_context(table: PriceTable) -> None:
    t = TokenCounts(10_000, 2_000, 1_000, 500, 100_000)
    # 10000×3 + 2000×15 + 1000×3.75 + 500×6 + 100000×0.3 = 30000+30000+3750+3000+30000 = 96750
    assert not is_long_context(10_000, 1_500, 100_000)
    assert cost_usd(table, "claude-sonnet-4-5-20250929", t) == D("0.09675")


def test_sonnet_4_5_long_context_whole_request(table: PriceTable) -> None:
    t = TokenCounts(50_000, 4_000, 20_000, 10_000, 170_000)
    # prompt = 50000 + 20000 + 10000 + 170000 = 250000 > 200000
    assert is_long_context(50_000, 30_000, 170_000)
    # base rates: 50000×3 + 4000×15 + 20000×3.75 + 10000×6 + 170000×0.3
    #           = 150000+60000+75000+60000+51000 = 396000 → 0.396
    assert cost_usd(table, "claude-sonnet-4-5-20250929", t) == D("0.396")
    # premium for ALL tokens: 50000×6 + 4000×22.5 + 20000×7.5 + 10000×12 + 170000×0.6
    #           = 300000+90000+150000+120000+102000 = 762000 → 0.762
    assert cost_usd(table, "claude-sonnet-4-5-20250929", t, long_context=True) == D("0.762")
    # ccusage tiers each bucket marginally: every bucket ≤ 200K → all base → 0.396
    assert ccusage_marginal_cost_usd(table, "claude-sonnet-4-5-20250929", t) == D("0.396")


def test_ccusage_marginal_differs_on_large_bucket(table: PriceTable) -> None:
    t = TokenCounts(cache_read=300_000)
    # ours (long request): 300000 × 0.6 = 180000 → 0.18
    assert cost_usd(table, "claude-sonnet-4-5", t, long_context=True) == D("0.18")
    # ccusage: 200000 × 0.3 + 100000 × 0.6 = 60000 + 60000 = 120000 → 0.12
    assert ccusage_marginal_cost_usd(table, "claude-sonnet-4-5", t) == D("0.12")


def test_long_context_flag_ignored_without_tier(table: PriceTable) -> None:
    # sonnet-4-6 / opus-4-6 have flat 1M pricing: 1M input × $3
    assert cost_usd(table, "claude-sonnet-4-6", TokenCounts(input_tokens=MTOK), long_context=True) == D("3")


def test_is_long_context_threshold() -> None:
    assert not is_long_context(200_000, 0, 0)
    assert is_long_context(199_999, 1, 1)


def test_haiku_4_5_and_3_5_haiku_mixed(table: PriceTable) -> None:
    t = TokenCounts(12_345, 6_789, 1_000, 2_000, 50_000)
    # haiku-4-5: 12345×1 + 6789×5 + 1000×1.25 + 2000×2 + 50000×0.1 = 12345+33945+1250+4000+5000 = 56540
    assert cost_usd(table, "claude-haiku-4-5", t) == D("0.05654")
    # 3-5-haiku: 12345×0.8 + 6789×4 + 1000×1 + 2000×1.6 + 50000×0.08 = 9876+27156+1000+3200+4000 = 45232
    assert cost_usd(table, "claude-3-5-haiku-20241022", t) == D("0.045232")


def test_web_search(table: PriceTable) -> None:
    # $10 per 1,000 → 3 × 0.01 = 0.03, not multiplied by fast (1000 output × 25 × 6 = 0.15)
    t = TokenCounts(output_tokens=1000, web_search_requests=3)
    assert cost_usd(table, "claude-opus-4-6", t) == D("0.055")  # 0.025 + 0.03
    assert cost_usd(table, "claude-opus-4-6", t, speed="fast") == D("0.18")  # 0.15 + 0.03


def test_linear_in_tokens(table: PriceTable) -> None:
    a = TokenCounts(1, 2, 3, 4, 5, 1)
    b = TokenCounts(100_000, 7, 250_000, 0, 99, 2)
    both = TokenCounts(*(x + y for x, y in zip(_astuple(a), _astuple(b), strict=True)))
    for kw in ({}, {"long_context": True}, {"speed": "fast", "inference_geo": "us"}):
        for model in ("claude-sonnet-4-5", "claude-opus-4-6"):
            assert cost_usd(table, model, a, **kw) + cost_usd(table, model, b, **kw) == cost_usd(
                table, model, both, **kw
            )


def _astuple(t: TokenCounts) -> tuple[int, ...]:
    return tuple(getattr(t, f.name) for f in fields(TokenCounts))


def test_micros_half_even() -> None:
    assert micros(D("0.11625")) == 116_250
    assert micros(D("0.0000005")) == 0  # half → even (0)
    assert micros(D("0.0000015")) == 2  # half → even (2)
    assert micros(D("0.0000025")) == 2
    assert isinstance(micros(D("1")), int)


# --- model ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929"),
        ("claude-opus-4-6", "claude-opus-4-6"),
        ("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5-20251001"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5-20250929"),
        ("global.anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
        ("apac.anthropic.claude-3-5-haiku-20241022-v2:0", "claude-3-5-haiku-20241022"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5-20250929"),
        ("Claude-Opus-4.6", "claude-opus-4-6"),
        ("claude-3.5-haiku", "claude-3-5-haiku"),
        ("claude-sonnet-4-6[1m]", "claude-sonnet-4-6"),
    ],
)
def test_normalize_model_id(raw: str, expected: str) -> None:
    assert normalize_model_id(raw) == expected


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        # exact
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929"),
        ("claude-opus-4-6", "claude-opus-4-6"),
        # dated id with an unknown date -> undated key
        ("claude-opus-4-6-20261231", "claude-opus-4-6"),
        # undated id -> its dated key when only that exists
        ("claude-opus-4", "claude-opus-4-20250514"),
        ("claude-sonnet-4", "claude-sonnet-4-20250514"),
        ("claude-3-5-haiku", "claude-3-5-haiku-20241022"),
        # providers
        ("anthropic.claude-3-5-haiku-20241022-v1:0", "claude-3-5-haiku-20241022"),
        ("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5-20250929"),
        ("claude-opus-4-1@20250805", "claude-opus-4-1-20250805"),
        ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("openrouter/anthropic/claude-opus-4.7", "claude-opus-4-7"),
        # version-first spelling
        ("claude-4-opus-20250514", "claude-4-opus-20250514"),
        ("claude-4-6-opus", "claude-opus-4-6"),
        # boundary-aware substring, longest key wins
        ("claude-opus-4-6-fast", "claude-opus-4-6"),
        ("claude-haiku-4-5-thinking", "claude-haiku-4-5"),
    ],
)
def test_resolve(table: PriceTable, raw: str, key: str) -> None:
    assert table.resolve(raw) == key


@pytest.mark.parametrize(
    "raw",
    [
        "claude-opus-5-1",  # a new minor version must not borrow opus-5's price
        "claude-opus-4-9",
        "claude-haiku-5",  # never a sonnet/opus price for haiku
        "claude-sonnet-3",
        "sonnet",
        "gpt-4o",
        "",
        "<synthetic>",
    ],
)
def test_unpriced(table: PriceTable, raw: str) -> None:
    assert table.resolve(raw) is None
    assert table.price_for(raw) is None


def test_unknown_model_cost_is_none(table: PriceTable) -> None:
    assert cost_usd(table, "claude-opus-9", TokenCounts(input_tokens=10)) is None
    assert ccusage_marginal_cost_usd(table, "claude-opus-9", TokenCounts(input_tokens=10)) is None


def test_synthetic_is_zero_not_unpriced(table: PriceTable) -> None:
    assert is_synthetic("<synthetic>")
    assert not is_synthetic(None)
    assert not is_synthetic("claude-opus-4-6")
    cost = cost_usd(table, "<synthetic>", TokenCounts())
    assert cost == 0
    assert isinstance(cost, Decimal)


# --- user overrides and aliases ----------------------------------------------------------------------


def test_overrides_and_aliases(table: PriceTable) -> None:
    custom = table.with_overrides(
        {
            "claude-opus-4-6": {"input": "4"},
            "claude-haiku-5": {"input": 0.1, "output": 0.5},  # floats accepted, read via str
        },
        {"my-proxy-model": "claude-sonnet-4-6", "claude-opus-9": "claude-haiku-5"},
    )
    assert custom.version.startswith("litellm-2026-07-24+user-")
    assert table.price_for("claude-opus-4-6").input == D("5")  # original untouched
    # undated override also patches the dated variant; other fields keep their values
    for model in ("claude-opus-4-6", "claude-opus-4-6-20260205"):
        assert custom.price_for(model).input == D("4")
        assert custom.price_for(model).output == D("25")
    # new model: cache rates follow Anthropic's ratios: 0.1×1.25, 0.1×2, 0.1×0.1
    haiku5 = custom.price_for("claude-haiku-5")
    assert (haiku5.cache_write_5m, haiku5.cache_write_1h, haiku5.cache_read) == (
        D("0.125"),
        D("0.2"),
        D("0.01"),
    )
    # 1M input × 0.1 + 1M output × 0.5
    cost = cost_usd(custom, "claude-haiku-5", TokenCounts(input_tokens=MTOK, output_tokens=MTOK))
    assert cost == D("0.6") and isinstance(cost, Decimal)
    assert custom.resolve("my-proxy-model") == "claude-sonnet-4-6"
    assert custom.resolve("claude-opus-9") == "claude-haiku-5"
    assert table.resolve("my-proxy-model") is None


def test_override_geo_fast_long_context(table: PriceTable) -> None:
    custom = table.with_overrides(
        {"claude-sonnet-4-6": {"fast_multiplier": "3", "geo_multipliers": {"us": "1.1"}}}, {}
    )
    t = TokenCounts(input_tokens=MTOK)
    # 1M × 3 × 3 × 1.1 = 9.9
    assert cost_usd(custom, "claude-sonnet-4-6", t, speed="fast", inference_geo="us") == D("9.9")
    flat = table.with_overrides({"claude-sonnet-4-5": {"long_context": None}}, {})
    assert cost_usd(flat, "claude-sonnet-4-5", t, long_context=True) == D("3")


def test_override_validation(table: PriceTable) -> None:
    with pytest.raises(ValueError, match="unknown price fields"):
        table.with_overrides({"claude-opus-4-6": {"inptu": "1"}}, {})
    with pytest.raises(ValueError, match="input and output"):
        table.with_overrides({"claude-new": {"input": "1"}}, {})
    with pytest.raises(TypeError):
        table.with_overrides({"claude-opus-4-6": {"input": True}}, {})
    assert table.with_overrides({}, {}) is table
