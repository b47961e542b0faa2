"""Budgets through the real server and the real CLI: the REST contract, 400s naming the field, spend scoped to a
project and a model, the same figures from the CLI; and the dashboard's session gate."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.api_server import REPO, ApiServer, data, error, start_server, stop_server, write_config
from tests.budget_tools import append, line_cost, spend_line


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    tmp = tmp_path_factory.mktemp("budgets")
    claude = tmp / "claude"
    now = int(time.time() * 1000)
    append(claude / "projects" / "-work-app" / "s1.jsonl",
           spend_line(1, now - 2000, 100_000), spend_line(2, now - 1000, 200_000))
    append(claude / "projects" / "-work-site" / "s2.jsonl",
           spend_line(3, now - 1500, 50_000, session="s2", cwd="/work/site", model="claude-opus-4-6"))
    write_config(tmp / "home", timezone="UTC")
    server = start_server(tmp / "home", claude, ("--no-watch",))
    yield server
    stop_server(server)


@pytest.fixture
def client(server: ApiServer) -> Iterator[httpx.Client]:
    client = server.client()
    yield client
    for budget in data(client.get("/api/budgets")):
        client.delete(f"/api/budgets/{budget['id']}")


def test_create_list_update_delete(client: httpx.Client) -> None:
    created = data(client.post("/api/budgets", json={"name": "Monthly", "amount": 100}), 201)
    assert {k: created[k] for k in ("name", "amount", "period", "warning_threshold", "project", "model",
                                    "warn_on_forecast", "muted")} == {
        "name": "Monthly", "amount": 100.0, "period": "monthly", "warning_threshold": 0.8, "project": None,
        "model": None, "warn_on_forecast": False, "muted": False}
    weekly = data(client.post("/api/budgets", json={"name": "Weekly", "amount": "25.50", "period": "weekly",
                                                      "warning_threshold": 0.5, "project": "app"}), 201)
    assert [b["name"] for b in data(client.get("/api/budgets"))] == ["Monthly", "Weekly"]
    changed = data(client.put(f"/api/budgets/{weekly['id']}", json={"amount": 30, "project": None, "muted": True}))
    assert (changed["amount"], changed["project"], changed["muted"], changed["period"]) == (30.0, None, True,
                                                                                          "weekly")
    assert data(client.delete(f"/api/budgets/{created['id']}")) == {"id": created["id"], "deleted": True}
    assert [b["name"] for b in data(client.get("/api/budgets"))] == ["Weekly"]
    error(client.delete(f"/api/budgets/{created['id']}"), 404, "NOT_FOUND")
    error(client.put("/api/budgets/999999", json={"amount": 1}), 404, "NOT_FOUND")


@pytest.mark.parametrize(("body", "field"), [
    ({"amount": 10}, "name"),
    ({"name": "A"}, "amount"),
    ({"name": "A", "amount": -3}, "amount"),
    ({"name": "A", "amount": "ten"}, "amount"),
    ({"name": "A", "amount": True}, "amount"),
    ({"name": "A", "amount": 10, "period": "yearly"}, "period"),
    ({"name": "A", "amount": 10, "warning_threshold": 1.5}, "warning_threshold"),
    ({"name": "A", "amount": 10, "warning_threshold": "most"}, "warning_threshold"),
    ({"name": "A", "amount": 10, "project": 12}, "project"),
    ({"name": "A", "amount": 10, "muted": "no"}, "muted"),
    ({"name": "A", "amount": 10, "colour": "red"}, "colour"),
])
def test_invalid_bodies_are_400_naming_the_field(client: httpx.Client, body: dict, field: str) -> None:
    err = error(client.post("/api/budgets", json=body), 400, "VALIDATION_ERROR")
    assert field in err["message"]
    details = err["details"]
    assert details.get("field") == field or any(field in e["location"] for e in details.get("errors", []))
    assert data(client.get("/api/budgets")) == []


def test_put_validates_too_and_names_stay_unique(client: httpx.Client) -> None:
    first = data(client.post("/api/budgets", json={"name": "One", "amount": 1}), 201)
    data(client.post("/api/budgets", json={"name": "Two", "amount": 2}), 201)
    err = error(client.put(f"/api/budgets/{first['id']}", json={"name": "two"}), 400, "VALIDATION_ERROR")
    assert err["details"] == {"field": "name"}
    err = error(client.put(f"/api/budgets/{first['id']}", json={"period": "hourly"}), 400, "VALIDATION_ERROR")
    assert err["details"] == {"field": "period"} and "period" in err["message"]
    error(client.put("/api/budgets/0", json={"amount": 1}), 400, "VALIDATION_ERROR")


def test_status_prices_the_requests_of_the_period_scoped_to_project_and_model(server: ApiServer,
                                                                              client: httpx.Client) -> None:
    sonnet = line_cost(100_000) + line_cost(200_000)
    opus = line_cost(50_000, "claude-opus-4-6")
    for body in ({"name": "All", "amount": 100, "period": "daily"},
                 {"name": "App", "amount": float(sonnet) / 0.9, "period": "weekly", "project": "/work/app"},
                 {"name": "Opus", "amount": float(opus) / 2, "period": "monthly", "model": "opus"},
                 {"name": "Site sonnet", "amount": 1, "project": "site", "model": "sonnet"}):
        data(client.post("/api/budgets", json=body), 201)
    rows = {r["name"]: r for r in data(client.get("/api/budgets/status"))}
    assert rows["All"]["current_spend"] == pytest.approx(float(sonnet + opus)) and rows["All"]["requests"] == 3
    assert rows["All"]["status"] == "ok" and rows["All"]["period_key"].startswith("daily:")
    assert rows["App"]["current_spend"] == pytest.approx(float(sonnet)) and rows["App"]["status"] == "warning"
    assert rows["App"]["percentage_used"] == pytest.approx(90.0, abs=0.01)
    assert rows["Opus"]["status"] == "exceeded" and rows["Opus"]["percentage_used"] == pytest.approx(200.0, abs=0.01)
    assert rows["Site sonnet"]["current_spend"] == 0 and rows["Site sonnet"]["status"] == "ok"
    for row in rows.values():
        assert row["period_start"] < row["period_end"] and row["forecast_status"] in ("ok", "warning", "exceeded")
    cli_rows = {r["name"]: r for r in _cli(server, "budgets", "status", "--json", "--no-ingest")}
    assert {n: r["current_spend"] for n, r in cli_rows.items()} == {n: r["current_spend"] for n, r in rows.items()}
    assert {n: r["status"] for n, r in cli_rows.items()} == {n: r["status"] for n, r in rows.items()}


def test_budgets_need_the_key(server: ApiServer) -> None:
    with server.client(authenticated=False) as anonymous:
        error(anonymous.get("/api/budgets/status"), 401, "UNAUTHORIZED")
        error(anonymous.post("/api/budgets", json={"name": "x", "amount": 1}), 401, "UNAUTHORIZED")


def _cli(server: ApiServer, *args: str, check: bool = True) -> object:
    result = subprocess.run([sys.executable, "-m", "desktop", *args], cwd=REPO, env=server.env(),
                            capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr
    return orjson.loads(result.stdout) if "--json" in args else result


def test_cli_add_list_rm(server: ApiServer, client: httpx.Client) -> None:
    added = _cli(server, "budgets", "add", "From CLI", "42.5", "--period", "weekly", "--model", "opus",
                 "--forecast", "--json")
    assert added["amount"] == 42.5 and added["warn_on_forecast"] is True and added["model"] == "opus"
    assert [b["name"] for b in data(client.get("/api/budgets"))] == ["From CLI"]  # the server sees it at once
    table = _cli(server, "budgets", "list")
    assert "From CLI" in table.stdout and "model opus" in table.stdout
    refused = _cli(server, "budgets", "add", "Bad", "0", check=False)
    assert refused.returncode == 2 and "amount" in refused.stderr
    status = _cli(server, "budgets", "status", "--no-ingest")
    assert "From CLI" in status.stdout and "weekly" in status.stdout
    assert "Deleted budget" in _cli(server, "budgets", "rm", "from cli").stdout
    assert data(client.get("/api/budgets")) == []
    missing = _cli(server, "budgets", "rm", "nothing", check=False)
    assert missing.returncode == 2 and "no budget" in missing.stderr


def test_dashboard_needs_a_session_cookie(server: ApiServer) -> None:
    with httpx.Client(base_url=server.base_url, timeout=30) as browser:
        page = browser.get("/")
        assert page.status_code == 401 and "API key" in page.text and "<form" in page.text
        assert str(server.home / "api-key") in page.text
        assert browser.get("/_nicegui_ws/socket.io/?EIO=4&transport=polling").status_code == 401
        static = browser.get("/favicon.ico")
        assert static.status_code == 200
        wrong = browser.post("/auth/login", data={"key": "sk_live_wrong", "next": "/"})
        assert wrong.status_code == 401 and "not the API key" in wrong.text
        signed_in = browser.post("/auth/login", data={"key": server.key, "next": "//evil.example/"})
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/"  # no open redirect
        cookie = signed_in.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        home = browser.get("/")
        assert home.status_code == 200 and "Devhelion" in home.text
    with httpx.Client(base_url=server.base_url, timeout=30) as window:
        link = data(window.post("/api/dashboard/token", headers=server.auth))
        opened = window.get(link["path"])
        assert opened.status_code == 303 and window.get("/").status_code == 200
    with httpx.Client(base_url=server.base_url, timeout=30) as other:
        reused = other.get(link["path"])  # a one-time link works once
        assert reused.status_code == 401 and other.get("/").status_code == 401
        other.cookies.set("devhelion_session", "1700000000.forged")
        assert other.get("/").status_code == 401
