"""Rate limits of the data API through a real server: headers on every response, the 429 at exactly request 101 of
a minute, exact counting under parallel requests, the install-wide limit, and counts that survive a restart."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pytest

from tests.api_server import REPO, ApiServer, sample_server, start_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    srv = sample_server(tmp_path_factory.mktemp("limits"))  # the reference's limits: 100/min, 1,000/h, 5,000/h
    yield srv
    stop_server(srv)


def _new_key(server: ApiServer, test: bool = False) -> str:
    """A key made by the CLI: making it costs no request (and no part of the install's hourly budget)."""
    args = ["create", "--name", f"k{time.monotonic_ns()}", "--json", *(["--test"] if test else [])]
    result = subprocess.run([sys.executable, "-m", "desktop", "keys", *args], cwd=REPO, env=server.env(),
                            capture_output=True, check=True, timeout=120)
    return orjson.loads(result.stdout)["key"]


def _client(server: ApiServer, key: str) -> httpx.Client:
    return server.client_for(key)


def _limits(response: httpx.Response) -> tuple[int, int, int]:
    h = response.headers
    return int(h["x-ratelimit-limit"]), int(h["x-ratelimit-remaining"]), int(h["x-ratelimit-reset"])


def test_every_data_api_response_carries_the_headers(server: ApiServer) -> None:
    client = _client(server, _new_key(server))
    responses = [client.get("/api/data/events", params={"limit": 1}), client.get("/api/data/events?limit=0"),
                 client.get("/api/data/insights"), client.post("/api/data/insights/ins_unknown/read"),
                 client.get("/api/data/nowhere"), client.get("/api/keys")]
    assert [r.status_code for r in responses] == [200, 400, 200, 404, 404, 200]
    started = time.time()
    for n, response in enumerate(responses):
        limit, remaining, reset = _limits(response)
        assert (limit, remaining) == (100, 99 - n)
        assert started - 2 <= reset <= started + 61
    other = client.get("/api/stats")  # the dashboard's APIs are not limited, and do not count
    assert other.status_code == 200 and "x-ratelimit-limit" not in other.headers
    assert _limits(client.get("/api/data/insights"))[1] == 99 - len(responses)


def test_the_101st_request_of_a_minute_is_refused(server: ApiServer) -> None:
    client = _client(server, _new_key(server, test=True))
    started = time.time()
    remaining = []
    for _ in range(100):
        response = client.get("/api/data/insights")
        assert response.status_code == 200, response.text
        remaining.append(_limits(response)[1])
    assert remaining == list(range(99, -1, -1))
    refused = client.get("/api/data/insights")
    assert time.time() - started < 60  # all within the key's first minute
    assert refused.status_code == 429
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert refused.json() == {"error": "Rate limit exceeded", "retry_after": retry_after}
    limit, left, reset = _limits(refused)
    assert (limit, left) == (100, 0) and abs(reset - (time.time() + retry_after)) <= 2
    assert client.get("/api/data/events").status_code == 429  # every data route: the limit is the key's
    assert _client(server, _new_key(server)).get("/api/data/insights").status_code == 200  # other keys: unaffected


def test_parallel_requests_never_exceed_the_limit(server: ApiServer) -> None:
    key = _new_key(server)

    def one(_: int) -> httpx.Response:
        with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
            return c.get("/api/data/insights")

    with ThreadPoolExecutor(max_workers=32) as pool:
        responses = list(pool.map(one, range(150)))
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(ok) == 100 and len(refused) == 50
    assert sorted(_limits(r)[1] for r in ok) == list(range(100))  # each count given out exactly once


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """Small limits: 10 a minute per key, 25 an hour for the whole install."""
    srv = sample_server(tmp_path_factory.mktemp("team"),
                        data_api={"rate_per_minute": 10, "rate_per_hour": 1000, "team_rate_per_hour": 25})
    yield srv
    stop_server(srv)


def test_the_install_wide_limit_spans_all_keys(small: ApiServer) -> None:
    first, second, third = (_client(small, _new_key(small, test=i == 2)) for i in range(3))
    for client in (first, second):
        assert [client.get("/api/data/insights").status_code for _ in range(10)] == [200] * 10
    assert first.get("/api/data/insights").status_code == 429  # its own minute is used up
    assert [third.get("/api/data/insights").status_code for _ in range(6)] == [200] * 5 + [429]
    refused = third.get("/api/data/insights")
    limit, left, _ = _limits(refused)
    assert (limit, left) == (25, 0) and int(refused.headers["retry-after"]) > 60  # the hour's window
    assert refused.json()["retry_after"] == int(refused.headers["retry-after"])
    assert third.get("/api/stats").status_code == 403  # (a test key) and the local API is not limited at all
    assert small.client().get("/api/stats").status_code == 200


def test_counts_survive_a_restart(tmp_path: Path) -> None:
    srv = sample_server(tmp_path, data_api={"rate_per_minute": 10})
    try:
        key = _new_key(srv)
        started = time.time()
        client = _client(srv, key)
        assert [_limits(client.get("/api/data/insights"))[1] for _ in range(6)] == [9, 8, 7, 6, 5, 4]
    finally:
        stop_server(srv)
    srv = start_server(srv.home, srv.claude_dir, ("--no-watch",))
    try:
        client = _client(srv, key)
        assert [_limits(client.get("/api/data/insights"))[1] for _ in range(4)] == [3, 2, 1, 0]
        refused = client.get("/api/data/insights")
        assert time.time() - started < 60, "the restart took too long for this test to mean anything"
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) <= math.ceil(60 - (time.time() - started)) + 1
    finally:
        stop_server(srv)
