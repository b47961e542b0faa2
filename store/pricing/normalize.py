"""Map model ids as they appear in logs onto price-table keys.

Logs carry direct-API ids (``claude-sonnet-4-5-20250929``, ``claude-opus-4-6``) but proxies and cloud
providers add prefixes/suffixes (Bedrock ``us.anthropic.…-v1:0``, Vertex ``…@20250929``, OpenRouter
``anthropic/claude-sonnet-4.5``). Lookup follows ccusage's ``find_entry`` order (exact, normalised key,
boundary-aware substring, longest key wins) with one safety rule on top: a key never matches an id that
continues with another version number, so ``claude-opus-5`` does not price a future ``claude-opus-5-1``
(Opus 4.5 cost a third of Opus 4.1 — guessing a sibling's price is worse than reporting "unpriced").
"""

from __future__ import annotations

import re
from collections.abc import Collection

SYNTHETIC = "<synthetic>"

_PROVIDER_PREFIX = re.compile(r"^(?:(?:us|eu|apac|global)\.)?anthropic\.")
_BEDROCK_SUFFIX = re.compile(r"-v\d+(?::\d+)?$")
_VERTEX_DATE = re.compile(r"@(\d{8})$")
_VERTEX_TAG = re.compile(r"@(?:latest|default)$")
_BRACKET_SUFFIX = re.compile(r"\[[^\]]*\]$")  # Claude Code's "sonnet[1m]"-style context hint
_VERSION_DOT = re.compile(r"(?<=\d)\.(?=\d)")
_DATED = re.compile(r"^(?P<base>.+)-(?P<date>\d{8})$")
_FAMILY_FIRST = re.compile(
    r"^claude-(?P<family>opus|sonnet|haiku|fable|mythos)-(?P<ver>\d+(?:-\d(?!\d))?)(?P<rest>-.*)?$"
)
_VERSION_FIRST = re.compile(
    r"^claude-(?P<ver>\d+(?:-\d(?!\d))?)-(?P<family>opus|sonnet|haiku|fable|mythos)(?P<rest>-.*)?$"
)
# After a matched key, the id may continue with a date or a tag ("-fast"), not a version ("-1", "-5-…").
_VERSION_CONTINUATION = re.compile(r"^-\d{1,2}(?:-|$)")


def is_synthetic(model: str | None) -> bool:
    """``<synthetic>`` marks client-generated messages (errors, interrupts): zero cost, never unpriced."""
    return model is not None and model.strip() == SYNTHETIC


def normalize_model_id(raw: str) -> str:
    """Canonical spelling of a log model id (lowercase, no provider decoration, ``-`` in versions)."""
    model = raw.strip().lower()
    model = model.rsplit("/", 1)[-1]  # "anthropic/…", "vertex_ai/…", Bedrock ARNs "…/us.anthropic.…"
    model = _PROVIDER_PREFIX.sub("", model)
    model = _BRACKET_SUFFIX.sub("", model)
    model = _BEDROCK_SUFFIX.sub("", model)
    model = _VERTEX_DATE.sub(r"-\1", model)
    model = _VERTEX_TAG.sub("", model)
    return _VERSION_DOT.sub("-", model)


def _swapped(model: str) -> str | None:
    """``claude-4-6-opus`` <-> ``claude-opus-4-6`` (LiteLLM and third parties use both orders)."""
    for pattern in (_VERSION_FIRST, _FAMILY_FIRST):
        m = pattern.match(model)
        if m:
            if pattern is _VERSION_FIRST:
                head = f"claude-{m['family']}-{m['ver']}"
            else:
                head = f"claude-{m['ver']}-{m['family']}"
            return head + (m["rest"] or "")
    return None


def _date_variant(model: str, keys: Collection[str]) -> str | None:
    """Dated id -> undated key, or undated id -> its (latest) dated key."""
    m = _DATED.match(model)
    base = m["base"] if m else model
    if m and base in keys:
        return base
    dated = [k for k in keys if (d := _DATED.match(k)) and d["base"] == base]
    return max(dated) if dated else None


def _boundary_match(model: str, keys: Collection[str]) -> str | None:
    """Longest key occurring in ``model`` on ``-`` boundaries and not followed by a version number."""
    best: str | None = None
    for key in keys:
        start = model.find(key)
        while start != -1:
            end = start + len(key)
            before_ok = start == 0 or model[start - 1] == "-"
            after = model[end:]
            after_ok = (not after or after[0] == "-") and not _VERSION_CONTINUATION.match(after)
            if before_ok and after_ok:
                if best is None or (len(key), key) > (len(best), best):
                    best = key
                break
            start = model.find(key, start + 1)
    return best


def match_model(raw: str, keys: Collection[str]) -> str | None:
    """Price key for ``raw`` among ``keys`` or None (unpriced). ``<synthetic>`` is never matched."""
    if not raw or is_synthetic(raw):
        return None
    model = normalize_model_id(raw)
    if not model:
        return None
    candidates = [model]
    if (swapped := _swapped(model)) is not None:
        candidates.append(swapped)
    for stage in (lambda c: c if c in keys else None, lambda c: _date_variant(c, keys)):
        for candidate in candidates:
            if (hit := stage(candidate)) is not None:
                return hit
    for candidate in candidates:
        if (hit := _boundary_match(candidate, keys)) is not None:
            return hit
    return None
