"""Generate a large archive directly (1 M API requests in about a minute) for query and API benchmarks.

Generating and ingesting 10 GB of transcripts for a million requests would take many minutes; the query side
only needs realistic rows. Rows go through the archive's own writer (``store.sqlite.writes.write_chunk``), so
every trigger and rollup is maintained exactly as at ingest. Deterministic for a given seed.

    python bench/archivegen.py OUT.db --requests 1000000 [--seed 1] [--days 365]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

try:
    from store.db import open_archive
except ImportError:  # run as a script from a checkout: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from store.db import open_archive
from store.ingest.rows import ParsedChunk, SessionFacts
from store.sqlite.connection import transaction
from store.sqlite.search import flush_search_queue
from store.sqlite.writes import write_chunk

MODELS = (("claude-opus-4-6", 0.35), ("claude-sonnet-4-5-20250929", 0.5), ("claude-haiku-4-5-20251001", 0.15))
TOOLS = ("Read", "Edit", "Bash", "Grep", "Glob", "Write", "TodoWrite", "WebFetch", "mcp__github__get_issue",
         "Skill", "Task")
PROMPTS = ("fix the failing test in the parser", "add a CI workflow for the release", "refactor the config loader",
           "why does the build fail on windows", "write docs for the export API", "explain this stack trace",
           "review the pull request", "optimise the slow query", "rename the module and update imports")
END_MS = 1_775_000_000_000  # fixed (2026-03-31): output never depends on "now"
DAY_MS = 86_400_000
TextSource = Callable[[str], str]


def generate(path: Path, requests: int, seed: int = 1, days: int = 365, projects: int = 40,
             requests_per_session: int = 60, texts: TextSource | None = None) -> dict[str, int]:
    """``texts(kind)`` (kind: prompt, answer, tool_input, tool_result), when given, replaces the short fixed texts
    (for search benchmarks); it must not use ``rng``, so the rows stay those of the same seed."""
    rng = random.Random(seed)
    db = open_archive(path)
    conn = db.connection()
    start_ms = END_MS - days * DAY_MS
    sessions = max(requests // requests_per_session, 1)
    counts = {"sessions": 0, "requests": 0, "messages": 0, "tool_calls": 0}
    chunk = ParsedChunk(path="generated", start_offset=0, end_offset=0)
    project_paths = [f"/home/dev/src/project-{p:02d}" for p in range(projects)]
    tick = time.perf_counter()
    for s in range(sessions):
        sid = f"{seed:02x}{s:06x}-0000-4000-8000-{rng.getrandbits(48):012x}"
        cwd = project_paths[int(rng.paretovariate(1.2)) % projects]
        ts = start_ms + rng.randrange(days * DAY_MS)
        model = rng.choices([m for m, _ in MODELS], [w for _, w in MODELS])[0]
        n = requests_per_session if s < sessions - 1 else requests - counts["requests"]
        facts = chunk.sessions[sid] = SessionFacts(project_dir=cwd.replace("/", "-"), cwd=cwd, cwd_ts_ms=ts,
                                                   git_branch=rng.choice(("main", "dev", "feature/x")),
                                                   version="2.1.39", first_ts_ms=ts)
        facts.first_prompt, facts.first_prompt_ts_ms = rng.choice(PROMPTS), ts
        context = rng.randrange(8_000, 30_000)
        for r in range(n):
            ts += rng.randrange(2_000, 90_000)
            user_uuid, asst_uuid = f"{sid[:8]}-u{r:05d}", f"{sid[:8]}-a{r:05d}"
            key = f"msg_{sid[:8]}{r:05d}:req_{sid[:8]}{r:05d}"
            text = rng.choice(PROMPTS) if r % 6 == 0 else None
            if text is not None and texts is not None:
                text = texts("prompt")
            chunk.messages.append((user_uuid, None, sid, "user", None, "user", ts, False, False, None, None, None,
                                   text, None, 0))
            out = int(rng.lognormvariate(5.5, 1.0))
            write = rng.randrange(0, 4_000) if r % 5 == 0 else rng.randrange(0, 400)
            chunk.requests[key] = (key, key.split(":")[0], key.split(":")[1], sid, None, asst_uuid, model, ts + 900,
                                   rng.randrange(1, 40), out, write, 0, context, 0, 0, None, "standard", None,
                                   False, False, False, None, "2.1.39")
            context = context + write + out if context < 180_000 else rng.randrange(20_000, 40_000)
            chunk.messages.append((asst_uuid, user_uuid, sid, "assistant", None, "assistant", ts + 900, False, False,
                                   None, key, model, texts("answer") if texts else f"answer {r}", None, 0))
            if rng.random() < 0.6:
                tool = rng.choice(TOOLS)
                tid = f"toolu_{sid[:8]}{r:05d}"
                file_path = f"{cwd}/src/module_{rng.randrange(80)}.py" if tool in ("Read", "Edit", "Write") else None
                chunk.tool_calls[tid] = (tid, sid, None, asst_uuid, key, tool,
                                         "github" if tool.startswith("mcp__") else None, None, file_path,
                                         texts("tool_input") if texts else '{"generated": true}', ts + 900, False)
                failed = rng.random() < 0.06
                chunk.tool_results[tid] = (tid, sid, ts + 900 + rng.randrange(50, 20_000),
                                           "error" if failed else "ok",
                                           f"Exit code {rng.randrange(1, 3)}" if failed else None,
                                           texts("tool_result") if texts else "result")
                counts["tool_calls"] += 1
        facts.last_ts_ms = ts + 900
        counts["sessions"] += 1
        counts["requests"] += n
        counts["messages"] += 2 * n
        if len(chunk.requests) >= 20_000 or s == sessions - 1:
            with transaction(conn):
                write_chunk(conn, chunk)
                flush_search_queue(conn)
            chunk = ParsedChunk(path="generated", start_offset=0, end_offset=0)
            print(f"\r{counts['requests']:,} requests ({time.perf_counter() - tick:.0f} s)", end="", file=sys.stderr)
    print(file=sys.stderr)
    db.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    if args.out.exists():
        sys.exit(f"{args.out} exists; choose a new path")
    print(generate(args.out, args.requests, args.seed, args.days))


if __name__ == "__main__":
    main()
