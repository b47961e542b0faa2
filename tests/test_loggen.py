"""The synthetic log generator must be reproducible, complete and *right*: its manifest is the
ground truth the ingester's exactness tests compare against, so it is checked here against an
independent re-parse and against ccusage 20, the reference peer."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import orjson
import pytest

from bench import loggen
from tests.ccusage_tool import daily_by_model, find_ccusage, run_ccusage

SIZE_MB = 2.0


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("loggen") / "cfg"
    manifest = loggen.generate(out, size_mb=SIZE_MB, seed=1)
    return out, manifest


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _records(root: Path):
    """(path, parsed object) for every well-formed JSON-object line of every transcript."""
    for path in sorted((root / "projects").rglob("*.jsonl")):
        for raw in path.read_bytes().splitlines():
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                yield path, obj


def test_same_seed_same_bytes(tree: tuple[Path, dict], tmp_path: Path) -> None:
    root, _ = tree
    again = tmp_path / "again"
    loggen.generate(again, size_mb=SIZE_MB, seed=1)
    assert _snapshot(again) == _snapshot(root)
    other = tmp_path / "other"
    loggen.generate(other, size_mb=SIZE_MB, seed=2)
    assert _snapshot(other) != _snapshot(root)


def test_size_and_time_window(tree: tuple[Path, dict]) -> None:
    root, m = tree
    on_disk = sum(p.stat().st_size for p in (root / "projects").rglob("*") if p.is_file())
    assert on_disk == m["bytes"]
    assert abs(on_disk - SIZE_MB * 1e6) < max(0.1 * SIZE_MB * 1e6, 500_000)
    assert m["files"] == sum(1 for p in (root / "projects").rglob("*") if p.is_file())
    assert m["window"]["max_timestamp"] < loggen.END.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert (root / "manifest.json").exists()


def test_tree_has_every_layout(tree: tuple[Path, dict]) -> None:
    root, m = tree
    files = [p.relative_to(root / "projects").as_posix() for p in (root / "projects").rglob("*") if p.is_file()]
    uuid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert any(re.fullmatch(rf"[^/]+/{uuid}\.jsonl", f) for f in files)
    assert any(re.fullmatch(r"[^/]+/agent-[0-9a-f]{8}\.jsonl", f) for f in files), "2.0.x sibling agent"
    assert any(re.fullmatch(rf"[^/]+/{uuid}/subagents/agent-a?[0-9a-f]+\.jsonl", f) for f in files), "2.1.x"
    assert any(re.fullmatch(rf"[^/]+/{uuid}/subagents/agent-acompact-[0-9a-f]{{6}}\.jsonl", f) for f in files)
    assert any(re.fullmatch(rf"[^/]+/{uuid}/subagents/workflows/wf_\w+/agent-a[0-9a-f]+\.jsonl", f) for f in files)
    assert any(f.endswith(".meta.json") for f in files)
    assert any((root / "projects" / f).stat().st_size == 0 for f in files), "zero-byte session file"

    kinds: set[str] = set()
    uuid_files: dict[str, set[Path]] = defaultdict(set)
    for path, o in _records(root):
        t = o.get("type")
        if t == "system":
            kinds.add(f"system/{o.get('subtype')}")
        elif t == "progress":
            kinds.add(f"progress/{o['data'].get('type')}")
        else:
            kinds.add(t)
        if o.get("isSidechain") and "agentId" not in o and t == "assistant":
            kinds.add("inline-sidechain")
        data = o.get("data") or {}
        if data.get("type") == "agent_progress" and "usage" in data["message"].get("message", {}):
            kinds.add("embedded-usage")
        if t == "user" and any(isinstance(b, dict) and b.get("is_error") for b in o["message"]["content"]
                               if isinstance(o["message"]["content"], list)):
            kinds.add("tool-error")
        if t == "assistant" and o["message"].get("usage", {}).get("speed") == "fast":
            kinds.add("fast")
        if "uuid" in o and "/subagents/" not in str(path) and not path.name.startswith("agent-"):
            uuid_files[o["uuid"]].add(path)
    expected = {"user", "assistant", "summary", "file-history-snapshot", "system/compact_boundary",
                "system/turn_duration", "progress/agent_progress", "progress/hook_progress", "inline-sidechain",
                "embedded-usage", "tool-error", "fast", "queue-operation"}
    assert expected <= kinds, expected - kinds
    assert any(len(v) > 1 for v in uuid_files.values()), "a resumed session replays earlier lines"
    c = m["counts"]
    assert c["malformed_truncated"] and c["malformed_nonobject"] and c["malformed_binary"]
    assert c["straddling_responses"] >= 1
    assert m["excluded"]["synthetic_responses"] >= 1
    models = {r["model"] for r in m["daily"]}
    assert {loggen.MODEL_OPUS, loggen.MODEL_HAIKU} <= models
    assert loggen.MODEL_SYNTHETIC not in models


def test_split_responses_and_manifest_match_independent_reparse(tree: tuple[Path, dict]) -> None:
    """Re-derive the totals the way a correct ingester must (dedup by message.id+requestId, keep the
    largest usage, ignore progress copies): this checks the generator's own bookkeeping."""
    root, m = tree
    groups: dict[tuple[str, str], list[tuple[str, str, dict]]] = defaultdict(list)
    seen_uuid: set[str] = set()
    for _, o in _records(root):
        if o.get("type") != "assistant" or o["uuid"] in seen_uuid:
            continue
        seen_uuid.add(o["uuid"])
        msg = o["message"]
        if msg["model"] == loggen.MODEL_SYNTHETIC:
            continue
        groups[(msg["id"], o["requestId"])].append((o["timestamp"], msg["model"], msg["usage"]))
    totals: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0] * 6)
    for lines in groups.values():
        first = lines[0][2]
        outs = [u["output_tokens"] for _, _, u in lines]
        assert outs == sorted(outs) and (len(outs) == 1 or outs[-1] > outs[-2])
        for _, _, u in lines:
            assert (u["input_tokens"], u["cache_creation_input_tokens"], u["cache_read_input_tokens"]) == (
                first["input_tokens"], first["cache_creation_input_tokens"], first["cache_read_input_tokens"])
        ts, model, u = lines[-1]
        day = datetime.fromisoformat(ts.replace("Z", "+00:00")).strftime("%Y-%m-%d")
        cc = u.get("cache_creation") or {}
        row = totals[(day, model, u.get("speed", "standard"))]
        for i, v in enumerate((u["input_tokens"], u["output_tokens"],
                               cc.get("ephemeral_5m_input_tokens", u["cache_creation_input_tokens"]),
                               cc.get("ephemeral_1h_input_tokens", 0), u["cache_read_input_tokens"], 1)):
            row[i] += v
    want = {(r["date"], r["model"], r["speed"]): [r["input_tokens"], r["output_tokens"], r["cache_creation_5m_tokens"],
                                                  r["cache_creation_1h_tokens"], r["cache_read_tokens"], r["responses"]]
            for r in m["daily"]}
    assert dict(totals) == want
    assert m["totals"]["responses"] == len(groups)


@pytest.mark.ccusage
def test_ccusage_daily_equals_manifest(tree: tuple[Path, dict]) -> None:
    """ccusage names fast-mode rows '<model>-fast' and drops <synthetic> from the model breakdown."""
    if find_ccusage() is None:
        pytest.skip("ccusage 20 not installed (run scripts/install-ccusage)")
    root, m = tree
    got = daily_by_model(run_ccusage(root, "claude", "daily", timezone="UTC"))
    want: dict[tuple[str, str], dict[str, int]] = {}
    for r in m["daily"]:
        name = r["model"] + ("-fast" if r["speed"] == "fast" else "")
        w = want.setdefault((r["date"], name), dict.fromkeys(
            ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens"), 0))
        w["inputTokens"] += r["input_tokens"]
        w["outputTokens"] += r["output_tokens"]
        w["cacheCreationTokens"] += r["cache_creation_tokens"]
        w["cacheReadTokens"] += r["cache_read_tokens"]
    assert got == want


def test_append_turn(tree: tuple[Path, dict], tmp_path: Path) -> None:
    root, _ = tree
    src = max((p for p in (root / "projects").glob("*/*.jsonl") if not p.name.startswith("agent-")),
              key=lambda p: p.stat().st_size)
    a, b = tmp_path / src.name, tmp_path / "copy.jsonl"
    a.write_bytes(src.read_bytes())
    b.write_bytes(src.read_bytes())
    before = a.stat().st_size
    loggen.append_turn(a, seed=7)
    loggen.append_turn(b, seed=7)
    assert a.read_bytes() == b.read_bytes(), "deterministic"
    new = [orjson.loads(x) for x in a.read_bytes()[before:].splitlines()]
    assert new[0]["type"] == "user" and isinstance(new[0]["message"]["content"], str)
    asst = [o for o in new if o["type"] == "assistant"]
    assert len(asst) >= 2 and len({(o["message"]["id"], o["requestId"]) for o in asst}) == 1
    old = [o for p, o in _records(root) if p == src]
    assert {o["sessionId"] for o in new if "sessionId" in o} == {old[-1]["sessionId"]}
    old_ts = max(o["timestamp"] for o in old if "timestamp" in o)
    assert min(o["timestamp"] for o in new if "timestamp" in o) > old_ts
