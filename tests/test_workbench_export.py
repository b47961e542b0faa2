"""Exports through the real server: each format parsed back and checked against the API's own figures, file
names that carry the range, filters, errors, and the CLI writing the same data."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.api_server import REPO, ApiServer, error

JUNE = {"from": "2025-06-01", "to": "2025-06-30"}
COMPARED = ("sessions", "requests", "tool_calls", "input_tokens", "output_tokens", "cache_write_5m_tokens",
            "cache_write_1h_tokens", "cache_read_tokens", "total_tokens", "unpriced_models")


def _export(http: httpx.Client, **params: str) -> httpx.Response:
    response = http.get("/api/export", params=params)
    assert response.status_code == 200, response.text
    return response


def _file_name(response: httpx.Response) -> str:
    match = re.fullmatch(r'attachment; filename="([^"]+)"', response.headers["content-disposition"])
    assert match, response.headers["content-disposition"]
    return match.group(1)


def _assert_matches_api(totals: dict[str, Any], figures: dict[str, Any]) -> None:
    assert {k: totals[k] for k in COMPARED} == {k: figures[k] for k in COMPARED}
    assert totals["cost_usd"] == pytest.approx(figures["cost_usd"], abs=1e-6)


def _check_rows_add_up(data: dict[str, Any]) -> None:
    totals = data["totals"]
    assert (len(data["sessions"]), len(data["requests"]), len(data["tool_calls"])) == (
        totals["sessions"], totals["requests"], totals["tool_calls"])
    assert sum(r["total_tokens"] for r in data["requests"]) == totals["total_tokens"]
    assert sum(r["cost_usd"] or 0 for r in data["requests"]) == pytest.approx(totals["cost_usd"], abs=1e-6)
    assert sum(s["cost_usd"] for s in data["sessions"]) == pytest.approx(totals["cost_usd"], abs=1e-5)
    assert sum(s["requests"] for s in data["sessions"]) == totals["requests"]
    session_ids = {s["id"] for s in data["sessions"]}
    assert {r["session_id"] for r in data["requests"]} <= session_ids


def test_json_export_matches_the_api(api_client: httpx.Client) -> None:
    response = _export(api_client, format="json", **JUNE)
    assert response.headers["content-type"].startswith("application/json")
    assert _file_name(response) == "devhelion-export_2025-06-01_to_2025-06-30.json"
    data = response.json()
    assert data["export"]["range"] == {"from": "2025-06-01T04:00:00.000Z", "to": "2025-07-01T04:00:00.000Z",
                                       "label": "2025-06-01_to_2025-06-30", "timezone": "America/New_York"}
    figures = api_client.get("/api/stats", params=JUNE).json()["period"]
    assert data["totals"]["sessions"] > 0 and data["totals"]["cost_usd"] > 0
    _assert_matches_api(data["totals"], figures)
    _check_rows_add_up(data)
    assert all("2025-06-01T04" <= r["timestamp"] < "2025-07-01T04" for r in data["requests"])
    everything = _export(api_client).json()
    assert _file_name(_export(api_client)) == "devhelion-export_all-time.json"
    _assert_matches_api(everything["totals"], api_client.get("/api/stats").json()["total"])
    _check_rows_add_up(everything)


def test_filters_by_project_and_session(api_client: httpx.Client) -> None:
    project = _export(api_client, format="json", project="claude-code-log")
    assert _file_name(project) == "devhelion-export_claude-code-log_all-time.json"
    data = project.json()
    _assert_matches_api(data["totals"], api_client.get("/api/stats", params={"project": "claude-code-log"}
                                                       ).json()["total"])
    assert {s["project_name"] for s in data["sessions"]} == {"claude-code-log"}
    session = max(data["sessions"], key=lambda s: s["requests"])
    one = _export(api_client, format="json", session_id=session["id"]).json()
    assert [s["id"] for s in one["sessions"]] == [session["id"]]
    assert {r["session_id"] for r in one["requests"]} == {session["id"]}
    detail = api_client.get("/api/stats/session-breakdown", params={"session_id": session["id"]})
    assert detail.status_code == 200
    assert one["totals"]["requests"] == session["requests"] and one["totals"]["cost_usd"] == pytest.approx(
        session["cost_usd"], abs=1e-6)


def _csv(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    with archive.open(name) as raw:
        return list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline="")))


def test_csv_zip_matches_the_json_export(api_client: httpx.Client) -> None:
    response = _export(api_client, format="csv", **JUNE)
    assert response.headers["content-type"] == "application/zip"
    assert _file_name(response) == "devhelion-export_2025-06-01_to_2025-06-30.zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    assert archive.namelist() == ["sessions.csv", "requests.csv", "tool_calls.csv", "summary.csv"]
    data = _export(api_client, format="json", **JUNE).json()
    sessions, requests, tools = (_csv(archive, f"{t}.csv") for t in ("sessions", "requests", "tool_calls"))
    assert [s["id"] for s in sessions] == [s["id"] for s in data["sessions"]]
    assert [r["request_key"] for r in requests] == [r["request_key"] for r in data["requests"]]
    assert [t["tool_use_id"] for t in tools] == [t["tool_use_id"] for t in data["tool_calls"]]
    assert sum(int(r["total_tokens"]) for r in requests) == data["totals"]["total_tokens"]
    assert sum(float(r["cost_usd"] or 0) for r in requests) == pytest.approx(data["totals"]["cost_usd"], abs=1e-6)
    assert [t["input"] for t in tools] == [t["input"] or "" for t in data["tool_calls"]]  # JSON text survives CSV
    summary = {row["key"]: row["value"] for row in _csv(archive, "summary.csv")}
    assert summary["range_label"] == "2025-06-01_to_2025-06-30"
    assert int(summary["requests"]) == data["totals"]["requests"]
    assert float(summary["cost_usd"]) == data["totals"]["cost_usd"]


def test_html_report_figures_match_the_api(api_client: httpx.Client) -> None:
    response = _export(api_client, format="html", **JUNE)
    assert response.headers["content-type"].startswith("text/html")
    assert _file_name(response) == "devhelion-report_2025-06-01_to_2025-06-30.html"
    page = response.text
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert match
    report = orjson.loads(match.group(1))
    figures = api_client.get("/api/stats", params=JUNE).json()["period"]
    for key in ("sessions", "requests", "total_tokens", "tool_calls", "tool_errors"):
        assert report["totals"][key] == figures[key], key
    assert report["totals"]["cost_usd"] == pytest.approx(figures["cost_usd"], abs=1e-6)
    points = report["periods"]["points"]
    assert report["periods"]["unit"] == "day"
    assert [p["period"] for p in points][::29] == ["2025-06-01", "2025-06-30"]  # the whole range, empty days too
    assert sum(p["cost_usd"] for p in points) == pytest.approx(figures["cost_usd"], abs=1e-5)
    models = api_client.get("/api/stats/models", params=JUNE).json()
    assert report["models"] and models
    # self-contained: no script that runs, nothing fetched
    assert not re.search(r"\b(src|href)\s*=", page) and "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page and page.count('<svg class="chart"') == 4


def test_export_errors(api_client: httpx.Client) -> None:
    error(api_client.get("/api/export", params={"format": "xml"}), 400, "VALIDATION_ERROR")
    body = error(api_client.get("/api/export", params={"from": "June"}), 400, "VALIDATION_ERROR")
    assert body["details"]["parameter"] == "from"
    error(api_client.get("/api/export", params={"from": "2025-07-01", "to": "2025-06-01"}), 400, "VALIDATION_ERROR")
    error(api_client.get("/api/export", params={"session_id": "no-such-session"}), 404, "NOT_FOUND")
    empty = _export(api_client, format="json", **{"from": "2001-01-01", "to": "2001-01-02"}).json()
    assert empty["totals"]["requests"] == 0 and empty["sessions"] == []


def test_cli_export_writes_the_same_data(api_server: ApiServer, tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "desktop", "export", "--format", "json", "--from", JUNE["from"],
                          "--to", JUNE["to"], "-o", str(tmp_path), "--no-ingest"], cwd=REPO, env=api_server.env(),
                         capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr
    written = tmp_path / "devhelion-export_2025-06-01_to_2025-06-30.json"
    cli = orjson.loads(written.read_bytes())
    api = _export(api_server.client(), format="json", **JUNE).json()
    assert {k: v for k, v in cli.items() if k != "export"} == {k: v for k, v in api.items() if k != "export"}
    bad = subprocess.run([sys.executable, "-m", "desktop", "export", "--from", "nope", "--no-ingest"], cwd=REPO,
                         env=api_server.env(), capture_output=True, timeout=120)
    assert bad.returncode == 2 and b"--from" in bad.stderr
