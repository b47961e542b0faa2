"""Exact USD cost of Claude usage from a versioned price table.

Costs are never stored; they are computed at query time from token counts, so a corrected table reaches
all history. Everything is ``Decimal`` (prices are decimal strings in the JSON) — no float anywhere.

Long context: Anthropic bills a whole request at the premium rates once its prompt (input + cache writes
+ cache reads) exceeds 200K tokens, for models that have a premium tier (Sonnet 4/4.5 1M beta; 4.6+ models
have flat 1M pricing). ccusage instead tiers every token bucket separately and marginally
(first 200K of each bucket at base rate, the rest at premium); ``tests/ccusage_tool.py`` reproduces
that formula to pin down the difference.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from store.pricing.normalize import is_synthetic, match_model, normalize_model_id

__all__ = [
    "BUNDLED_TABLE",
    "LONG_CONTEXT_THRESHOLD",
    "LongContextTier",
    "ModelPrice",
    "PriceTable",
    "TokenCounts",
    "cost_usd",
    "is_long_context",
    "is_synthetic",
    "micros",
]

BUNDLED_TABLE = "claude-prices-2026-07-24.json"
LONG_CONTEXT_THRESHOLD = 200_000
RATE_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
_MTOK_SHIFT = -6  # per-MTok price × tokens, shifted 6 decimal places: exact, unlike a division
_ONE = Decimal(1)
_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class TokenCounts:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0
    web_search_requests: int = 0


@dataclass(frozen=True, slots=True)
class LongContextTier:
    """Premium per-MTok rates applied to a whole request whose prompt exceeds ``threshold``."""

    threshold: int
    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """Per-MTok USD rates of one model plus its optional premium tier and multipliers."""

    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal
    long_context: LongContextTier | None = None
    fast_multiplier: Decimal = _ONE
    geo_multipliers: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))

    def __hash__(self) -> int:  # Mapping field is not hashable; rates identify the price
        return hash((self.input, self.output, self.cache_write_5m, self.cache_write_1h, self.cache_read))

    def geo_multiplier(self, geo: str | None) -> Decimal:
        return self.geo_multipliers.get(geo.lower(), _ONE) if geo else _ONE


def _dec(value: Any, what: str) -> Decimal:
    """Decimal from a JSON/config value; floats go through ``str`` so 0.3 stays 0.3."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise TypeError(f"{what}: expected a number or decimal string, got {value!r}")
    result = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not result.is_finite() or result < 0:
        raise ValueError(f"{what}: invalid price {value!r}")
    return result


def _tier_from_json(data: Mapping[str, Any], what: str) -> LongContextTier:
    return LongContextTier(
        threshold=int(data.get("threshold", LONG_CONTEXT_THRESHOLD)),
        **{f: _dec(data[f], f"{what}.{f}") for f in RATE_FIELDS},
    )


def _price_from_json(data: Mapping[str, Any], what: str) -> ModelPrice:
    lc = data.get("long_context")
    return ModelPrice(
        **{f: _dec(data[f], f"{what}.{f}") for f in RATE_FIELDS},
        long_context=_tier_from_json(lc, f"{what}.long_context") if lc else None,
        fast_multiplier=_dec(data.get("fast_multiplier", 1), f"{what}.fast_multiplier"),
        geo_multipliers=MappingProxyType(
            {g.lower(): _dec(m, f"{what}.geo.{g}") for g, m in (data.get("geo_multipliers") or {}).items()}
        ),
    )


_OVERRIDE_FIELDS = {*RATE_FIELDS, "fast_multiplier", "geo_multipliers", "long_context"}


def _apply_override(base: ModelPrice | None, fields: Mapping[str, Any], what: str) -> ModelPrice:
    """Patch ``base`` with a user override; a new model needs input+output, cache rates then follow
    Anthropic's ratios (5m 1.25×, 1h 2×, read 0.1× input) unless given."""
    unknown = set(fields) - _OVERRIDE_FIELDS
    if unknown:
        raise ValueError(f"{what}: unknown price fields {sorted(unknown)}")
    rates = {f: _dec(fields[f], f"{what}.{f}") for f in RATE_FIELDS if f in fields}
    if base is None:
        if not {"input", "output"} <= rates.keys():
            raise ValueError(f"{what}: a model not in the price table needs at least input and output")
        inp = rates["input"]
        rates.setdefault("cache_write_5m", inp * Decimal("1.25"))
        rates.setdefault("cache_write_1h", inp * 2)
        rates.setdefault("cache_read", inp * Decimal("0.1"))
        base = ModelPrice(**rates)
    else:
        base = replace(base, **rates)
    if "fast_multiplier" in fields:
        base = replace(base, fast_multiplier=_dec(fields["fast_multiplier"], f"{what}.fast_multiplier"))
    if "geo_multipliers" in fields:
        geo = {g.lower(): _dec(m, f"{what}.geo.{g}") for g, m in dict(fields["geo_multipliers"]).items()}
        base = replace(base, geo_multipliers=MappingProxyType(geo))
    if "long_context" in fields:
        lc = fields["long_context"]
        base = replace(base, long_context=_tier_from_json(lc, f"{what}.long_context") if lc else None)
    return base


def _is_dated_variant(key: str, base: str) -> bool:
    suffix = key[len(base) + 1 :]
    return key.startswith(base + "-") and len(suffix) == 8 and suffix.isdigit()


class PriceTable:
    """Immutable, versioned model -> price mapping with lookup of log model ids.

    ``version`` is recorded next to every computed cost so reports can say which table priced them.
    """

    __slots__ = ("_aliases", "_models", "_resolved", "version", "web_search_per_1k")

    def __init__(
        self,
        version: str,
        models: Mapping[str, ModelPrice],
        web_search_per_1k: Decimal,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        self.version = version
        self.web_search_per_1k = web_search_per_1k
        self._models: Mapping[str, ModelPrice] = MappingProxyType(dict(models))
        self._aliases: Mapping[str, str] = MappingProxyType(dict(aliases or {}))
        self._resolved: dict[str, str | None] = {}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PriceTable:
        models = {key: _price_from_json(entry, key) for key, entry in data["models"].items()}
        return cls(str(data["version"]), models, _dec(data.get("web_search_per_1k", "10"), "web_search"))

    @classmethod
    def bundled(cls) -> PriceTable:
        """The dated table shipped in the package (offline, reproducible)."""
        # a plain path read (not importlib.resources): cheaper at start-up, and bundles keep package data as files
        text = (Path(__file__).resolve().parent / "data" / BUNDLED_TABLE).read_text("utf-8")
        return cls.from_json(json.loads(text))

    @property
    def models(self) -> Mapping[str, ModelPrice]:
        return self._models

    def with_overrides(
        self, overrides: Mapping[str, Mapping[str, Any]], aliases: Mapping[str, str]
    ) -> PriceTable:
        """Apply user config: ``overrides`` patch (or add) models, per-MTok values, any subset of fields;
        an override of an undated id also patches its dated variants. ``aliases`` send a log model id to
        another id. The version gets a short digest of the config so results stay attributable."""
        models = dict(self._models)
        for raw_id, fields in overrides.items():
            key = normalize_model_id(raw_id)
            targets = [k for k in models if k == key or _is_dated_variant(k, key)]
            for target in targets or [key]:
                models[target] = _apply_override(models.get(target), fields, raw_id)
        if not overrides and not aliases:
            return self
        merged_aliases = {**self._aliases, **{normalize_model_id(k): v for k, v in aliases.items()}}
        config = json.dumps([overrides, aliases], sort_keys=True, default=str)
        digest = hashlib.sha256(config.encode()).hexdigest()[:8]
        return PriceTable(f"{self.version}+user-{digest}", models, self.web_search_per_1k, merged_aliases)

    def resolve(self, model: str) -> str | None:
        """Price key for a log model id, or None (unpriced, or ``<synthetic>``)."""
        if model in self._resolved:
            return self._resolved[model]
        result = None
        if not is_synthetic(model):
            target = self._aliases.get(normalize_model_id(model)) if model else None
            result = match_model(target if target is not None else model, self._models)
        self._resolved[model] = result
        return result

    def price_for(self, model: str) -> ModelPrice | None:
        key = self.resolve(model)
        return self._models[key] if key is not None else None


def is_long_context(input_tokens: int, cache_write: int, cache_read: int) -> bool:
    """Anthropic's premium trigger: the request's prompt (input + cache writes + cache reads) > 200K."""
    return input_tokens + cache_write + cache_read > LONG_CONTEXT_THRESHOLD


def _token_cost(rates: ModelPrice | LongContextTier, t: TokenCounts) -> Decimal:
    total = (
        t.input_tokens * rates.input
        + t.output_tokens * rates.output
        + t.cache_write_5m * rates.cache_write_5m
        + t.cache_write_1h * rates.cache_write_1h
        + t.cache_read * rates.cache_read
    )
    return total.scaleb(_MTOK_SHIFT)


def cost_usd(
    table: PriceTable,
    model: str,
    tokens: TokenCounts,
    *,
    speed: str | None = None,
    inference_geo: str | None = None,
    long_context: bool = False,
) -> Decimal | None:
    """Exact USD cost, or None when the model has no price (report it as UNPRICED, never as $0).

    ``<synthetic>`` messages cost ``Decimal(0)``. With ``long_context`` (decided per request by the
    caller via ``is_long_context``) and a premium tier, *all* tokens use premium rates. Fast mode and
    the ``us`` inference geography multiply token costs; web search is billed per request, unmultiplied.
    Linear in ``tokens``, so summed tokens of one (model, speed, geo, long_context) group price exactly.
    """
    if is_synthetic(model):
        return _ZERO
    price = table.price_for(model)
    if price is None:
        return None
    rates: ModelPrice | LongContextTier = price
    if long_context and price.long_context is not None:
        rates = price.long_context
    cost = _token_cost(rates, tokens)
    if speed == "fast":
        cost *= price.fast_multiplier
    cost *= price.geo_multiplier(inference_geo)
    return cost + tokens.web_search_requests * table.web_search_per_1k / 1000


def micros(amount: Decimal) -> int:
    """Integer micro-dollars, rounded half-even (for integer storage/summing of displayed costs)."""
    return int(amount.scaleb(6).quantize(_ONE, rounding=ROUND_HALF_EVEN))
