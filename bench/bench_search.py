"""Workbench benchmarks: full-text search latency on a 1 M-message archive, export memory on 200 MB of logs, and
what the search index adds to a cold ingest.

    python bench/bench_search.py [--db /tmp/search-1m.db] [--messages 1000000] [--tree /tmp/bench-data/200mb-s1]
                                 [--ingest-repeat 3] [--json out.json]

* search: an archive of ``--messages`` messages is generated once with ``bench/archivegen.py`` (rows go through
  the archive's writer, so the triggers fill the index) with Zipf-distributed text (a 40k-word vocabulary, as
  natural language is), then a fixed mix of queries runs against it: rare, mid-frequency and very common words,
  prefixes, phrases, OR and NOT. Reported: p50/p95/max per kind and over all queries (target: p95 <= 100 ms),
  wall time and the query thread's CPU time (SQLite runs on it: on a busy machine that is the idle latency),
  and ``/api/sessions?search=``'s query (a page of sessions whose text matches) for mid-frequency and rare words.
* export: the tree is ingested into a fresh archive, then each format is exported in a child process that samples
  its own RSS every 10 ms; peak minus the RSS before the export is what the export itself holds (flat: it does not
  grow with the data, compare ``--export-fraction`` runs).
* ingest: cold ``run_ingest`` of the tree with and without the search index (its triggers dropped and the queue
  flush disabled), interleaved, median of ``--ingest-repeat``; wall and CPU seconds (parsing is inline, so on a
  busy machine the CPU time is the better measure of the work).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

try:
    import psutil
except ImportError:  # part of the test extra
    sys.exit("bench_search needs psutil: .venv/bin/pip install psutil")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

VOCABULARY = 40_000
QUERIES_PER_KIND = 30
TARGET_P95_MS = 100.0  # issue 8: search p95 on a 1 M-message archive


# -- text with a natural word distribution ----------------------------------------------------------------------

def _vocabulary(rng: random.Random) -> list[str]:
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou", "ee")]
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(syllables) for _ in range(rng.choice((1, 2, 2, 3, 3, 4)))))
    return sorted(words, key=lambda w: (len(w), w))  # short words are the frequent ones, as in real text


class ZipfText:
    """Messages sliced from one pool of Zipf-distributed words (drawing words per message would dominate)."""

    def __init__(self, seed: int = 7, pool_words: int = 3_000_000) -> None:
        rng = random.Random(seed)
        self.words = _vocabulary(rng)
        cum, total = [], 0.0
        for rank in range(1, len(self.words) + 1):
            total += 1 / rank
            cum.append(total)
        drawn = rng.choices(self.words, cum_weights=cum, k=pool_words)
        self.pool = " ".join(drawn)
        self.rng = random.Random(seed + 1)
        # lognormal (mu, sigma) of the length in characters: medians of ~90, ~250, ~55 and ~250
        self.lengths = {"prompt": (4.5, 0.8), "answer": (5.5, 0.9), "tool_input": (4.0, 0.7),
                        "tool_result": (5.5, 1.0)}

    def __call__(self, kind: str) -> str:
        mu, sigma = self.lengths[kind]
        n = min(int(self.rng.lognormvariate(mu, sigma)) + 10, 20_000)
        start = self.pool.find(" ", int(self.rng.random() * (len(self.pool) - n - 1))) + 1
        text = self.pool[start:start + n]
        return '{"command": "' + text + '"}' if kind == "tool_input" else text


def queries(text: ZipfText, seed: int = 11) -> dict[str, list[str]]:
    rng = random.Random(seed)
    words = text.words
    common, mid, rare = words[:60], words[300:4_000], words[15_000:]
    phrases = []
    while len(phrases) < QUERIES_PER_KIND:
        start = text.pool.find(" ", rng.randrange(len(text.pool) - 200)) + 1
        pair = text.pool[start:start + 200].split(" ")[:2]
        phrases.append('"' + " ".join(pair) + '"')
    prefixes = [w[:4] + "*" for w in rng.sample([w for w in words[2_000:] if len(w) >= 6], QUERIES_PER_KIND)]
    return {
        "rare word": rng.sample(rare, QUERIES_PER_KIND),
        "mid word": rng.sample(mid, QUERIES_PER_KIND),
        "common word": rng.sample(common, QUERIES_PER_KIND),
        "two words": [f"{a} {b}" for a, b in zip(rng.sample(mid, QUERIES_PER_KIND),
                                                 rng.sample(mid, QUERIES_PER_KIND), strict=True)],
        "phrase": phrases,
        "prefix": prefixes,
        "OR": [f"{a} OR {b}" for a, b in zip(rng.sample(mid, QUERIES_PER_KIND),
                                             rng.sample(rare, QUERIES_PER_KIND), strict=True)],
        "NOT": [f"{a} NOT {b}" for a, b in zip(rng.sample(common, QUERIES_PER_KIND),
                                               rng.sample(mid, QUERIES_PER_KIND), strict=True)],
    }


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def bench_search(db_path: Path, messages: int) -> dict:
    from archivegen import generate

    from store.db import open_archive
    from store.monitor.params import Page, make_scope
    from store.monitor.sessions import list_sessions
    from store.pricing import PriceTable
    from store.search import search
    from store.sqlite.search import flush_search_queue
    from store.timezones import resolve_timezone

    utc, prices = resolve_timezone("UTC"), PriceTable.bundled()
    text = ZipfText()
    if not db_path.exists():
        started = time.perf_counter()
        print(f"generating {messages:,} messages into {db_path} ...", file=sys.stderr)
        generate(db_path, messages // 2, texts=text)
        print(f"generated in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    db = open_archive(db_path)
    try:
        flush_search_queue(db.connection())
        counts = {t: db.execute_sql(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("message", "tool_call")}
        indexed = db.execute_sql("SELECT count(*) FROM search_message_src").fetchone()[0]
        result: dict = {"archive": str(db_path), "messages": counts["message"], "messages_with_text": indexed,
                        "tool_calls": counts["tool_call"], "archive_mb": round(db_path.stat().st_size / 1e6),
                        "kinds": {}}
        everything: list[float] = []
        everything_cpu: list[float] = []
        for kind, qs in queries(text).items():
            times, cpu, hits, windowed = [], [], [], 0
            for q in qs:
                search(db, q, 50)  # first run warms the page cache for this query's terms
                started, started_cpu = time.perf_counter(), time.thread_time()
                found = search(db, q, 50)
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.thread_time() - started_cpu) * 1000)
                hits.append(found["count"])
                windowed += found["order"] == "recent"
            everything += times
            everything_cpu += cpu
            result["kinds"][kind] = {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(_pct(times, 95), 1),
                                     "max_ms": round(max(times), 1), "cpu_p95_ms": round(_pct(cpu, 95), 1),
                                     "median_hits": statistics.median(hits), "newest_first": windowed,
                                     "example": qs[0]}
        result["all"] = {"queries": len(everything), "p50_ms": round(statistics.median(everything), 1),
                         "p95_ms": round(_pct(everything, 95), 1), "max_ms": round(max(everything), 1),
                         "cpu_p50_ms": round(statistics.median(everything_cpu), 1),
                         "cpu_p95_ms": round(_pct(everything_cpu, 95), 1),
                         "meets_target": _pct(everything, 95) <= TARGET_P95_MS}
        listed = []
        for q in queries(text)["mid word"][:10] + queries(text)["rare word"][:10]:
            started = time.perf_counter()
            list_sessions(db, prices, make_scope(utc, search=q), Page())
            listed.append((time.perf_counter() - started) * 1000)
        result["sessions_search"] = {"queries": len(listed), "p50_ms": round(statistics.median(listed), 1),
                                     "p95_ms": round(_pct(listed, 95), 1), "max_ms": round(max(listed), 1)}
        cold = []
        for q in queries(text, seed=99)["mid word"][:10]:  # never-seen terms
            started = time.perf_counter()
            search(db, q, 50)
            cold.append((time.perf_counter() - started) * 1000)
        result["first_run_of_new_terms"] = {"p50_ms": round(statistics.median(cold), 1), "max_ms": round(max(cold), 1)}
    finally:
        db.close()
    return result


# -- export memory ----------------------------------------------------------------------------------------------

def export_worker(db: str, fmt: str, date_from: str | None, date_to: str | None) -> None:
    """Child process: export to /dev/null, print baseline and peak RSS (MB) as JSON."""
    from store.export import export_stream, make_export_scope
    from store.pricing import PriceTable
    from store.timezones import resolve_timezone

    prices = PriceTable.bundled()
    es = make_export_scope(resolve_timezone("UTC"), date_from, date_to)
    me = psutil.Process()
    baseline = me.memory_info().rss
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], me.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    written = 0
    with open(os.devnull, "wb") as sink:
        for chunk in export_stream(db, prices, es, fmt):
            written += len(chunk)
            sink.write(chunk)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    peak[0] = max(peak[0], me.memory_info().rss)
    print(json.dumps({"format": fmt, "bytes": written, "seconds": round(seconds, 2),
                      "baseline_rss_mb": round(baseline / 1e6, 1), "peak_rss_mb": round(peak[0] / 1e6, 1),
                      "export_rss_mb": round((peak[0] - baseline) / 1e6, 1)}))


def _ingest(root: Path, db_path: Path, with_index: bool = True) -> tuple[float, float]:
    """Wall and CPU seconds of a cold ``run_ingest`` (inline parsing: the CPU time is all of it)."""
    import store.ingest.runner as runner
    from store.db import open_archive
    from store.sqlite.search import SEARCH_TABLES

    db = open_archive(db_path)
    try:
        flush = runner.flush_search_queue
        if not with_index:
            for table in SEARCH_TABLES:
                for event in ("insert", "delete", "update"):
                    db.execute_sql(f"DROP TRIGGER {table}_{event}")
            runner.flush_search_queue = lambda conn: None
        started, started_cpu = time.perf_counter(), time.process_time()
        try:
            runner.run_ingest(db, [root], parallel=False)
        finally:
            runner.flush_search_queue = flush
        return time.perf_counter() - started, time.process_time() - started_cpu
    finally:
        db.close()


def bench_export(tree: Path, work: Path, fractions: list[float]) -> dict:
    from store.db import open_archive

    db_path = work / "export.db"
    seconds, _ = _ingest(tree, db_path)
    db = open_archive(db_path)
    first, last = db.execute_sql("SELECT min(ts_ms), max(ts_ms) FROM api_request").fetchone()
    db.close()
    runs = []
    for fraction in fractions:
        end = None if fraction >= 1 else time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime((first + (last - first) * fraction) / 1000))
        for fmt in ("json", "csv", "html"):
            args = [sys.executable, __file__, "export-worker", str(db_path), fmt] + (["--to", end] if end else [])
            out = subprocess.run(args, capture_output=True, check=True, text=True, cwd=REPO).stdout
            runs.append({"fraction": fraction, **json.loads(out)})
            print(f"  export {fmt} of {fraction:.0%}: {runs[-1]}", file=sys.stderr)
    return {"tree": str(tree), "tree_mb": round(sum(f.stat().st_size for f in tree.rglob("*") if f.is_file()) / 1e6),
            "ingest_seconds": round(seconds, 1), "archive_mb": round(db_path.stat().st_size / 1e6), "runs": runs}


def bench_ingest(tree: Path, work: Path, repeat: int) -> dict:
    runs: dict[str, list[tuple[float, float]]] = {"without index": [], "with index": []}
    for i in range(repeat):
        for label, with_index in (("without index", False), ("with index", True)):
            path = work / f"ingest-{i}-{with_index}.db"
            runs[label].append(_ingest(tree, path, with_index))
            wall, cpu = runs[label][-1]
            print(f"  ingest {label}: {wall:.2f} s wall, {cpu:.2f} s CPU (load {os.getloadavg()[0]:.1f})",
                  file=sys.stderr)
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    result: dict = {"tree": str(tree), "repeat": repeat, "runs": runs}
    for i, measure in enumerate(("wall", "cpu")):
        medians = {k: round(statistics.median(r[i] for r in v), 2) for k, v in runs.items()}
        result[measure] = {"median_seconds": medians,
                           "added_seconds": round(medians["with index"] - medians["without index"], 2),
                           "added_percent": round(100 * (medians["with index"] / medians["without index"] - 1), 1)}
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "export-worker":
        worker = argparse.ArgumentParser()
        worker.add_argument("cmd")
        worker.add_argument("db")
        worker.add_argument("format")
        worker.add_argument("--from", dest="date_from")
        worker.add_argument("--to", dest="date_to")
        a = worker.parse_args()
        export_worker(a.db, a.format, a.date_from, a.date_to)
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, default=Path("/tmp/devhelion-search-1m.db"),
                        help="search archive (generated when missing, reused otherwise)")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--tree", type=Path, default=Path("/tmp/bench-data/200mb-s1"),
                        help="log tree for the export and ingest figures (bench/loggen.py)")
    parser.add_argument("--export-fraction", type=float, action="append",
                        help="export this fraction of the time span (repeatable; default 0.1 and 1)")
    parser.add_argument("--ingest-repeat", type=int, default=3)
    parser.add_argument("--skip", action="append", default=[], choices=["search", "export", "ingest"])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures: dict = {"load_average": os.getloadavg()[0], "cpus": os.cpu_count()}
    steps: list[tuple[str, Callable[[Path], dict]]] = [
        ("search", lambda work: bench_search(args.db, args.messages)),
        ("export", lambda work: bench_export(args.tree, work, args.export_fraction or [0.1, 1.0])),
        ("ingest", lambda work: bench_ingest(args.tree, work, args.ingest_repeat)),
    ]
    with tempfile.TemporaryDirectory(prefix="bench-search-") as tmp:
        for name, step in steps:
            if name not in args.skip:
                print(f"{name} ...", file=sys.stderr)
                figures[name] = step(Path(tmp))
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
