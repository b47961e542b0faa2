"""Reports: local-time buckets across DST, exact costs per token class, unpriced models, the CLI end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from store.db import open_archive
from store.ingest.runner import run_ingest
from store.pricing import PriceTable
from store.reports.usage import Filters, usage_by_period
from store.timezones import parse_date_arg, resolve_timezone

REPO = Path(__file__).resolve().parents[1]


def _request(ts: str, model: str = "claude-opus-4-6", *, rid: str, inp: int = 1000, out: int = 2000,
             cw5: int = 0, cw1: int = 0, cr: int = 0, speed: str | None = None, session: str = "s1",
             cwd: str = "/work/app") -> dict:
    usage = {"input_tokens": inp, "output_tokens": out, "cache_creation_input_tokens": cw5 + cw1,
             "cache_read_input_tokens": cr,
             "cache_creation": {"ephemeral_5m_input_tokens": cw5, "ephemeral_1h_input_tokens": cw1}}
    if speed:
        usage["speed"] = speed
    return {"type": "assistant", "uuid": f"u-{rid}", "sessionId": session, "timestamp": ts, "requestId": f"req-{rid}",
            "cwd": cwd, "version": "2.1.39",
            "message": {"id": f"msg-{rid}", "model": model, "role": "assistant",
                        "content": [{"type": "text", "text": "ok"}], "usage": usage}}


def _write(root: Path, rel: str, entries: list[dict]) -> None:
    path = root / "projects" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in entries))


@pytest.fixture
def dst_root(tmp_path: Path) -> Path:
    root = tmp_path / "claude"
    _write(root, "p/s1.jsonl", [
        # spring forward in New York, 2026-03-08 (a 23-hour day)
        _request("2026-03-08T04:30:00.000Z", rid="a"),  # 23:30 EST, 7 March
        _request("2026-03-08T05:30:00.000Z", rid="b"),  # 00:30 EST, 8 March
        _request("2026-03-09T03:30:00.000Z", rid="c"),  # 23:30 EDT, 8 March
        _request("2026-03-09T04:30:00.000Z", rid="d"),  # 00:30 EDT, 9 March
        # fall back, 2026-11-01 (a 25-hour day)
        _request("2026-11-01T03:59:00.000Z", rid="e"),  # 23:59 EDT, 31 October
        _request("2026-11-01T04:00:00.000Z", rid="f"),  # 00:00 EDT, 1 November
        _request("2026-11-02T04:59:00.000Z", rid="g"),  # 23:59 EST, 1 November
        _request("2026-11-02T05:00:00.000Z", rid="h"),  # 00:00 EST, 2 November
    ])
    return root


def _requests_per_day(db, tz: str, kind: str = "daily") -> dict[str, int]:
    periods = usage_by_period(db, kind, Filters(tz=resolve_timezone(tz)), PriceTable.bundled())
    return {p.key: p.total.requests for p in periods}


def test_days_follow_local_time_across_dst(dst_root: Path, tmp_path: Path) -> None:
    db = open_archive(tmp_path / "a.db")
    run_ingest(db, [dst_root])
    assert _requests_per_day(db, "America/New_York") == {
        "2026-03-07": 1, "2026-03-08": 2, "2026-03-09": 1, "2026-10-31": 1, "2026-11-01": 2, "2026-11-02": 1}
    assert _requests_per_day(db, "UTC") == {"2026-03-08": 2, "2026-03-09": 2, "2026-11-01": 2, "2026-11-02": 2}
    assert _requests_per_day(db, "Asia/Kathmandu") == {  # +05:45
        "2026-03-08": 2, "2026-03-09": 2, "2026-11-01": 2, "2026-11-02": 2}
    assert _requests_per_day(db, "America/New_York", "monthly") == {"2026-03": 4, "2026-10": 1, "2026-11": 3}
    db.close()


def test_since_until_are_inclusive_local_dates(dst_root: Path, tmp_path: Path) -> None:
    db = open_archive(tmp_path / "a.db")
    run_ingest(db, [dst_root])
    filters = Filters(tz=resolve_timezone("America/New_York"), since=parse_date_arg("20260308"),
                      until=parse_date_arg("2026-11-01"))
    periods = usage_by_period(db, "daily", filters, PriceTable.bundled())
    assert [p.key for p in periods] == ["2026-03-08", "2026-03-09", "2026-10-31", "2026-11-01"]
    assert sum(p.total.requests for p in periods) == 6
    db.close()


def test_cost_of_each_token_class_is_exact(tmp_path: Path) -> None:
    root = tmp_path / "claude"
    _write(root, "p/s1.jsonl", [
        # opus-4-6 $/MTok: in 5, out 25, 5m write 6.25, 1h write 10, read 0.50
        # 1000*5 + 2000*25 + 10000*6.25 + 20000*10 + 100000*0.5 = 0.005+0.05+0.0625+0.2+0.05 = $0.3675
        _request("2026-05-01T10:00:00.000Z", rid="1", inp=1000, out=2000, cw5=10_000, cw1=20_000, cr=100_000),
        # fast mode x6 on opus-4-6: (1000*5 + 1000*25)/1e6 * 6 = $0.18
        _request("2026-05-01T11:00:00.000Z", rid="2", inp=1000, out=1000, speed="fast"),
        # sonnet-4-5 with a 251,000-token prompt: the whole request at long-context rates (in 6, out 22.5,
        # read 0.60): 1000*6 + 1000*22.5 + 250000*0.6 = 0.006 + 0.0225 + 0.15 = $0.1785
        _request("2026-05-01T12:00:00.000Z", "claude-sonnet-4-5-20250929", rid="3", inp=1000, out=1000, cr=250_000),
        # same model, 151,000-token prompt, normal rates (3, 15, 0.30): 0.003 + 0.015 + 0.045 = $0.063
        _request("2026-05-01T13:00:00.000Z", "claude-sonnet-4-5-20250929", rid="4", inp=1000, out=1000, cr=150_000),
        # a model with no price is reported as unpriced, never $0
        _request("2026-05-01T14:00:00.000Z", "claude-nova-9", rid="5"),
    ])
    db = open_archive(tmp_path / "a.db")
    run_ingest(db, [root])
    (day,) = usage_by_period(db, "daily", Filters(tz=resolve_timezone("UTC")), PriceTable.bundled())
    assert day.models["claude-opus-4-6"].cost == Decimal("0.3675")
    assert day.models["claude-opus-4-6-fast"].cost == Decimal("0.18")
    assert day.models["claude-sonnet-4-5-20250929"].cost == Decimal("0.1785") + Decimal("0.063")
    assert day.models["claude-nova-9"].unpriced == {"claude-nova-9"}
    assert day.models["claude-nova-9"].cost == 0
    assert day.total.cost == Decimal("0.7890")
    assert day.total.unpriced == {"claude-nova-9"}
    db.close()


def _cli(args: list[str], home: Path, config: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEVHELION_HOME": str(home), "CLAUDE_CONFIG_DIR": str(config)}
    return subprocess.run([sys.executable, "-m", "desktop", *args], env=env, capture_output=True, text=True,
                          cwd=REPO, timeout=120, check=False)


def test_cli_report_json_matches_ccusage_shape(dst_root: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    ingest = _cli(["ingest"], home, dst_root)
    assert ingest.returncode == 0, ingest.stderr
    assert "8 new API requests" in ingest.stdout
    again = _cli(["ingest", "--json"], home, dst_root)  # the machine-readable summary (bench/bench_archive.py)
    assert again.returncode == 0, again.stderr
    summary = orjson.loads(again.stdout)
    assert (summary["requests_added"], summary["files_changed"], summary["cancelled"]) == (0, 0, False)
    assert summary["files_seen"] >= 1 and "changes" not in summary
    out = _cli(["report", "daily", "--json", "--timezone", "America/New_York"], home, dst_root)
    assert out.returncode == 0, out.stderr
    data = orjson.loads(out.stdout)
    assert [d["date"] for d in data["daily"]] == ["2026-03-07", "2026-03-08", "2026-03-09", "2026-10-31",
                                                 "2026-11-01", "2026-11-02"]
    first = data["daily"][0]
    assert {"inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens", "totalTokens", "totalCost",
            "modelsUsed", "modelBreakdowns"} <= first.keys()
    assert first["modelBreakdowns"][0]["modelName"] == "claude-opus-4-6"
    # each request: 1000 in + 2000 out on opus-4-6 = 0.005 + 0.05 = $0.055
    assert first["totalCost"] == 0.055
    assert data["totals"]["totalCost"] == pytest.approx(0.44)
    assert data["timezone"] == "America/New_York"
    weekly = orjson.loads(_cli(["report", "weekly", "--json", "--timezone", "UTC", "--start-of-week", "monday"],
                               home, dst_root).stdout)
    assert [w["week"] for w in weekly["weekly"]] == ["2026-03-02", "2026-03-09", "2026-10-26", "2026-11-02"]
    sessions = orjson.loads(_cli(["report", "session", "--json"], home, dst_root).stdout)
    assert sessions["sessions"][0]["projectPath"] == "/work/app"
    blocks = orjson.loads(_cli(["report", "blocks", "--json"], home, dst_root).stdout)
    assert sum(b["entries"] for b in blocks["blocks"]) == 8


def test_cli_filters_by_project(tmp_path: Path) -> None:
    root = tmp_path / "claude"
    _write(root, "a/s1.jsonl", [_request("2026-05-01T10:00:00.000Z", rid="1", session="s1", cwd="/src/alpha")])
    _write(root, "b/s2.jsonl", [_request("2026-05-01T10:00:00.000Z", rid="2", session="s2", cwd="/src/beta")])
    home = tmp_path / "home"
    for project, expected in (("alpha", 1), ("/src/beta", 1), ("gamma", 0)):
        data = orjson.loads(_cli(["report", "daily", "--json", "--project", project], home, root).stdout)
        assert sum(d["requests"] for d in data["daily"]) == expected


def test_cli_rejects_bad_arguments_clearly(tmp_path: Path) -> None:
    root = tmp_path / "claude"
    (root / "projects").mkdir(parents=True)
    bad_tz = _cli(["report", "daily", "--timezone", "Mars/Olympus"], tmp_path / "h", root)
    assert bad_tz.returncode == 2 and "Mars/Olympus" in bad_tz.stderr
    bad_date = _cli(["report", "daily", "--since", "yesterday"], tmp_path / "h", root)
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr


def test_doctor_reports_unpriced_models_and_retention_risk(tmp_path: Path) -> None:
    root = tmp_path / "claude"
    _write(root, "p/s1.jsonl", [_request("2026-05-01T10:00:00.000Z", "claude-nova-9", rid="1")])
    (root / "projects" / "p" / "s1.jsonl").open("ab").write(b'{"broken\n')
    out = _cli(["doctor"], tmp_path / "home", root)
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert "claude-nova-9" in text
    assert "older than 30 days" in text
    assert "1 malformed" in text
    (root / "settings.json").write_text('{"cleanupPeriodDays": 99999}')
    text = " ".join(_cli(["doctor"], tmp_path / "home", root).stdout.split())
    assert "99999 days (cleanupPeriodDays" in text


def test_doctor_counts_files_per_root_by_path_component(tmp_path: Path) -> None:
    """A root named like another root's prefix (``claude`` / ``claude2``) gets only its own files."""
    first, second = tmp_path / "claude", tmp_path / "claude2"
    _write(first, "p/s1.jsonl", [_request("2026-05-01T10:00:00.000Z", rid="1")])
    _write(second, "p/s2.jsonl", [_request("2026-05-01T10:00:00.000Z", rid="2", session="s2")])
    _write(second, "p/s3.jsonl", [_request("2026-05-01T10:00:00.000Z", rid="3", session="s3")])
    env_roots = f"{first},{second}"
    out = _cli(["doctor", "--json"], tmp_path / "home", Path(env_roots))
    roots = {r["path"]: r["files"] for r in orjson.loads(out.stdout)["roots"]}
    assert roots == {str(first): 1, str(second): 2}
