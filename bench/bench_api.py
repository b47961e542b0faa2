"""Latency of every analytics endpoint over a large archive, through the real server and a real HTTP client.

    python bench/bench_api.py [--home DIR] [--requests 1000000] [--repeat 20] [--json out.json]

``DIR/devhelion.db`` is generated with ``bench/archivegen.py`` when missing (1 M requests take about three
minutes) and reused afterwards. The server runs as ``python -m desktop serve`` on a free loopback port with an
empty log root, so nothing is ingested while measuring. Each endpoint is called ``--repeat`` times for each of
several ranges (all time, the last 7 and 30 days, a quarter, one day, one project); the table shows p50 and p95
over all those calls against the 50 ms target.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.archivegen import END_MS, generate  # noqa: E402
from tests.api_server import free_port  # noqa: E402

TARGET_MS = 50.0
END = datetime.fromtimestamp(END_MS / 1000, UTC)


def _day(delta_days: int) -> str:
    return (END - timedelta(days=delta_days)).strftime("%Y-%m-%d")


# name -> (surface-1 params, surface-2 params); dates are local days of the archive's zone
RANGES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "all time": ({}, {}),
    "last 7 days": ({"dateFrom": _day(6)}, {"from": _day(6)}),
    "last 30 days": ({"dateFrom": _day(29)}, {"from": _day(29)}),
    "a quarter": ({"dateFrom": _day(200), "dateTo": _day(110)}, {"from": _day(200), "to": _day(110)}),
    "one day": ({"dateFrom": _day(40), "dateTo": _day(40)}, {"from": _day(40), "to": _day(40)}),
}
PROJECT = "/home/dev/src/project-01"

# path -> which parameter surface it takes ("s1" analytics envelope, "s2" monitor, "s2p" monitor with the project
# it requires), extra fixed params
ENDPOINTS: dict[str, tuple[str, dict[str, str]]] = {
    "/api/analytics/overview": ("s1", {}),
    "/api/analytics/sessions": ("s1", {}),
    "/api/analytics/daily-usage": ("s1", {}),
    "/api/analytics/model-distribution": ("s1", {}),
    "/api/analytics/tool-usage": ("s1", {}),
    "/api/sync/stats": ("none", {}),
    "/api/stats": ("s2", {}),
    "/api/stats/daily": ("none", {"days": "90"}),
    "/api/stats/tools": ("s2", {}),
    "/api/stats/models": ("s2", {}),
    "/api/stats/projects": ("s2", {}),
    "/api/stats/skills": ("s2", {}),
    "/api/stats/mcp": ("s2", {}),
    "/api/stats/errors": ("s2", {}),
    "/api/stats/token-efficiency": ("s2", {}),
    "/api/stats/prompt-patterns": ("s2", {}),
    "/api/stats/file-heatmap": ("s2p", {"project": PROJECT}),
    "/api/stats/project-breakdown": ("s2p", {"project": PROJECT}),
    "/api/sessions": ("s2", {}),
    "/api/messages": ("none", {}),
    "/api/tool-calls": ("none", {}),
}


def start_server(home: Path, logs: Path) -> tuple[subprocess.Popen, str, str]:
    port = free_port()
    env = {**os.environ, "DEVHELION_HOME": str(home), "CLAUDE_CONFIG_DIR": str(logs)}
    proc = subprocess.Popen([sys.executable, "-m", "desktop", "serve", "--port", str(port)], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return proc, base, (home / "api-key").read_text().strip()
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def _timed(client: httpx.Client, path: str, params: dict[str, str], times: int) -> list[float]:
    timings = []
    for _ in range(times):
        start = time.perf_counter()
        response = client.get(path, params=params)
        timings.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path} {params}: {response.status_code} {response.text[:300]}")
    return timings


def measure(client: httpx.Client, repeat: int) -> list[dict]:
    results = []
    for path, (surface, fixed) in ENDPOINTS.items():
        timings: list[float] = []
        by_range: dict[str, float] = {}
        ranges = RANGES.items() if surface != "none" else [("fixed", ({}, {}))]
        for name, (s1, s2) in ranges:
            params = {**fixed, **(s1 if surface == "s1" else s2 if surface in ("s2", "s2p") else {})}
            these = _timed(client, path, params, repeat)
            by_range[name] = round(statistics.median(these), 1)
            timings += these
            if surface in ("s1", "s2"):  # the project filter too
                these = _timed(client, path, {**params, "project": PROJECT}, max(repeat // 4, 1))
                by_range[f"{name}, project"] = round(statistics.median(these), 1)
                timings += these
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
        results.append({"endpoint": path, "calls": len(timings), "p50_ms": round(statistics.median(timings), 1),
                        "p95_ms": round(p95, 1), "max_ms": round(timings[-1], 1), "meets_target": p95 <= TARGET_MS,
                        "median_by_range": by_range})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "devhelion-bench-api")
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--detail", action="store_true", help="also print the median of each range")
    args = parser.parse_args()
    db = args.home / "devhelion.db"
    if not db.exists():
        args.home.mkdir(parents=True, exist_ok=True)
        print(f"generating {args.requests:,} requests into {db} ...", file=sys.stderr)
        generate(db, args.requests)
    (args.home / "config.json").write_text(json.dumps({"timezone": "Europe/Berlin"}))
    with tempfile.TemporaryDirectory() as logs:
        proc, base, key = start_server(args.home, Path(logs))
        try:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
                measure(client, 1)  # warm the page cache and the server's imports
                results = measure(client, args.repeat)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    load = os.getloadavg()[0]
    print(f"{'endpoint':40} {'calls':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  target {TARGET_MS:.0f} ms "
          f"(1-min load {load:.2f})")
    for r in results:
        print(f"{r['endpoint']:40} {r['calls']:6d} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['max_ms']:8.1f}  "
              f"{'ok' if r['meets_target'] else 'MISSED'}")
        if args.detail:
            print("    " + ", ".join(f"{name} {ms:.0f}" for name, ms in r["median_by_range"].items()))
    if args.json:
        args.json.write_text(json.dumps({"load": load, "results": results}, indent=2))


if __name__ == "__main__":
    main()
