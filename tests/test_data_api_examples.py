"""The client examples of docs/data-api.md run unchanged against a real server (only the base URL differs):
Python with ``requests``, JavaScript with this machine's Node.js."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.api_server import REPO, ApiServer, sample_server, stop_server

EXAMPLES = REPO / "docs" / "examples"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    srv = sample_server(tmp_path_factory.mktemp("examples"))
    yield srv
    stop_server(srv)


@pytest.fixture(scope="module")
def test_key(server: ApiServer) -> str:
    key = server.client().post("/api/keys", json={"name": "examples", "test": True}).json()["key"]
    httpx.get(f"{server.base_url}/api/data/insights", headers={"Authorization": f"Bearer {key}"}, timeout=60)
    return key  # (the demo archive is built by a test key's first request)


def _run(command: list[str], server: ApiServer, key: str) -> str:
    env = {**os.environ, "DEVHELION_URL": server.base_url, "DEVHELION_API_KEY": key}
    result = subprocess.run(command, cwd=EXAMPLES, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _expected(server: ApiServer, key: str) -> str:
    """What the examples should print, from the API itself."""
    client = httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    with client:
        events, page = [], 0
        while True:
            data = client.get("/api/data/events", params={"eventType": "assistant", "timeRange": "7d", "limit": 1000,
                                                          "page": page}).json()
            events += data["events"]
            if not data["events"]:
                break
            page += 1
        insights = client.get("/api/data/insights", params={"filter": "unread"}).json()
    stats = data["stats"]
    lines = [f"{stats['totalEvents']} responses in the last 7 days, {stats['totalTokens']} tokens, "
             f"{stats['projects']} projects"]
    by_model: dict[str, int] = {}
    for event in events:
        by_model[event["model"]] = by_model.get(event["model"], 0) + event["tokens_used"]
    lines += [f"  {model}: {tokens} tokens" for model, tokens in sorted(by_model.items(), key=lambda i: -i[1])]
    lines.append(f"{insights['unreadCount']} unread insights")
    lines += [f"  [{i['type']}/{i['category']}] {i['title']}: {i['value']}" for i in insights["insights"]]
    lines.append("0 unread insights left")
    return "\n".join(lines) + "\n"


def _mark_demo_unread(server: ApiServer) -> None:
    conn = sqlite3.connect(server.home / "demo" / "demo.db", timeout=10)
    with conn:
        conn.execute("UPDATE insight SET read_ms = NULL")
    conn.close()


def test_python_example(server: ApiServer, test_key: str) -> None:
    _mark_demo_unread(server)
    expected = _expected(server, test_key)
    assert "415 responses in the last 7 days" in expected and "11 unread insights" in expected
    assert _run([sys.executable, "data_api.py"], server, test_key) == expected


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed (scripts/test installs it)")
def test_javascript_example(server: ApiServer, test_key: str) -> None:
    _mark_demo_unread(server)
    expected = _expected(server, test_key)
    assert _run(["node", "data_api.mjs"], server, test_key) == expected


def test_python_example_with_the_local_key(server: ApiServer) -> None:
    client = server.client()
    deadline = time.monotonic() + 30
    while not client.get("/api/data/insights").json()["insights"] and time.monotonic() < deadline:
        time.sleep(0.2)  # the engine's first run follows the start-up ingest
    expected = _expected(server, server.key)  # the user's archive (here the samples), on the real clock
    assert _run([sys.executable, "data_api.py"], server, server.key) == expected
