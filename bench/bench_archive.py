"""Benchmark Devhelion's archive against ccusage 20 on generated transcript trees, side by side in one run.

Usage::

    .venv/bin/python bench/bench_archive.py [--sizes 200,1000] [--data-dir /tmp/bench-data] [--repeat 3]
                                            [--seed 1] [--json out.json] [--no-ccusage] [--keep]

For each size (MB, 10^6 bytes) it generates ``DATA_DIR/<size>mb-s<seed>`` with ``bench/loggen.py`` unless a
matching tree is already there, then measures cold ingest (wall time and peak RSS of the whole process tree),
ccusage ``daily --json --offline`` on the same tree, the nothing-changed refresh, one appended turn and
``devhelion report daily --json``, and checks the daily tokens against the generator's ``manifest.json``.
See ``bench/README.md`` for what each figure means and the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import loggen  # noqa: E402
from tests.ccusage_tool import daily_by_model, find_ccusage  # noqa: E402

VENV_BIN = Path(sys.executable).parent
SAMPLE_S = 0.02
TOKEN_KEYS = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")
MANIFEST_KEYS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")

# Targets from /work/shared/notes/performance-targets.md.
TARGET_COLD_VS_CCUSAGE = 2.0  # devhelion cold ingest / ccusage daily <= 2
TARGET_COLD_MAX_S = 10.0
TARGET_RSS_MB = 300.0
TARGET_REFRESH_MS = 50.0
REFRESH_TARGET_FILES = 4_000  # the refresh target is for a tree of about 4k files; the time is per file
TARGET_REPORT_SPEEDUP = 20.0  # ccusage daily / devhelion report daily >= 20


# --------------------------------------------------------------------------------------------- helpers


def devhelion_exe() -> str:
    exe = VENV_BIN / "devhelion"
    if exe.exists():
        return str(exe)
    found = shutil.which("devhelion")
    if not found:
        sys.exit("devhelion CLI not found: install the project into the venv (pip install -e .)")
    return found


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


class Measured:
    """Wall time and peak RSS (largest single process, and the sum over the process tree) of one command."""

    def __init__(self, seconds: float, peak_single: int, peak_tree: int, returncode: int, stdout: str,
                 stderr: str) -> None:
        self.seconds = seconds
        self.peak_single = peak_single
        self.peak_tree = peak_tree
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def run_measured(cmd: list[str], env: dict[str, str], sample: bool = True, timeout: float = 1800) -> Measured:
    """Run ``cmd``, sampling the RSS of it and all its descendants every ~20 ms."""
    peak = {"single": 0, "tree": 0}
    done = threading.Event()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = psutil.Popen(cmd, env=env, stdout=out, stderr=err)

        def sampler() -> None:
            while not done.is_set():
                try:
                    procs = [proc, *proc.children(recursive=True)]
                except psutil.Error:
                    procs = [proc]
                tree = 0
                for p in procs:
                    try:
                        rss = p.memory_info().rss
                    except psutil.Error:
                        continue
                    tree += rss
                    peak["single"] = max(peak["single"], rss)
                peak["tree"] = max(peak["tree"], tree)
                done.wait(SAMPLE_S)

        thread = threading.Thread(target=sampler, daemon=True)
        if sample:
            thread.start()
        try:
            rc = proc.wait(timeout=timeout)
        finally:
            seconds = time.perf_counter() - t0
            done.set()
            if sample:
                thread.join()
            if proc.poll() is None:
                proc.kill()
        out.seek(0)
        err.seek(0)
        return Measured(seconds, peak["single"], peak["tree"], rc, out.read().decode(errors="replace"),
                        err.read().decode(errors="replace"))


def check_ok(m: Measured, what: str) -> Measured:
    if m.returncode != 0:
        raise RuntimeError(f"{what} exited {m.returncode}: {m.stderr.strip()[-2000:]}")
    return m


def devhelion_env(home: Path, tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_", "DEVHELION_"))}
    env |= {"DEVHELION_HOME": str(home), "CLAUDE_CONFIG_DIR": str(tree.absolute()), "NO_COLOR": "1", "TZ": "UTC"}
    return env


def ccusage_env(home: Path, tree: Path) -> dict[str, str]:
    """Same isolation as tests/ccusage_tool.run_ccusage: only ``tree``, never the machine's own logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_", "CODEX_", "XDG_"))}
    env |= {"CLAUDE_CONFIG_DIR": str(tree.absolute()), "HOME": str(home), "XDG_CONFIG_HOME": str(home),
            "XDG_DATA_HOME": str(home), "NO_COLOR": "1", "TZ": "UTC"}
    return env


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


# --------------------------------------------------------------------------------------------- the tree


def tree_matches(tree: Path, size_mb: float, seed: int) -> bool:
    """A tree is reused when its manifest matches (size, seed, generator) and the files on disk still do."""
    manifest_path = tree / "manifest.json"
    projects = tree / "projects"
    if not manifest_path.is_file() or not projects.is_dir():
        return False
    try:
        m = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        return False
    if (m.get("generator_version") != loggen.GENERATOR_VERSION or m.get("seed") != seed
            or m.get("target_bytes") != int(size_mb * 1e6)):
        return False
    files = total = 0
    for dirpath, _dirs, names in os.walk(projects):
        for name in names:
            files += 1
            total += os.stat(os.path.join(dirpath, name)).st_size
    return files == m.get("files") and total == m.get("bytes")


def ensure_tree(data_dir: Path, size_mb: float, seed: int) -> tuple[Path, dict]:
    tree = data_dir / f"{size_mb:g}mb-s{seed}"
    if tree_matches(tree, size_mb, seed):
        print(f"[{size_mb:g} MB] reusing {tree}", flush=True)
    else:
        print(f"[{size_mb:g} MB] generating {tree} ...", flush=True)
        dt, _ = timed(lambda: loggen.generate(tree, size_mb=size_mb, seed=seed, overwrite=True))
        print(f"[{size_mb:g} MB] generated in {dt:.1f} s", flush=True)
    return tree, json.loads((tree / "manifest.json").read_text())


def warm_page_cache(tree: Path) -> float:
    """Read every byte once so that every timed run (ours and ccusage's) starts with a warm page cache."""
    t0 = time.perf_counter()
    for dirpath, _dirs, names in os.walk(tree / "projects"):
        for name in names:
            with open(os.path.join(dirpath, name), "rb") as f:
                while f.read(1 << 20):
                    pass
    return time.perf_counter() - t0


def append_target(tree: Path) -> Path:
    """The largest top-level session file: a long-running session that keeps growing."""
    best: tuple[int, str] = (-1, "")
    for project in sorted((tree / "projects").iterdir()):
        if not project.is_dir():
            continue
        for f in project.glob("*.jsonl"):
            size = f.stat().st_size
            if size > best[0] or (size == best[0] and str(f) < best[1]):
                best = (size, str(f))
    return Path(best[1])


# --------------------------------------------------------------------------------------------- correctness


def manifest_daily(manifest: dict) -> dict[tuple[str, str], tuple[int, ...]]:
    out: dict[tuple[str, str], tuple[int, ...]] = {}
    for row in manifest["daily"]:
        model = row["model"] + ("-fast" if row.get("speed") == "fast" else "")
        key = (row["date"], model)
        prev = out.get(key, (0, 0, 0, 0))
        out[key] = tuple(a + int(row[k]) for a, k in zip(prev, MANIFEST_KEYS, strict=True))
    return {k: v for k, v in out.items() if any(v)}


def report_daily(report: dict) -> dict[tuple[str, str], tuple[int, ...]]:
    flat = daily_by_model(report)
    out = {k: tuple(v[t] for t in TOKEN_KEYS) for k, v in flat.items()}
    return {k: v for k, v in out.items() if any(v)}


def compare_daily(report: dict, manifest: dict) -> tuple[bool, list[str]]:
    got, want = report_daily(report), manifest_daily(manifest)
    problems = []
    for key in sorted(set(got) | set(want)):
        if got.get(key) != want.get(key):
            problems.append(f"{key[0]} {key[1]}: devhelion {got.get(key)} != manifest {want.get(key)} "
                            f"(input, output, cache create, cache read)")
    return not problems, problems


# --------------------------------------------------------------------------------------------- one size


def bench_size(size_mb: float, args: argparse.Namespace, work: Path) -> dict:
    from store.db import open_archive
    from store.ingest.runner import run_ingest

    tree, manifest = ensure_tree(args.data_dir, size_mb, args.seed)
    label = f"[{size_mb:g} MB]"
    res: dict = {"size_mb": size_mb, "tree": str(tree), "bytes": manifest["bytes"], "files": manifest["files"],
                 "lines": manifest["lines"], "responses": manifest["totals"]["responses"]}
    print(f"{label} warming the page cache: {warm_page_cache(tree):.1f} s", flush=True)
    dh = devhelion_exe()
    ccusage = None if args.no_ccusage else find_ccusage()
    ccusage_home = work / "ccusage-home"
    ccusage_home.mkdir(exist_ok=True)

    # 1 + 2. cold ingest into a fresh home, interleaved with ccusage daily on the same tree.
    cold: list[Measured] = []
    cc: list[Measured] = []
    inproc_cold: list[float] = []
    home = work / "home"
    for i in range(args.repeat):
        home = work / f"home-{size_mb:g}-{i}"
        m = check_ok(run_measured([dh, "ingest", "--json"], devhelion_env(home, tree)), "devhelion ingest")
        stats = json.loads(m.stdout)
        cold.append(m)
        inproc_cold.append(stats["seconds"])
        print(f"{label} cold ingest #{i + 1}: {m.seconds:.2f} s wall (in-process {stats['seconds']:.2f} s), "
              f"peak RSS {m.peak_single / 2**20:.0f} MB single / {m.peak_tree / 2**20:.0f} MB tree, "
              f"{stats['requests_added']:,} requests", flush=True)
        if ccusage:
            c = check_ok(run_measured([str(ccusage), "daily", "--json", "--offline", "--timezone", "UTC"],
                                      ccusage_env(ccusage_home, tree)), "ccusage daily")
            cc.append(c)
            print(f"{label} ccusage daily #{i + 1}: {c.seconds:.2f} s, peak RSS {c.peak_single / 2**20:.0f} MB "
                  f"single / {c.peak_tree / 2**20:.0f} MB tree", flush=True)
        if i < args.repeat - 1:
            shutil.rmtree(home, ignore_errors=True)
    res["cold_ingest"] = {
        "seconds_median": median([m.seconds for m in cold]), "seconds_all": [m.seconds for m in cold],
        "in_process_seconds_median": median(inproc_cold),
        "peak_rss_single_mb": max(m.peak_single for m in cold) / 2**20,
        "peak_rss_tree_mb": max(m.peak_tree for m in cold) / 2**20,
        "stats": {k: v for k, v in stats.items() if k != "malformed_examples"},
    }
    if cc:
        res["ccusage_daily"] = {"seconds_median": median([c.seconds for c in cc]),
                                "seconds_all": [c.seconds for c in cc],
                                "peak_rss_single_mb": max(c.peak_single for c in cc) / 2**20,
                                "peak_rss_tree_mb": max(c.peak_tree for c in cc) / 2**20}
        res["cold_vs_ccusage"] = res["cold_ingest"]["seconds_median"] / res["ccusage_daily"]["seconds_median"]

    env = devhelion_env(home, tree)

    # 6. correctness (also the first report run, not timed).
    first = check_ok(run_measured([dh, "report", "daily", "--json", "--timezone", "UTC"], env, sample=False),
                     "devhelion report")
    ok, problems = compare_daily(json.loads(first.stdout), manifest)
    res["correctness"] = {"ok": ok, "mismatches": len(problems), "examples": problems[:10]}
    print(f"{label} daily tokens vs manifest: {'OK' if ok else 'MISMATCH'}", flush=True)
    for p in problems[:10]:
        print(f"    {p}")

    # 5. report daily after ingest, with and without the refresh it does first.
    rep = [check_ok(run_measured([dh, "report", "daily", "--json", "--timezone", "UTC"], env, sample=False),
                    "devhelion report").seconds for _ in range(5)]
    rep_ni = [check_ok(run_measured([dh, "report", "daily", "--json", "--timezone", "UTC", "--no-ingest"], env,
                                    sample=False), "devhelion report --no-ingest").seconds for _ in range(5)]
    startup = [check_ok(run_measured([dh, "--version"], env, sample=False), "devhelion --version").seconds
               for _ in range(5)]
    res["report_daily"] = {"seconds_median": median(rep), "no_ingest_seconds_median": median(rep_ni),
                           "cli_startup_seconds_median": median(startup)}
    if cc:
        res["report_speedup_vs_ccusage"] = res["ccusage_daily"]["seconds_median"] / median(rep)
        res["report_no_ingest_speedup_vs_ccusage"] = res["ccusage_daily"]["seconds_median"] / median(rep_ni)

    # 3. nothing changed: CLI (with Python start-up) and in-process.
    cli_refresh = []
    for _ in range(5):
        m = check_ok(run_measured([dh, "ingest", "--json"], env, sample=False), "devhelion ingest")
        cli_refresh.append(m.seconds)
        changed = json.loads(m.stdout)["files_changed"]
    db = open_archive(home / "devhelion.db")
    try:
        inproc, changed_inproc = [], []
        for _ in range(5):
            dt, st = timed(lambda: run_ingest(db, [tree.absolute()]))
            inproc.append(dt)
            changed_inproc.append(st.files_changed)
        res["refresh_unchanged"] = {"in_process_seconds_median": median(inproc), "in_process_seconds_all": inproc,
                                    "cli_seconds_median": median(cli_refresh), "files_changed_cli": changed,
                                    "files_changed_in_process": max(changed_inproc)}

        # 4. one appended turn; the file is truncated back afterwards so that the tree stays reusable.
        target = append_target(tree)
        original = target.stat().st_size
        appended, added = [], []
        try:
            for i in range(5):
                loggen.append_turn(target, seed=1000 + i)
                dt, st = timed(lambda: run_ingest(db, [tree.absolute()]))
                appended.append(dt)
                added.append(st.requests_added)
        finally:
            with open(target, "r+b") as f:
                f.truncate(original)
        res["append_turn"] = {"in_process_seconds_median": median(appended), "in_process_seconds_all": appended,
                              "requests_added": added, "file": str(target)}
    finally:
        db.close()
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    return res


# --------------------------------------------------------------------------------------------- output


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def print_table(res: dict) -> None:
    c = res["cold_ingest"]
    cc = res.get("ccusage_daily")
    ratio = res.get("cold_vs_ccusage")
    r = res["report_daily"]
    f = res["refresh_unchanged"]
    a = res["append_turn"]
    speed = res.get("report_speedup_vs_ccusage")
    speed_ni = res.get("report_no_ingest_speedup_vs_ccusage")
    per_4k_ms = f["in_process_seconds_median"] * 1e3 * REFRESH_TARGET_FILES / max(res["files"], 1)
    rows: list[tuple[str, str, str, str]] = [
        ("cold ingest (CLI wall, median)", f"{c['seconds_median']:.2f} s",
         f"<= {TARGET_COLD_VS_CCUSAGE:g}x ccusage, <= {TARGET_COLD_MAX_S:g} s",
         verdict(c["seconds_median"] <= TARGET_COLD_MAX_S and (ratio is None or ratio <= TARGET_COLD_VS_CCUSAGE))),
        ("  of which run_ingest (median)", f"{c['in_process_seconds_median']:.2f} s", "", ""),
        ("ccusage daily --json --offline", f"{cc['seconds_median']:.2f} s" if cc else "not run", "", ""),
        ("cold ingest / ccusage daily", f"{ratio:.2f}x" if ratio else "n/a", f"<= {TARGET_COLD_VS_CCUSAGE:g}x",
         verdict(None if ratio is None else ratio <= TARGET_COLD_VS_CCUSAGE)),
        ("peak RSS, largest process", f"{c['peak_rss_single_mb']:.0f} MB", f"<= {TARGET_RSS_MB:g} MB",
         verdict(c["peak_rss_single_mb"] <= TARGET_RSS_MB)),
        ("peak RSS, process tree sum", f"{c['peak_rss_tree_mb']:.0f} MB", f"<= {TARGET_RSS_MB:g} MB",
         verdict(c["peak_rss_tree_mb"] <= TARGET_RSS_MB)),
        ("ccusage peak RSS (single / tree)",
         f"{cc['peak_rss_single_mb']:.0f} / {cc['peak_rss_tree_mb']:.0f} MB" if cc else "not run", "", ""),
        (f"refresh, nothing changed (in-process, {res['files']:,} files)",
         f"{f['in_process_seconds_median'] * 1e3:.1f} ms", "", ""),
        ("  the same per 4,000 files (the target's tree)", f"{per_4k_ms:.1f} ms", f"<= {TARGET_REFRESH_MS:g} ms",
         verdict(per_4k_ms <= TARGET_REFRESH_MS)),
        ("refresh, nothing changed (CLI wall)", f"{f['cli_seconds_median'] * 1e3:.0f} ms", "", ""),
        ("CLI start-up (devhelion --version)", f"{r['cli_startup_seconds_median'] * 1e3:.0f} ms", "", ""),
        ("one appended turn (in-process)", f"{a['in_process_seconds_median'] * 1e3:.1f} ms", "fast", ""),
        ("report daily --json (CLI wall)", f"{r['seconds_median'] * 1e3:.0f} ms", "", ""),
        ("report daily --json --no-ingest", f"{r['no_ingest_seconds_median'] * 1e3:.0f} ms", "", ""),
        ("ccusage daily / report daily", f"{speed:.1f}x" if speed else "n/a", f">= {TARGET_REPORT_SPEEDUP:g}x",
         verdict(None if speed is None else speed >= TARGET_REPORT_SPEEDUP)),
        ("ccusage daily / report --no-ingest", f"{speed_ni:.1f}x" if speed_ni else "n/a",
         f">= {TARGET_REPORT_SPEEDUP:g}x", verdict(None if speed_ni is None else speed_ni >= TARGET_REPORT_SPEEDUP)),
        ("daily tokens vs manifest", "OK" if res["correctness"]["ok"] else
         f"MISMATCH ({res['correctness']['mismatches']} rows)", "identical",
         verdict(res["correctness"]["ok"])),
    ]
    title = (f"{res['size_mb']:g} MB tree: {res['bytes'] / 1e6:,.0f} MB, {res['files']:,} files, "
             f"{res['lines']:,} lines, {res['responses']:,} API responses")
    w0 = max(len(x[0]) for x in rows)
    w1 = max(len(x[1]) for x in rows)
    w2 = max(len(x[2]) for x in rows)
    print()
    print(title)
    print("-" * (w0 + w1 + w2 + 12))
    print(f"{'metric':<{w0}}  {'value':>{w1}}  {'target':<{w2}}  result")
    print("-" * (w0 + w1 + w2 + 12))
    for name, value, target, result in rows:
        print(f"{name:<{w0}}  {value:>{w1}}  {target:<{w2}}  {result}".rstrip())
    print("-" * (w0 + w1 + w2 + 12))
    print(f"cold ingest runs (s): {', '.join(f'{s:.2f}' for s in c['seconds_all'])}"
          + (f"; ccusage runs (s): {', '.join(f'{s:.2f}' for s in cc['seconds_all'])}" if cc else ""))
    print(f"appended turns: requests added {a['requests_added']}, times (ms): "
          f"{', '.join(f'{s * 1e3:.1f}' for s in a['in_process_seconds_all'])}")
    print(f"unchanged refresh: files changed CLI {f['files_changed_cli']}, in-process "
          f"{f['files_changed_in_process']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="200,1000", help="comma-separated tree sizes in MB (default 200,1000)")
    ap.add_argument("--data-dir", type=Path, default=Path("/tmp/bench-data"), help="where generated trees live")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="cold ingest / ccusage runs per size (median)")
    ap.add_argument("--json", type=Path, help="also write the results as JSON here")
    ap.add_argument("--no-ccusage", action="store_true", help="skip ccusage even when it is installed")
    ap.add_argument("--keep", action="store_true", help="keep the archives (printed work directory)")
    args = ap.parse_args(argv)
    sizes = [float(s) for s in args.sizes.split(",") if s.strip()]
    args.data_dir.mkdir(parents=True, exist_ok=True)
    if not args.no_ccusage and find_ccusage() is None:
        print("ccusage not found (scripts/install-ccusage): ccusage columns are skipped", flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-work-"))
    load_start = os.getloadavg()[0]
    results = []
    try:
        for size in sizes:
            results.append(bench_size(size, args, work))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"archives kept in {work}")
    print(f"\nmachine: {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
          f"Python {sys.version.split()[0]}, ccusage: {find_ccusage() or 'not installed'}")
    print(f"1-min load average: {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end "
          "(other work on the machine skews absolute times; compare the side-by-side ratios)")
    for res in results:
        print_table(res)
    if args.json:
        args.json.write_text(json.dumps({"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                                         "results": results}, indent=2) + "\n")
        print(f"\nJSON written to {args.json}")
    return 0 if all(r["correctness"]["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
