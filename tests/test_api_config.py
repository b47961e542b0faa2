"""GET/POST /api/config: validated, persisted to config.json, applied without a restart; retention."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import orjson
import pytest

from tests.api_server import TIMEZONE, ApiServer, cli, data, error, sample_server, stop_server
from tests.test_api_sync import _lines, _turn

DEFAULTS = {"timezone": TIMEZONE, "logRoots": [], "startOfWeek": 0, "priceOverrides": {}, "modelAliases": {},
            "retentionDays": None, "notifications": {"enabled": True, "dailyCostLimitUsd": None, "syncErrors": True,
                                                     "quietHours": None}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """Shared by this module's tests; each one's changes are undone through the API afterwards."""
    srv = sample_server(tmp_path_factory.mktemp("config"))
    yield srv
    stop_server(srv)


@pytest.fixture
def client(server: ApiServer) -> Iterator[httpx.Client]:
    http = server.client()
    yield http
    data(http.post("/api/config", json=DEFAULTS))
    server.wait_for_sync()


def _file(server: ApiServer) -> dict[str, Any]:
    return orjson.loads((server.home / "config.json").read_bytes())


def test_defaults(server: ApiServer, client: httpx.Client) -> None:
    config = data(client.get("/api/config"))
    assert config["timezone"] == config["effectiveTimezone"] == TIMEZONE
    assert config["logRoots"] == [] and config["defaultLogRoots"] == [str(server.claude_dir)]
    assert config["effectiveLogRoots"] == [str(server.claude_dir)]
    assert config["retentionDays"] is None  # keep forever unless the user says otherwise
    assert config["notifications"] == {"enabled": True, "dailyCostLimitUsd": None, "syncErrors": True,
                                       "quietHours": None}
    assert config["priceOverrides"] == {} and config["modelAliases"] == {} and config["startOfWeek"] == 0
    assert config["priceTable"].startswith("litellm-")


def test_timezone_change_applies_at_once_and_persists(server: ApiServer, client: httpx.Client) -> None:
    new_york = data(client.get("/api/analytics/daily-usage"))
    saved = data(client.post("/api/config", json={"timezone": "Asia/Tokyo"}))
    assert saved["timezone"] == saved["effectiveTimezone"] == "Asia/Tokyo" and saved["syncStarted"] is False
    assert _file(server)["timezone"] == "Asia/Tokyo"
    tokyo = data(client.get("/api/analytics/daily-usage"))
    assert [d["date"] for d in tokyo] != [d["date"] for d in new_york]
    assert sum(d["totalTokens"] for d in tokyo) == sum(d["totalTokens"] for d in new_york)
    report = cli(server, "report", "daily", "--no-ingest")  # the CLI reads the same, saved setting
    assert report["timezone"] == "Asia/Tokyo" and [r["date"] for r in report["daily"]] == [d["date"] for d in tokyo]
    overview = data(client.get("/api/analytics/overview", params={"dateFrom": "2025-06-08", "dateTo": "2025-06-08"}))
    assert overview["dateRange"]["from"] == "2025-06-07T15:00:00.000Z"  # Tokyo midnight
    machine = data(client.post("/api/config", json={"timezone": None}))
    assert machine["timezone"] is None and machine["effectiveTimezone"]


def test_price_override_and_alias_apply_without_restart(server: ApiServer, client: httpx.Client) -> None:
    models = {m["model"]: m for m in data(client.get("/api/analytics/model-distribution"))}
    assert not models["claude-3-sonnet-20240229"]["priced"]
    sonnet = models["claude-sonnet-4-20250514"]
    overrides = {"claude-3-sonnet-20240229": {"input": "3", "output": "15"},
                 "claude-sonnet-4-20250514": {"input": "0", "output": "0", "cache_write_5m": "0", "cache_write_1h": "0",
                                              "cache_read": "0"}}
    saved = data(client.post("/api/config", json={"priceOverrides": overrides}))
    assert saved["priceOverrides"] == overrides and "+user-" in saved["priceTable"]
    after = {m["model"]: m for m in data(client.get("/api/analytics/model-distribution"))}
    assert after["claude-3-sonnet-20240229"]["priced"] and after["claude-3-sonnet-20240229"]["totalCost"] > 0
    assert after["claude-sonnet-4-20250514"]["totalCost"] < sonnet["totalCost"]
    overview = data(client.get("/api/analytics/overview"))
    assert "claude-3-sonnet-20240229" not in overview["unpricedModels"]
    report = cli(server, "report", "daily", "--no-ingest")
    assert Decimal(str(report["totals"]["totalCost"])) == Decimal(str(overview["totalCost"]))
    data(client.post("/api/config", json={"priceOverrides": {}, "modelAliases": {"claude-3-sonnet-20240229":
                                                                                 "claude-sonnet-4-5"}}))
    aliased = {m["model"]: m for m in data(client.get("/api/analytics/model-distribution"))}
    assert aliased["claude-3-sonnet-20240229"]["priced"] and aliased["claude-sonnet-4-20250514"]["totalCost"] > 0


def test_new_log_root_is_read_at_once(server: ApiServer, client: httpx.Client,
                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("extra-root")
    session = root / "projects" / "-work-extra" / "extra-session.jsonl"
    session.parent.mkdir(parents=True)
    session.write_bytes(_lines(_turn("extra-session", "/work/extra", 1)))
    error(client.get("/api/analytics/sessions/extra-session"), 404, "NOT_FOUND")
    saved = data(client.post("/api/config", json={"logRoots": [str(root)]}))
    assert saved["logRoots"] == [str(root)] and str(root) in saved["effectiveLogRoots"]
    assert saved["syncStarted"] is True
    server.wait_for_sync()
    assert data(client.get("/api/analytics/sessions/extra-session"))["session"]["projectPath"] == "/work/extra"
    assert _file(server)["extra_roots"] == [str(root)]


def test_notifications_merge_and_persist(server: ApiServer, client: httpx.Client) -> None:
    saved = data(client.post("/api/config", json={"notifications": {"dailyCostLimitUsd": 12.5}}))
    assert saved["notifications"] == {"enabled": True, "dailyCostLimitUsd": "12.5", "syncErrors": True,
                                      "quietHours": None}
    saved = data(client.post("/api/config", json={"notifications": {"enabled": False, "quietHours": "22:00-7:30"}}))
    assert saved["notifications"] == {"enabled": False, "dailyCostLimitUsd": "12.5", "syncErrors": True,
                                      "quietHours": "22:00-07:30"}
    assert _file(server)["notifications"]["daily_cost_limit_usd"] == "12.5"
    assert data(client.get("/api/config"))["notifications"]["enabled"] is False


def test_unknown_keys_in_the_file_survive_a_save(server: ApiServer, client: httpx.Client) -> None:
    path = server.home / "config.json"
    path.write_bytes(orjson.dumps({**_file(server), "future_setting": {"x": 1}}))
    data(client.post("/api/config", json={"startOfWeek": "sunday"}))
    saved = _file(server)
    assert saved["future_setting"] == {"x": 1} and saved["start_of_week"] == 6


@pytest.mark.parametrize(("body", "field"), [
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": 5}, "timezone"),
    ({"startOfWeek": 7}, "startOfWeek"),
    ({"startOfWeek": "someday"}, "startOfWeek"),
    ({"retentionDays": 0}, "retentionDays"),
    ({"retentionDays": -3}, "retentionDays"),
    ({"retentionDays": "30"}, "retentionDays"),
    ({"retentionDays": 10**9}, "retentionDays"),
    ({"retentionDays": 1.5}, "retentionDays"),
    ({"priceOverrides": {"claude-new": {"input": "1"}}}, "priceOverrides"),
    ({"priceOverrides": {"claude-opus-4-6": {"input": "-1"}}}, "priceOverrides"),
    ({"priceOverrides": {"claude-opus-4-6": {"inptu": "1"}}}, "priceOverrides"),
    ({"priceOverrides": {"claude-opus-4-6": {"input": "cheap"}}}, "priceOverrides"),
    ({"priceOverrides": {"claude-opus-4-6": "5"}}, "priceOverrides"),
    ({"modelAliases": {"a": ""}}, "modelAliases"),
    ({"logRoots": "/tmp"}, "logRoots"),
    ({"logRoots": [""]}, "logRoots"),
    ({"logRoots": None}, "logRoots"),
    ({"notifications": {"enabled": "yes"}}, "notifications"),
    ({"notifications": {"dailyCostLimitUsd": -1}}, "notifications"),
    ({"notifications": {"dailyCostLimitUsd": "lots"}}, "notifications"),
    ({"notifications": {"sound": True}}, "notifications"),
    ({"notifications": {"quietHours": "22-7"}}, "notifications"),
    ({"notifications": {"quietHours": "25:00-07:00"}}, "notifications"),
    ({"colour": "blue"}, "colour"),
])
def test_invalid_changes_are_refused_and_nothing_is_saved(server: ApiServer, client: httpx.Client, body: dict,
                                                          field: str) -> None:
    before_file, before = _file(server), data(client.get("/api/config"))
    err = error(client.post("/api/config", json=body), 400, "VALIDATION_ERROR")
    assert field in str(err["details"]) or field in err["message"], err
    assert _file(server) == before_file and data(client.get("/api/config")) == before


@pytest.mark.parametrize("body", [[], "timezone", 5, None])
def test_config_body_must_be_an_object(server: ApiServer, client: httpx.Client, body: Any) -> None:
    error(client.post("/api/config", json=body), 400, "VALIDATION_ERROR")


def test_retention_prunes_old_sessions_only_when_set(own_server: ApiServer) -> None:
    client = own_server.client()
    sessions = data(client.get("/api/analytics/sessions", params={"limit": 1000}))["sessions"]
    ends = sorted(datetime.fromisoformat(s["endTime"]) for s in sessions)
    now = datetime.now(UTC)
    # a retention that keeps the newer half, chosen in a gap between sessions so clock drift cannot matter
    middle = ends[len(ends) // 2]
    days = max(1, (now - middle).days)
    cutoff = now - timedelta(days=days)
    if any(abs((end - cutoff).total_seconds()) < 3600 for end in ends):
        days += 1
        cutoff = now - timedelta(days=days)
    keep = {s["id"] for s in sessions if datetime.fromisoformat(s["endTime"]) >= cutoff}
    assert 0 < len(keep) < len(sessions)
    saved = data(client.post("/api/config", json={"retentionDays": days}))
    assert saved["retentionDays"] == days and saved["syncStarted"] is True
    own_server.wait_for_sync()
    after = data(client.get("/api/analytics/sessions", params={"limit": 1000}))["sessions"]
    assert {s["id"] for s in after} == keep
    stats = data(client.get("/api/sync/stats"))
    assert stats["retentionDays"] == days and stats["totalSessions"] == len(keep)
    overview = data(client.get("/api/analytics/overview"))
    report = cli(own_server, "report", "daily", "--no-ingest")  # pruned usage is gone from every surface
    assert overview["totalTokens"] == report["totals"]["totalTokens"]
    assert data(client.post("/api/config", json={"retentionDays": None}))["retentionDays"] is None
    assert _file(own_server)["retention_days"] is None


def test_config_needs_the_key(server: ApiServer) -> None:
    anonymous = httpx.Client(base_url=server.base_url)
    error(anonymous.get("/api/config"), 401, "UNAUTHORIZED")
    error(anonymous.post("/api/config", json={"timezone": "UTC"}), 401, "UNAUTHORIZED")
    anonymous.close()
    assert _file(server)["timezone"] == TIMEZONE
