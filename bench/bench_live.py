"""Live latency: a line appended to a watched transcript -> its ``request.added`` event on ``/ws``.

    python bench/bench_live.py [--size-mb 200] [--data-dir /tmp/bench-data] [--appends 1000] [--idle 60]

Generates (or reuses) a ``bench/loggen.py`` tree, starts the real server on it (``python -m desktop serve``,
watching), waits for the start-up ingest, then appends one complete assistant line at a time to a session file
of its own and waits for the matching event on a real WebSocket client: p50/p95/max over ``--appends`` appends
(target p95 <= 300 ms). Then it measures the server's CPU use while nothing changes (target < 1 % of a core),
over ``--idle`` seconds, which include the watcher's periodic stat rescans. The appended file is removed at the
end, so the tree stays reusable.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
import psutil
import websockets

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import loggen  # noqa: E402
from tests.api_server import free_port  # noqa: E402


def _line(n: int) -> bytes:
    return orjson.dumps({
        "type": "assistant", "sessionId": "bench-live", "uuid": f"bench-live-{n}", "requestId": f"req_live_{n}",
        "timestamp": "2026-04-14T12:00:00.000Z", "cwd": "/home/bench/live", "version": "2.1.39",
        "message": {"id": f"msg_live_{n}", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                    "content": [{"type": "text", "text": f"reply {n}"}],
                    "usage": {"input_tokens": 10, "output_tokens": 20}}}) + b"\n"


async def _appends(port: int, key: str, target: Path, count: int) -> list[float]:
    latencies: list[float] = []
    url = f"ws://127.0.0.1:{port}/ws?token={key}&types=request.added"
    async with websockets.connect(url, max_queue=None) as ws:
        await ws.recv()  # hello
        with target.open("ab", buffering=0) as fh:
            for n in range(count):
                wanted = f"msg_live_{n}:req_live_{n}"
                start = time.perf_counter()
                fh.write(_line(n))
                while True:
                    event = json.loads(await asyncio.wait_for(ws.recv(), 10))
                    if event.get("request_key") == wanted:
                        break
                latencies.append((time.perf_counter() - start) * 1000)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, default=Path(tempfile.gettempdir()) / "bench-data")
    parser.add_argument("--appends", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=60.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    tree = args.data_dir / f"{args.size_mb}mb-s1"
    if not (tree / "manifest.json").exists():
        print(f"generating {args.size_mb} MB of transcripts in {tree} ...", file=sys.stderr)
        loggen.generate(tree, size_mb=args.size_mb, seed=1)
    target = tree / "projects" / "-home-bench-live" / "bench-live.jsonl"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"")
    with tempfile.TemporaryDirectory() as home:
        port = free_port()
        env = {**os.environ, "DEVHELION_HOME": home, "CLAUDE_CONFIG_DIR": str(tree)}
        proc = subprocess.Popen([sys.executable, "-m", "desktop", "serve", "--port", str(port)], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            started = time.perf_counter()
            while True:
                try:
                    if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            key = (Path(home) / "api-key").read_text().strip()
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
                while True:  # the start-up ingest of the whole tree
                    status = client.get("/api/sync/status").json()["data"]
                    if status["lastSync"] and not status["isRunning"]:
                        break
                    time.sleep(0.2)
            ingest_s = time.perf_counter() - started
            latencies = asyncio.run(_appends(port, key, target, args.appends))
            server = psutil.Process(proc.pid)
            time.sleep(2)
            before, t0 = server.cpu_times(), time.perf_counter()
            time.sleep(args.idle)
            after, wall = server.cpu_times(), time.perf_counter() - t0
            idle_cpu = ((after.user - before.user) + (after.system - before.system)) / wall * 100
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            target.unlink(missing_ok=True)
            target.parent.rmdir()
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    result = {"tree_mb": args.size_mb, "startup_ingest_s": round(ingest_s, 1), "appends": len(latencies),
              "p50_ms": round(statistics.median(latencies), 1), "p95_ms": round(p95, 1),
              "max_ms": round(latencies[-1], 1), "idle_cpu_percent": round(idle_cpu, 2),
              "idle_seconds": args.idle, "load": round(os.getloadavg()[0], 2)}
    print(f"server start + ingest of {args.size_mb} MB: {result['startup_ingest_s']} s")
    print(f"append -> /ws event over {len(latencies)} appends: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
          f"max {result['max_ms']} ms (target p95 <= 300 ms: {'ok' if p95 <= 300 else 'MISSED'})")
    print(f"idle CPU over {args.idle:.0f} s: {result['idle_cpu_percent']} % of a core "
          f"(target < 1 %: {'ok' if idle_cpu < 1 else 'MISSED'}); 1-min load {result['load']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
