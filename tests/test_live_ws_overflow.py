"""A WebSocket client too slow to keep up is told how much it missed and closed; the publisher never waits."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import uvicorn
import websockets
from fastapi import FastAPI

from desktop.server.app import configure_app
from store.archive import open_default
from tests.api_server import free_port


def test_slow_ws_client_gets_overflow_notice_and_close(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DEVHELION_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    archive = open_default()
    app = configure_app(FastAPI(), archive, "sk_live_test-key", live=False)
    bus = app.state.bus
    bus.queue_size = 20
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    big = "x" * 20_000  # large events fill the socket buffers quickly

    async def scenario() -> tuple[list[dict], int | None, float]:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws?token=sk_live_test-key", max_queue=1,
                                      max_size=None) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            start = time.perf_counter()
            for n in range(3_000):  # the client reads nothing meanwhile
                bus.publish({"type": "request.added", "n": n, "pad": big})
            publish_s = time.perf_counter() - start
            await asyncio.sleep(1.0)
            received: list[dict] = []
            try:
                while True:
                    received.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            except websockets.exceptions.ConnectionClosed as closed:
                return received, closed.rcvd.code if closed.rcvd else None, publish_s
        return received, None, publish_s

    try:
        received, code, publish_s = asyncio.run(scenario())
    finally:
        server.should_exit = True
        thread.join(10)
        archive.close()
    assert code == 1013
    notice = received[-1]
    assert notice["type"] == "overflow" and notice["dropped"] > 0
    delivered = [e["n"] for e in received if e.get("type") == "request.added"]
    assert delivered == sorted(delivered) and len(delivered) + notice["dropped"] <= 3_000
    assert publish_s < 2.0  # publishing 3,000 events never waited for the stalled client
