"""Daily tokens per model equal ``ccusage daily --json --offline`` (ccusage 20) on every sample tree.

The one rule where we deliberately differ: usage embedded in ``progress``/``agent_progress`` lines is never
counted by Devhelion (it is a copy of a subagent's line, format notes §8). ccusage counts such a copy when the
subagent's own transcript is absent; the test computes exactly those copies and checks that they explain the
whole difference.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from store.db import open_archive
from store.ingest.runner import run_ingest
from store.pricing import PriceTable
from store.reports.usage import Filters, usage_by_period
from store.timezones import resolve_timezone
from tests.ccusage_tool import daily_by_model, find_ccusage, run_ccusage
from tests.samples import TREES, build_tree

pytestmark = pytest.mark.ccusage
FIELDS = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")


def _ours(root: Path, db_path: Path) -> dict[tuple[str, str], dict[str, int]]:
    db = open_archive(db_path)
    try:
        run_ingest(db, [root])
        periods = usage_by_period(db, "daily", Filters(tz=resolve_timezone("UTC")), PriceTable.bundled())
    finally:
        db.close()
    out = {}
    for p in periods:
        for name, u in p.models.items():
            out[(p.key, name)] = {"inputTokens": u.input_tokens, "outputTokens": u.output_tokens,
                                  "cacheCreationTokens": u.cache_creation_tokens, "cacheReadTokens": u.cache_read}
    return out


def _progress_only_usage(root: Path) -> dict[tuple[str, str], dict[str, int]]:
    """Usage that exists only as a copy inside agent_progress lines (no real assistant line has its key)."""
    real_keys: set[str] = set()
    copies: dict[str, tuple[str, str, dict]] = {}
    for path in root.rglob("*.jsonl"):
        for line in path.read_bytes().splitlines():
            try:
                entry = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(entry, dict):
                continue
            message = entry.get("message")
            if entry.get("type") == "assistant" and isinstance(message, dict) and message.get("id"):
                real_keys.add(f"{message['id']}:{entry.get('requestId')}")
            data = entry.get("data")
            if entry.get("type") == "progress" and isinstance(data, dict) and data.get("type") == "agent_progress":
                inner = data.get("message") or {}
                msg = inner.get("message") or {}
                if inner.get("type") == "assistant" and isinstance(msg.get("usage"), dict):
                    key = f"{msg.get('id')}:{inner.get('requestId')}"
                    usage = msg["usage"]
                    best = copies.get(key)
                    if best is None or usage.get("output_tokens", 0) > best[2].get("output_tokens", 0):
                        day = datetime.fromisoformat(inner["timestamp"]).astimezone(UTC).date().isoformat()
                        copies[key] = (day, msg["model"], usage)
    out: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    for key, (day, model, usage) in copies.items():
        if key in real_keys:
            continue
        row = out[(day, model)]
        row["inputTokens"] += usage.get("input_tokens", 0)
        row["outputTokens"] += usage.get("output_tokens", 0)
        row["cacheCreationTokens"] += usage.get("cache_creation_input_tokens", 0)
        row["cacheReadTokens"] += usage.get("cache_read_input_tokens", 0)
    return dict(out)


def _add(a: dict[tuple[str, str], dict[str, int]], b: dict[tuple[str, str], dict[str, int]]) -> dict:
    out = {k: dict(v) for k, v in a.items()}
    for k, v in b.items():
        row = out.setdefault(k, dict.fromkeys(FIELDS, 0))
        for f in FIELDS:
            row[f] += v[f]
    return out


@pytest.fixture(scope="module")
def ccusage_available() -> None:
    if find_ccusage() is None:
        pytest.skip("ccusage is not installed (scripts/install-ccusage installs it)")


@pytest.mark.parametrize("tree", sorted(TREES))
def test_daily_tokens_per_model_match_ccusage(tree: str, tmp_path: Path, ccusage_available: None) -> None:
    root = build_tree(tree, tmp_path / "root", claude_serialization=True)
    theirs = daily_by_model(run_ccusage(root, "daily"))
    ours = _ours(root, tmp_path / "a.db")
    assert ours, "the tree must hold priced usage, or the comparison proves nothing"
    explained = _add(ours, _progress_only_usage(root))
    assert explained == theirs


def test_all_trees_together_match_ccusage(tmp_path: Path, ccusage_available: None) -> None:
    """Dedup is global: one root holding every tree gives the same per-day figures as ccusage."""
    root = tmp_path / "root"
    for tree in TREES:
        build_tree(tree, root, claude_serialization=True)
    theirs = daily_by_model(run_ccusage(root, "daily"))
    ours = _ours(root, tmp_path / "a.db")
    assert _add(ours, _progress_only_usage(root)) == theirs
    # 58 (day, model) rows when every tree is present (counted on the samples with ccusage 20.0.24)
    assert len(theirs) == 58


def test_ccusage_skips_what_we_count_in_raw_fixtures(tmp_path: Path, ccusage_available: None) -> None:
    """Raw fixture files (``json.dumps`` spacing, microsecond timestamps) are skipped by ccusage, not by us."""
    root = build_tree("claude-code-log-fixtures", tmp_path / "root", claude_serialization=False)
    theirs = daily_by_model(run_ccusage(root, "daily"))
    ours = _ours(root, tmp_path / "a.db")
    our_total = sum(r["outputTokens"] for r in ours.values())
    their_total = sum(r["outputTokens"] for r in theirs.values())
    assert our_total > their_total
