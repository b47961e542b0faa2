"""Build the bundled price table from a LiteLLM snapshot.

Reproducible conversion: the LiteLLM subset (USD per token, JSON floats) becomes our format (USD per
million tokens, decimal strings, so money stays exact). The JSON is committed; run this again only when a
new snapshot is taken:

    .venv/bin/python -m store.pricing.build_table \
        --snapshot ../shared/samples/pricing/litellm-claude-anthropic-2026-07-24.json \
        --out store/pricing/data/claude-prices-2026-07-24.json

Decisions made here (see notes/claude-log-format.md §14):

* Numbers are parsed with ``parse_float=Decimal`` so no binary float ever touches a price.
* Missing 1-hour cache-write prices use Anthropic's rule, 2 × input (LiteLLM omits them for some keys,
  e.g. claude-4-opus-20250514 and the Bedrock 3.5 Haiku entry). Same for the long-context 1h tier: 2 × the
  long-context input price.
* LiteLLM's 1h write price for claude-3-opus / claude-3-haiku (6e-06) contradicts Anthropic's price page
  (30 / 0.50 per MTok, i.e. 2 × input); the official values are used (``OFFICIAL_CORRECTIONS``).
* The direct-API 3.5 Haiku key is gone upstream; the Bedrock key is renamed to the direct-API id.
* Mythos 5 is not in LiteLLM; Anthropic prices it like Fable 5, so it is a copy (``COPIES``).
* Fast-mode multipliers follow ccusage's ``fast-multiplier-overrides.json`` (6 for Opus 4.6/4.7, 2 for
  Opus 4.8/5); they agree with LiteLLM's ``provider_specific_entry.fast`` in this snapshot.
* Server web search is not a token price in LiteLLM; Anthropic bills $10 per 1,000 searches.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

LONG_CONTEXT_THRESHOLD = 200_000
WEB_SEARCH_PER_1K = "10"

KEY_RENAMES = {"anthropic.claude-3-5-haiku-20241022-v1:0": "claude-3-5-haiku-20241022"}

# Anthropic price page values where LiteLLM looks wrong (1h write must be 2 × input: 2 × 15, 2 × 0.25).
OFFICIAL_CORRECTIONS: dict[str, dict[str, str]] = {
    "claude-3-opus-20240229": {"cache_write_1h": "30"},
    "claude-3-haiku-20240307": {"cache_write_1h": "0.5"},
}

# Anthropic's own (rounded) Haiku 3 cache prices: $0.30 write, $0.03 read, not 1.25× / 0.1× of $0.25.
RATIO_EXCEPTIONS = {"claude-3-haiku-20240307": ("cache_write_5m", "cache_read")}

# Models priced identically to another entry but absent from LiteLLM.
COPIES = {"claude-mythos-5": "claude-fable-5"}

# ccusage fast-multiplier-overrides.json; applied to the key and its dated variants.
FAST_MULTIPLIER_OVERRIDES = {
    "claude-opus-4-6": "6",
    "claude-opus-4-7": "6",
    "claude-opus-4-8": "2",
    "claude-opus-5": "2",
}

_MTOK = 6  # per token -> per million tokens is a decimal shift by 6 places
_BASE_FIELDS = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cache_write_5m": "cache_creation_input_token_cost",
    "cache_write_1h": "cache_creation_input_token_cost_above_1hr",
    "cache_read": "cache_read_input_token_cost",
}
_LONG_FIELDS = {
    "input": "input_cost_per_token_above_200k_tokens",
    "output": "output_cost_per_token_above_200k_tokens",
    "cache_write_5m": "cache_creation_input_token_cost_above_200k_tokens",
    "cache_write_1h": "cache_creation_input_token_cost_above_1hr_above_200k_tokens",
    "cache_read": "cache_read_input_token_cost_above_200k_tokens",
}
_DATED = re.compile(r"^(?P<base>.+)-\d{8}$")


def default_snapshot_path() -> Path:
    """The shared snapshot next to the repository (``../shared/samples/pricing``)."""
    root = Path(__file__).resolve().parents[3]
    return root / "shared" / "samples" / "pricing" / "litellm-claude-anthropic-2026-07-24.json"


def load_snapshot(path: Path) -> dict[str, Any]:
    """Read a LiteLLM subset with every JSON number as Decimal (never float)."""
    with path.open("rb") as fh:
        return json.load(fh, parse_float=Decimal, parse_int=Decimal)


def dec_str(value: Decimal) -> str:
    """Plain, minimal decimal string ("10", "0.5", "3.75") for a Decimal."""
    return format(value.normalize(), "f")


def _per_mtok(value: Any) -> Decimal:
    if not isinstance(value, Decimal):
        raise TypeError(f"expected Decimal from the snapshot, got {type(value).__name__}")
    return value.scaleb(_MTOK)


def _rates(entry: dict[str, Any], fields: dict[str, str]) -> dict[str, Decimal] | None:
    if fields["input"] not in entry:
        return None
    rates = {ours: _per_mtok(entry[theirs]) for ours, theirs in fields.items() if theirs in entry}
    missing = {"output", "cache_write_5m", "cache_read"} - rates.keys()
    if missing:
        raise ValueError(f"incomplete LiteLLM entry, missing {sorted(missing)}")
    # Anthropic: 1-hour cache writes cost 2 × the input price.
    rates.setdefault("cache_write_1h", rates["input"] * 2)
    return {name: rates[name] for name in fields}  # stable field order


def _fast_override(key: str) -> str | None:
    m = _DATED.match(key)
    return FAST_MULTIPLIER_OVERRIDES.get(key) or (m and FAST_MULTIPLIER_OVERRIDES.get(m["base"])) or None


def convert_entry(key: str, entry: dict[str, Any]) -> dict[str, Any]:
    """One LiteLLM entry -> our per-MTok entry (decimal strings)."""
    base = _rates(entry, _BASE_FIELDS)
    if base is None:
        raise ValueError(f"{key}: no input price")
    out: dict[str, Any] = {name: dec_str(v) for name, v in base.items()}
    out.update(OFFICIAL_CORRECTIONS.get(key, {}))
    long = _rates(entry, _LONG_FIELDS)
    if long is not None:
        out["long_context"] = {
            "threshold": LONG_CONTEXT_THRESHOLD,
            **{n: dec_str(v) for n, v in long.items()},
        }
    provider = entry.get("provider_specific_entry") or {}
    fast = _fast_override(key) or (dec_str(provider["fast"]) if "fast" in provider else None)
    if fast is not None:
        out["fast_multiplier"] = fast
    geo = {g: dec_str(m) for g, m in provider.items() if g != "fast"}
    if geo:
        out["geo_multipliers"] = dict(sorted(geo.items()))
    return out


def snapshot_date(snapshot: dict[str, Any]) -> str:
    m = re.search(r"last_updated (\d{4}-\d{2}-\d{2})", str(snapshot.get("_source", "")))
    if not m:
        raise ValueError("snapshot _source lacks 'last_updated YYYY-MM-DD'")
    return m.group(1)


def convert(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Whole LiteLLM subset -> bundled table dict (deterministic, keys sorted)."""
    models: dict[str, Any] = {}
    for raw_key, entry in snapshot.items():
        if raw_key.startswith("_"):
            continue
        key = KEY_RENAMES.get(raw_key, raw_key)
        models[key] = convert_entry(key, entry)
    for new, src in COPIES.items():
        models[new] = json.loads(json.dumps(models[src]))
    date = snapshot_date(snapshot)
    return {
        "version": f"litellm-{date}",
        "source": str(snapshot.get("_source", "")),
        "notes": [
            "Prices are USD per million tokens; multipliers are plain factors.",
            "cache_write_1h missing upstream = 2 x input (Anthropic rule).",
            "claude-3-opus / claude-3-haiku cache_write_1h from Anthropic's price page (LiteLLM has 6).",
            "claude-3-5-haiku-20241022 from the Bedrock key; claude-mythos-5 = claude-fable-5 prices.",
            "fast_multiplier per ccusage fast-multiplier-overrides; web search $10 per 1,000 requests.",
        ],
        "web_search_per_1k": WEB_SEARCH_PER_1K,
        "models": dict(sorted(models.items())),
    }


def render(table: dict[str, Any]) -> str:
    """Stable JSON text for the committed file."""
    return json.dumps(table, indent=2, ensure_ascii=False) + "\n"


def check_rules(table: dict[str, Any]) -> list[str]:
    """Entries that break Anthropic's ratios (5m = 1.25×, 1h = 2×, read = 0.1× input)."""
    problems = []
    for key, m in table["models"].items():
        tiers = [m] + ([m["long_context"]] if "long_context" in m else [])
        for tier in tiers:
            inp = Decimal(tier["input"])
            for name, ratio in (("cache_write_5m", "1.25"), ("cache_write_1h", "2"), ("cache_read", "0.1")):
                if name in RATIO_EXCEPTIONS.get(key, ()):
                    continue
                if Decimal(tier[name]) != inp * Decimal(ratio):
                    problems.append(f"{key}: {name}={tier[name]} != {ratio} x input {tier['input']}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshot", type=Path, default=default_snapshot_path())
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).with_name("data") / "claude-prices-2026-07-24.json"
    )
    args = parser.parse_args(argv)
    table = convert(load_snapshot(args.snapshot))
    for problem in check_rules(table):
        print(f"warning: {problem}", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(table), encoding="utf-8")
    print(f"wrote {args.out} ({len(table['models'])} models, {table['version']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
