"""Key lifecycle through a real server: /api/keys, every key state at the middleware, test-key scope, the local key
(imported from an existing file, rotated over REST or by the CLI while the app runs)."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from tests.api_server import (
    REPO,
    ApiServer,
    build_sample_logs,
    error,
    sample_server,
    start_server,
    stop_server,
    write_config,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    srv = sample_server(tmp_path_factory.mktemp("keys"))
    yield srv
    stop_server(srv)


def _as(server: ApiServer, key: str) -> httpx.Client:
    return server.client_for(key)


def _create(server: ApiServer, **body: Any) -> dict[str, Any]:
    response = server.client().post("/api/keys", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _data_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The data API's error shape (the reference's): ``{"error": message, "code": ...}``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and isinstance(body["error"], str) and body["error"], body
    return body


def _archive(server: ApiServer) -> sqlite3.Connection:
    return sqlite3.connect(server.home / "devhelion.db", timeout=10, isolation_level=None)


def test_the_local_key_is_a_live_key(server: ApiServer) -> None:
    [local] = [k for k in server.client().get("/api/keys").json()["keys"] if k["local"]]
    assert local["name"] == "local" and local["mode"] == "live" and local["status"] == "active"
    assert local["expires_at"] is None and server.key.startswith(local["prefix"])


def test_live_key_lifecycle(server: ApiServer) -> None:
    created = _create(server, name="lifecycle")
    key = created["key"]
    assert key.startswith("sk_live_") and created["mode"] == "live" and created["status"] == "active"
    assert created["expires_at"] > created["created_at"] and created["last_used_at"] is None
    client = _as(server, key)
    assert client.get("/api/data/events", params={"limit": 1}).status_code == 200
    assert client.get("/api/stats").status_code == 200  # live keys use the whole local API
    deadline = time.monotonic() + 10
    while True:  # last use is recorded in the background
        [listed] = [k for k in server.client().get("/api/keys").json()["keys"] if k["id"] == created["id"]]
        if listed["last_used_at"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert listed["last_used_at"] is not None and "key" not in listed

    rotated = server.client().post("/api/keys/lifecycle/rotate").json()
    assert rotated["name"] == "lifecycle" and rotated["key"] != key and rotated["id"] != created["id"]
    revoked = _data_error(client.get("/api/data/events"), 401, "KEY_REVOKED")
    assert "was revoked at" in revoked["error"] and "lifecycle" in revoked["error"]
    err = error(client.get("/api/stats"), 401, "KEY_REVOKED")  # other surfaces keep their envelope
    assert "revoked" in err["message"]
    new = _as(server, rotated["key"])
    assert new.get("/api/data/events", params={"limit": 1}).status_code == 200

    gone = server.client().post(f"/api/keys/{rotated['prefix']}/revoke").json()
    assert gone["success"] is True and gone["key"]["status"] == "revoked"
    _data_error(new.get("/api/data/insights"), 401, "KEY_REVOKED")


def test_expired_keys_get_a_clear_401(server: ApiServer) -> None:
    created = _create(server, name="short-lived", expiresDays=1)
    conn = _archive(server)
    conn.execute("UPDATE api_key SET expires_ms = ? WHERE public_id = ?", (int(time.time() * 1000) - 1, created["id"]))
    conn.close()
    client = _as(server, created["key"])
    response = client.get("/api/data/events")
    body = _data_error(response, 401, "KEY_EXPIRED")
    assert "expired at" in body["error"] and "devhelion keys rotate short-lived" in body["error"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "x-ratelimit-limit" not in response.headers
    error(client.get("/api/sessions"), 401, "KEY_EXPIRED")
    renewed = server.client().post("/api/keys/short-lived/rotate").json()  # rotation renews an expired key
    assert renewed["status"] == "active" and _as(server, renewed["key"]).get("/api/data/events").status_code == 200


def test_unknown_and_missing_keys(server: ApiServer) -> None:
    with server.client(authenticated=False) as anonymous:
        _data_error(anonymous.get("/api/data/events"), 401, "UNAUTHORIZED")
        _data_error(anonymous.get("/api/keys"), 401, "UNAUTHORIZED")
        bogus = anonymous.get("/api/data/events", headers={"Authorization": "Bearer sk_live_" + "x" * 43})
        assert _data_error(bogus, 401, "UNAUTHORIZED")["error"] == "Invalid API key"


def test_test_keys_only_read_the_data_api(server: ApiServer) -> None:
    created = _create(server, name="sandbox", test=True)
    assert created["key"].startswith("sk_test_") and created["mode"] == "test"
    client = _as(server, created["key"])
    events = client.get("/api/data/events", params={"limit": 1}).json()
    assert events["events"][0]["user_id"] == "usr_demo"
    for method, path in (("GET", "/api/stats"), ("GET", "/api/analytics/overview"), ("POST", "/api/sync/run")):
        assert "sk_test_ keys only read" in error(client.request(method, path), 403, "TEST_KEY_FORBIDDEN")["message"]
    for method, path in (("GET", "/api/keys"), ("POST", "/api/keys"), ("POST", "/api/keys/sandbox/revoke")):
        body = _data_error(client.request(method, path, json={"name": "x"}), 403, "TEST_KEY_FORBIDDEN")
        assert "live key" in body["error"]


def test_key_management_errors(server: ApiServer) -> None:
    client = server.client()
    _create(server, name="taken")
    assert "already named" in _data_error(client.post("/api/keys", json={"name": "taken"}), 409, "CONFLICT")["error"]
    assert _data_error(client.post("/api/keys", json={"name": ""}), 400, "VALIDATION_ERROR")["parameter"] == "name"
    too_long = client.post("/api/keys", json={"name": "n", "expiresDays": 0})
    assert _data_error(too_long, 400, "VALIDATION_ERROR")["parameter"] == "expiresDays"
    assert _data_error(client.post("/api/keys", json={"name": "n", "mode": "x"}), 400, "VALIDATION_ERROR")
    _data_error(client.post("/api/keys/no-such-key/rotate"), 404, "NOT_FOUND")
    _data_error(client.post("/api/keys/no-such-key/revoke"), 404, "NOT_FOUND")
    _data_error(client.get("/api/keys/no-such-key"), 404, "NOT_FOUND")


def _cli(server: ApiServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop", "keys", *args], cwd=REPO, env=server.env(),
                          capture_output=True, text=True, timeout=120)


async def _ws_hello(server: ApiServer, key: str) -> dict[str, Any]:
    url = f"ws://127.0.0.1:{server.port}/ws?token={key}"
    async with websockets.connect(url, open_timeout=10) as ws:
        return orjson.loads(await asyncio.wait_for(ws.recv(), 10))


def test_rotating_the_local_key(tmp_path: Path) -> None:
    srv = sample_server(tmp_path)
    try:
        old = srv.key
        rotated = srv.client().post("/api/keys/local/rotate").json()
        new = rotated["key"]
        assert rotated["local"] is True and rotated["expires_at"] is None
        assert (srv.home / "api-key").read_text().strip() == new  # local tools read the new key
        error(_as(srv, old).get("/api/stats"), 401, "KEY_REVOKED")
        assert _as(srv, new).get("/api/stats").status_code == 200
        assert asyncio.run(_ws_hello(srv, new))["type"] == "hello"

        result = _cli(srv, "rotate", "local", "--json")  # the CLI, while the app runs
        assert result.returncode == 0, result.stderr
        newest = orjson.loads(result.stdout)["key"]
        assert (srv.home / "api-key").read_text().strip() == newest
        error(_as(srv, new).get("/api/stats"), 401, "KEY_REVOKED")
        assert _as(srv, newest).get("/api/stats").status_code == 200
        assert asyncio.run(_ws_hello(srv, newest))["type"] == "hello"  # /ws follows the key file
    finally:
        stop_server(srv)


def test_an_existing_key_file_keeps_working(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(home)
    legacy = "sk_live_" + "L" * 43  # the api-key file of an install from before key management
    (home / "api-key").write_text(legacy + "\n")
    (home / "api-key").chmod(0o600)
    srv = start_server(home, build_sample_logs(tmp_path / "claude"), ("--no-watch",))
    try:
        assert srv.key == legacy
        assert _as(srv, legacy).get("/api/data/events", params={"limit": 1}).status_code == 200
        [local] = _as(srv, legacy).get("/api/keys").json()["keys"]
        assert local["local"] and local["prefix"] == legacy[:16] and local["expires_at"] is None
    finally:
        stop_server(srv)
    srv = start_server(home, tmp_path / "claude", ("--no-watch",))  # restarts import nothing twice
    try:
        assert len(_as(srv, legacy).get("/api/keys").json()["keys"]) == 1
    finally:
        stop_server(srv)
