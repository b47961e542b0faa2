"""Locate and run ccusage 20, the reference peer our token figures must match exactly.

Used by tests and benchmarks; ``scripts/install-ccusage`` puts it in ``<repo>/.tools/ccusage``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from decimal import Decimal
from pathlib import Path

from store.pricing import PriceTable, TokenCounts, is_synthetic

REPO = Path(__file__).resolve().parents[1]
LOCAL_CCUSAGE = REPO / ".tools" / "ccusage" / "node_modules" / ".bin" / "ccusage"


class CcusageError(RuntimeError):
    """ccusage exited non-zero or printed something that is not JSON."""


def find_ccusage() -> Path | None:
    """The repo-local install first (pinned major), then whatever ``ccusage`` is on PATH."""
    if LOCAL_CCUSAGE.exists() and os.access(LOCAL_CCUSAGE, os.X_OK):
        return LOCAL_CCUSAGE
    found = shutil.which("ccusage")
    return Path(found) if found else None


def run_ccusage(config_dir: Path, *args: str, timezone: str = "UTC", timeout: float = 600) -> dict:
    """Run ``ccusage *args --json --offline --timezone TZ`` on ``config_dir`` only; return parsed JSON.

    ``config_dir`` is the directory that contains ``projects/``.  ``HOME`` and the XDG dirs point to an
    empty temporary directory so that the unified ``daily`` report cannot pick up other agents' logs
    (Codex, OpenCode, ...) or the real ``~/.claude`` of the machine.  Prefer ``("claude", "daily")``:
    the unified ``daily`` output has a different row shape (``period``, ``agent``).
    """
    exe = find_ccusage()
    if exe is None:
        raise CcusageError("ccusage not found: run scripts/install-ccusage")
    with tempfile.TemporaryDirectory(prefix="ccusage-home-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_", "CODEX_", "XDG_"))}
        env |= {"CLAUDE_CONFIG_DIR": str(Path(config_dir).resolve()), "HOME": home, "XDG_CONFIG_HOME": home,
                "XDG_DATA_HOME": home, "NO_COLOR": "1", "TZ": timezone}
        cmd = [str(exe), *args, "--json", "--offline", "--timezone", timezone]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise CcusageError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        raise CcusageError(f"ccusage printed non-JSON output ({e}); stderr: {proc.stderr.strip()[-2000:]}") from e


def daily_by_model(report: dict) -> dict[tuple[str, str], dict[str, int]]:
    """Flatten a ``ccusage claude daily --json`` report to {(date, modelName): token counts}."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for day in report.get("daily", []):
        date = day.get("date") or day.get("period")
        for mb in day.get("modelBreakdowns", []):
            out[(date, mb["modelName"])] = {k: int(mb[k]) for k in
                                            ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")}
    return out


def ccusage_marginal_cost_usd(
    table: PriceTable, model: str, tokens: TokenCounts, *, speed: str | None = None
) -> Decimal | None:
    """ccusage's per-request formula (CCU ``cost.rs``), for explaining differences only.

    Each bucket is tiered on its own: ``min(n, 200K) × base + max(n − 200K, 0) × premium``; no geo
    multiplier, no web search. Not linear in tokens: call it per request, never on summed groups.
    """
    if is_synthetic(model):
        return Decimal(0)
    price = table.price_for(model)
    if price is None:
        return None
    tier = price.long_context
    total = Decimal(0)
    for count, name in (
        (tokens.input_tokens, "input"),
        (tokens.output_tokens, "output"),
        (tokens.cache_write_5m, "cache_write_5m"),
        (tokens.cache_write_1h, "cache_write_1h"),
        (tokens.cache_read, "cache_read"),
    ):
        base_rate: Decimal = getattr(price, name)
        if tier is None or count <= tier.threshold:
            total += count * base_rate
        else:
            total += tier.threshold * base_rate + (count - tier.threshold) * getattr(tier, name)
    cost = total.scaleb(-6)  # rates are per million tokens
    return cost * price.fast_multiplier if speed == "fast" else cost
