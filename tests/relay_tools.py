"""Shared by the hook and statusline tests: run ``python -m desktop`` for real, and archives with today's usage.

Every run gets its own ``DEVHELION_HOME`` and ``CLAUDE_CONFIG_DIR``; the relays run from a scratch working
directory, the way Claude Code runs them inside a user's project.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from tests.samples import SAMPLES, require_samples

REPO = Path(__file__).resolve().parents[1]
SPOTTER = SAMPLES / "marot-spotter" / "test" / "fixtures" / "transcripts"
SPOTTER_SESSION = "8463c716-a2ea-4c14-9efa-87158ebd9f20"
HOOK_LOGS = SAMPLES / "oneryalcin-fasthooks" / "specs" / "data" / "sample_hook_logs.jsonl"
STATUSLINE_SAMPLES = SAMPLES / "ryoppippi-ccusage" / "apps" / "ccusage" / "test"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def env_for(home: Path, claude_dir: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DEVHELION_", "CLAUDE_"))}
    env["DEVHELION_HOME"] = str(home)
    env["CLAUDE_CONFIG_DIR"] = str(claude_dir or home.parent / "claude")
    return env


def run_desktop(args: list[str], env: dict[str, str], stdin: bytes = b"", cwd: Path | None = None,
                isolated: bool = False, timeout: float = 60) -> Run:
    """``python [-I] -m desktop <args>``; ``isolated`` is how the installed Claude Code commands run."""
    command = [sys.executable, *(["-I"] if isolated else []), "-m", "desktop", *args]
    start = time.perf_counter()
    result = subprocess.run(command, input=stdin, capture_output=True, env=env, cwd=cwd or REPO, timeout=timeout)
    return Run(result.returncode, result.stdout.decode(), result.stderr.decode(), time.perf_counter() - start)


def real_hook_payloads() -> list[dict]:
    """The real hook payloads in the samples, as Claude Code sends them.

    The sample was written by a logging hook that renamed ``hook_event_name`` to ``event`` and added ``ts``;
    both are undone here, everything else is kept as logged.
    """
    require_samples()
    payloads = []
    for line in HOOK_LOGS.read_bytes().splitlines():
        logged = orjson.loads(line)
        payload = {k: v for k, v in logged.items() if k not in ("event", "ts")}
        payloads.append({"hook_event_name": logged["event"], **payload})
    return payloads


def shifted_session(dest_root: Path, end_ms: int) -> Path:
    """The real spotter session (with its subagent) copied under ``dest_root/projects``, every timestamp moved
    so that its last line is at ``end_ms``: real usage that happened today."""
    require_samples()
    lines = [orjson.loads(raw) for raw in (SPOTTER / f"{SPOTTER_SESSION}.jsonl").read_bytes().splitlines()
             if raw.strip()]
    agents = sorted((SPOTTER / SPOTTER_SESSION).rglob("*.jsonl"))
    agent_lines = {path: [orjson.loads(raw) for raw in path.read_bytes().splitlines() if raw.strip()]
                   for path in agents}
    every = [e for entries in [lines, *agent_lines.values()] for e in entries]
    latest = max(_ms(e["timestamp"]) for e in every if "timestamp" in e)
    shift = end_ms - latest
    project = dest_root / "projects" / "-home-marco-spotter"
    _write_shifted(project / f"{SPOTTER_SESSION}.jsonl", lines, shift)
    for path, entries in agent_lines.items():
        _write_shifted(project / path.relative_to(SPOTTER), entries, shift)
    return dest_root


def _write_shifted(path: Path, entries: list[dict], shift: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for entry in entries:
        if "timestamp" in entry:
            entry = {**entry, "timestamp": _iso(_ms(entry["timestamp"]) + shift)}
        out.append(orjson.dumps(entry))
    path.write_bytes(b"\n".join(out) + b"\n")


def _ms(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _iso(ms: int) -> str:
    from store.timezones import format_utc_iso_ms

    return format_utc_iso_ms(ms)
