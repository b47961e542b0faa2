"""Security of the real server: loopback bind, Host and Origin checks, no CORS, the bearer key and its file."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import psutil
import pytest

from tests.api_server import ApiServer, build_sample_logs, data, error, start_server, stop_server

PROTECTED = [
    ("GET", "/api/analytics/overview"), ("GET", "/api/analytics/sessions"), ("GET", "/api/analytics/sessions/x"),
    ("GET", "/api/analytics/daily-usage"), ("GET", "/api/analytics/model-distribution"),
    ("GET", "/api/analytics/tool-usage"), ("GET", "/api/sync/status"), ("GET", "/api/sync/preview"),
    ("GET", "/api/sync/stats"), ("POST", "/api/sync/run"), ("POST", "/api/sync/reset"), ("GET", "/api/config"),
    ("POST", "/api/config"), ("GET", "/api/no-such-route"), ("GET", "/api"),
]


def test_binds_loopback_only_by_default(api_server: ApiServer) -> None:
    listening = [c.laddr for c in psutil.Process(api_server.process.pid).net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening and all(addr.ip == "127.0.0.1" for addr in listening)
    assert {addr.port for addr in listening} == {api_server.port}


def test_health_needs_no_key(api_server: ApiServer) -> None:
    health = data(httpx.get(f"{api_server.base_url}/api/health"))
    assert health["status"] == "ok" and health["version"]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_other_api_route_needs_the_key(api_server: ApiServer, method: str, path: str) -> None:
    with api_server.client(authenticated=False) as anonymous:
        response = anonymous.request(method, path)
        err = error(response, 401, "UNAUTHORIZED")
        assert "Authorization: Bearer" in err["message"]
        assert response.headers["www-authenticate"].startswith("Bearer")
        for header in (f"Bearer {api_server.key}x", "Bearer", f"Basic {api_server.key}", api_server.key,
                       f"Bearer sk_live_{'A' * 43}"):
            error(anonymous.request(method, path, headers={"Authorization": header}), 401, "UNAUTHORIZED")


def test_key_scheme_is_case_insensitive(api_server: ApiServer) -> None:
    response = httpx.get(f"{api_server.base_url}/api/sync/stats", headers={"Authorization": f"bearer {api_server.key}"})
    assert data(response)["totalSessions"] > 0


def test_key_file_is_private_and_well_formed(api_server: ApiServer) -> None:
    path = api_server.home / "api-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text().strip()
    assert key == api_server.key and key.startswith("sk_live_") and len(key) >= len("sk_live_") + 43


@pytest.mark.parametrize("host", [
    "evil.example", "evil.example:8787", "localhost.evil.example", "127.0.0.1.nip.io", "10.0.0.1", "0.0.0.0",
    "[::2]:80", "localhost:abc", "", "127.0.0.1:80@evil.example",
])
def test_foreign_host_headers_are_refused(api_server: ApiServer, host: str) -> None:
    for path in ("/api/health", "/api/analytics/overview", "/", "/api/docs"):
        response = httpx.get(f"{api_server.base_url}{path}", headers={"Host": host, **api_server.auth})
        error(response, 400, "INVALID_HOST")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "LOCALHOST", "localhost:{port}",
                                  "127.0.0.1:{port}", "[::1]:{port}"])
def test_loopback_host_headers_are_accepted(api_server: ApiServer, host: str) -> None:
    response = httpx.get(f"{api_server.base_url}/api/sync/stats",
                         headers={"Host": host.format(port=api_server.port), **api_server.auth})
    assert data(response)["totalSessions"] > 0


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://localhost.evil.example",
                                    "http://127.0.0.1:1", "https://evil.example:{port}"])
@pytest.mark.parametrize(("method", "path"), [("POST", "/api/sync/run"), ("POST", "/api/sync/reset"),
                                              ("POST", "/api/config"), ("DELETE", "/api/config"),
                                              ("PUT", "/api/sync/run")])
def test_cross_site_state_changes_are_refused(api_server: ApiServer, api_client: httpx.Client, origin: str,
                                              method: str, path: str) -> None:
    before = data(api_client.get("/api/sync/status"))
    response = api_client.request(method, path, headers={"Origin": origin.format(port=api_server.port)}, json={})
    error(response, 403, "FORBIDDEN_ORIGIN")
    after = data(api_client.get("/api/sync/status"))
    assert after["lastSync"] == before["lastSync"] and not after["isRunning"]


def test_browser_fetch_metadata_without_origin_is_refused(api_client: httpx.Client) -> None:
    error(api_client.post("/api/sync/reset", headers={"Sec-Fetch-Site": "cross-site"}), 403, "FORBIDDEN_ORIGIN")


def test_same_origin_state_change_is_allowed(api_server: ApiServer, api_client: httpx.Client) -> None:
    response = api_client.post("/api/config", json={}, headers={"Origin": api_server.base_url})
    assert data(response)["timezone"]


def test_cross_site_reads_get_no_cors_headers(api_server: ApiServer, api_client: httpx.Client) -> None:
    response = api_client.get("/api/analytics/overview", headers={"Origin": "http://evil.example"})
    assert response.status_code == 200
    assert not any(h.lower().startswith("access-control-") for h in response.headers)
    preflight = api_client.options("/api/sync/run", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code >= 400
    assert not any(h.lower().startswith("access-control-") for h in preflight.headers)


def test_openapi_and_docs_are_served(api_server: ApiServer) -> None:
    schema = httpx.get(f"{api_server.base_url}/api/openapi.json").json()
    paths = schema["paths"]
    for path in ("/api/analytics/overview", "/api/analytics/sessions", "/api/analytics/sessions/{session_id}",
                 "/api/analytics/daily-usage", "/api/analytics/model-distribution", "/api/analytics/tool-usage",
                 "/api/sync/status", "/api/sync/preview", "/api/sync/stats", "/api/sync/run", "/api/sync/reset",
                 "/api/config", "/api/health"):
        assert path in paths, path
    assert schema["components"]["securitySchemes"]["bearerKey"]["scheme"] == "bearer"
    assert paths["/api/health"]["get"]["security"] == []
    assert paths["/api/analytics/overview"]["get"]["security"] == [{"bearerKey": []}]
    assert not any(p.startswith("/_nicegui") for p in paths)
    docs = httpx.get(f"{api_server.base_url}/api/docs")
    assert docs.status_code == 200 and "/api/openapi.json" in docs.text


def test_key_survives_restart_and_widened_permissions_are_narrowed(tmp_path: Path) -> None:
    claude = build_sample_logs(tmp_path / "claude")
    first = start_server(tmp_path / "home", claude)
    key = first.key
    assert stop_server(first) == 0
    key_file = tmp_path / "home" / "api-key"
    key_file.chmod(0o644)
    second = start_server(tmp_path / "home", claude)
    try:
        assert second.key == key
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert data(httpx.get(f"{second.base_url}/api/sync/stats", headers=second.auth))["totalSessions"] > 0
    finally:
        assert stop_server(second) == 0
    assert "Traceback" not in second.log() and "Devhelion API stopped" in second.log()


def test_damaged_key_file_stops_start_up_with_a_clear_message(tmp_path: Path) -> None:
    claude = build_sample_logs(tmp_path / "claude")
    home = tmp_path / "home"
    home.mkdir()
    (home / "api-key").write_text("oops\n")
    with pytest.raises(RuntimeError, match="api-key is damaged"):
        start_server(home, claude)
