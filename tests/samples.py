"""The real sample transcripts in ``../shared/samples/claude-logs`` arranged as Claude Code log roots."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import orjson
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLES = SHARED / "samples" / "claude-logs"

# tree name -> (folder inside SAMPLES, is it already a projects/ folder?)
TREES: dict[str, tuple[str, bool]] = {
    "sniffly": ("chiphuyen-sniffly/tests/mock-data", True),
    "claude-code-viewer": ("d-kimuson-claude-code-viewer/mock-global-claude-dir/projects", True),
    "claude-code-log-real": ("daaain-claude-code-log/test/test_data/real_projects", True),
    "claude-code-log-fixtures": ("daaain-claude-code-log/test/test_data", False),
    "spotter": ("marot-spotter/test/fixtures/transcripts", False),
    "fasthooks": ("oneryalcin-fasthooks/specs/data", False),
    "ccusage-fixtures": ("ryoppippi-ccusage/apps/ccusage/test/fixtures/claude/projects", True),
}

_MICROS = re.compile(rb'("timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})\d+Z"')


def require_samples() -> None:
    if not SAMPLES.is_dir():
        pytest.skip(f"sample transcripts not found at {SAMPLES}")


def build_tree(name: str, dest: Path, claude_serialization: bool = False) -> Path:
    """Copy one sample tree to ``dest/projects/...``; returns ``dest`` (a config dir holding ``projects/``).

    With ``claude_serialization`` every JSON line is re-written the way Claude Code writes it (compact JSON,
    millisecond timestamps). Some fixture files were saved with ``json.dumps`` spacing or microsecond
    timestamps, which ccusage's line pre-filter and timestamp parser skip; real transcripts never are.
    """
    require_samples()
    folder, is_projects = TREES[name]
    src = SAMPLES / folder
    target = dest / "projects" if is_projects else dest / "projects" / name
    ignore = shutil.ignore_patterns("real_projects", "*.md", "pricing.json") if name == "claude-code-log-fixtures" \
        else shutil.ignore_patterns("*.md", "pricing.json")
    shutil.copytree(src, target, ignore=ignore, dirs_exist_ok=True)
    if claude_serialization:
        for path in target.rglob("*.jsonl"):
            path.write_bytes(_as_claude_writes(path.read_bytes()))
    return dest


def _as_claude_writes(data: bytes) -> bytes:
    out = []
    for line in data.split(b"\n"):
        try:
            compact = orjson.dumps(orjson.loads(line))
        except orjson.JSONDecodeError:
            compact = line
        out.append(_MICROS.sub(rb'\1Z"', compact))
    return b"\n".join(out)
