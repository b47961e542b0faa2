"""`devhelion statusline` as Claude Code runs it: a real process fed the statusline JSON, over a real archive.

The line's figures must be the reports' figures (today's cost = `report daily` for today, the block = ccusage's
active block) and the payload's quota windows must land in the archive. The archive work happens in a detached
child after the line is printed, so tests wait for its refreshed cache before looking. Timing is asserted
loosely (< 1 s on a busy CI machine); the measured figures are printed (`pytest -s`).
"""

from __future__ import annotations

import json
import re
import sqlite3
import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from store.db import open_archive
from store.ingest.runner import run_ingest
from store.pricing import PriceTable
from store.quota import latest_quota, quota_history, record_statusline, resets_at_ms
from store.reports.block_entries import block_entries
from store.reports.blocks import identify_blocks
from store.reports.usage import Filters, usage_by_period
from store.timezones import local_date, resolve_timezone
from tests.relay_tools import STATUSLINE_SAMPLES, env_for, run_desktop, shifted_session

TIMEZONE = "America/New_York"
MINUTE_MS = 60_000


def payload(**extra: Any) -> dict[str, Any]:
    """The real statusline input from the samples (Claude Code 1.0.88), plus what newer versions add."""
    data = json.loads((STATUSLINE_SAMPLES / "statusline-test.json").read_text())
    data["context_window"]["used_percentage"] = 26  # 2.x adds used/remaining_percentage
    return {**data, **extra}


def rate_limits(five: float, seven: float, five_reset_s: int, seven_reset_s: int) -> dict[str, Any]:
    return {"rate_limits": {"five_hour": {"used_percentage": five, "resets_at": five_reset_s},
                            "seven_day": {"used_percentage": seven, "resets_at": seven_reset_s}}}


def statusline(home: Path, data: dict[str, Any] | bytes, tmp_path: Path, *args: str, settle: bool = True) -> Any:
    """One render; with ``settle``, also wait for its background refresh (samples stored, cache rewritten)."""
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    started_ms = int(time.time() * 1000)
    run = run_desktop(["statusline", *args], env_for(home), stdin=body, cwd=tmp_path, isolated=True)
    if settle:
        wait_for_refresh(home, started_ms)
    return run


def wait_for_refresh(home: Path, after_ms: int, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            cache = json.loads((home / "statusline.json").read_text())
            if cache["computed_at_ms"] >= after_ms - 5:
                return cache
        except (OSError, ValueError, KeyError):
            pass
        assert time.monotonic() < deadline, "the statusline's background refresh did not finish"
        time.sleep(0.02)


def samples(home: Path) -> list[tuple]:
    with sqlite3.connect(home / "devhelion.db") as conn:
        return conn.execute('SELECT "window", used_percentage, resets_at_ms, total_cost_usd, model, session_id '
                            "FROM quota_sample ORDER BY id").fetchall()


@pytest.fixture
def live_home(tmp_path: Path) -> Path:
    """An archive holding a real session that ended 20 minutes ago, and a config with a time zone."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text(json.dumps({"timezone": TIMEZONE}))
    root = shifted_session(tmp_path / "claude", int(time.time() * 1000) - 20 * MINUTE_MS)
    db = open_archive(home / "devhelion.db")
    run_ingest(db, [root], parallel=False)
    db.close()
    return home


def expected_today(home: Path, tz_name: str | None) -> str:
    tz = resolve_timezone(tz_name)
    today = local_date(int(time.time() * 1000), tz)
    db = open_archive(home / "devhelion.db")
    periods = usage_by_period(db, "daily", Filters(tz=tz, since=today, until=today), PriceTable.bundled())
    db.close()
    assert periods and periods[0].total.cost > 0 and not periods[0].total.unpriced
    return f"${periods[0].total.cost:,.2f} today"


def test_line_shows_costs_quota_and_context_and_records_the_quota(live_home: Path, tmp_path: Path) -> None:
    now_s = int(time.time())
    data = payload(**rate_limits(42, 15.5, now_s + 5_000, now_s + 400_000))
    first = statusline(live_home, data, tmp_path)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    assert first.stdout == "$0.06 session | 5h 42% (reset 1h23m) | 7d 16% | ctx 26%\n" or \
        first.stdout == "$0.06 session | 5h 42% (reset 1h22m) | 7d 16% | ctx 26%\n"  # today's cost: not computed yet
    model, cost, sid = "claude-sonnet-4-20250514", "0.056266149999999994", data["session_id"]
    assert samples(live_home) == [("five_hour", 42.0, (now_s + 5_000) * 1000, cost, model, sid),
                                  ("seven_day", 15.5, (now_s + 400_000) * 1000, cost, model, sid)]

    run = statusline(live_home, data, tmp_path)
    line = run.stdout.rstrip("\n")
    assert "\n" not in line
    parts = line.split(" | ")
    assert parts[0] == "$0.06 session"
    assert parts[1] == expected_today(live_home, TIMEZONE)
    assert re.fullmatch(r"5h 42% \(reset 1h2[23]m\)", parts[2])
    assert parts[3:] == ["7d 16%", "ctx 26%"]
    assert run.seconds < 1.0
    assert len(samples(live_home)) == 2  # the same figures again: nothing new to keep


def test_today_follows_the_machine_zone_without_a_configured_one(live_home: Path, tmp_path: Path) -> None:
    (live_home / "config.json").unlink()
    statusline(live_home, payload(), tmp_path)
    run = statusline(live_home, payload(), tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split(" | ")[1] == expected_today(live_home, None)


def test_without_rate_limits_the_active_block_is_shown(live_home: Path, tmp_path: Path) -> None:
    """API-key users get no rate_limits: the line falls back to ccusage's 5-hour block from the archive."""
    statusline(live_home, payload(), tmp_path)
    run = statusline(live_home, payload(), tmp_path)
    assert run.returncode == 0, run.stderr
    now = int(time.time() * 1000)
    db = open_archive(live_home / "devhelion.db")
    entries, _ = block_entries(db, Filters(tz=resolve_timezone(TIMEZONE)), PriceTable.bundled())
    db.close()
    (active,) = [b for b in identify_blocks(entries, now) if b.is_active]
    minutes_left = (active.end_ms - now) // MINUTE_MS
    match = re.search(r"block (\$[\d,.]+) \((\d+)h(\d\d)m left\)", run.stdout)
    assert match, run.stdout
    assert match[1] == f"${active.cost_usd:,.2f}"
    assert abs(int(match[2]) * 60 + int(match[3]) - minutes_left) <= 1
    assert run.stdout.rstrip().endswith("ctx 26%")
    assert samples(live_home) == []  # nothing to record


def test_a_recorded_window_is_shown_to_sessions_without_one(live_home: Path, tmp_path: Path) -> None:
    """Quota is per account: another session's recent sample is shown until its window resets."""
    now_s = int(time.time())
    statusline(live_home, payload(**rate_limits(61, 30, now_s + 3_600, now_s + 90_000)), tmp_path)
    run = statusline(live_home, payload(session_id="another"), tmp_path)
    assert re.search(r"\| 5h 61% \(reset (59m|1h00m)\) \| 7d 30% \|", run.stdout), run.stdout
    assert "block" not in run.stdout


def test_repeated_renders_store_changes_only(tmp_path: Path) -> None:
    """No archive yet: the first render creates it (as the app would); identical renders add nothing."""
    home = tmp_path / "home"
    now_s = int(time.time())
    same = payload(**rate_limits(10, 20, now_s + 9_000, now_s + 300_000))
    lines = [statusline(home, same, tmp_path).stdout for _ in range(3)]
    assert lines[0].startswith("$0.06 session | 5h 10% (reset 2h")
    assert lines[1].startswith("$0.06 session | $0.00 today | 5h 10% (reset 2h")  # the archive exists now
    assert len(samples(home)) == 2
    statusline(home, payload(**rate_limits(11, 20, now_s + 9_000, now_s + 300_000)), tmp_path)
    assert [s[:2] for s in samples(home)] == [("five_hour", 10.0), ("seven_day", 20.0), ("five_hour", 11.0)]
    open_archive(home / "devhelion.db").close()


def test_chained_statusline_runs_with_the_same_input(tmp_path: Path) -> None:
    home = tmp_path / "home"
    theirs = "python3 -c 'import json,sys; print(\"theirs:\", json.load(sys.stdin)[\"model\"][\"display_name\"])'"
    run = statusline(home, payload(), tmp_path, "--chain", theirs)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "theirs: Sonnet 4 | $0.06 session | ctx 26%\n"
    run = statusline(home, payload(), tmp_path, "--chain", "printf 'one\\ntwo\\n'")
    assert run.stdout == "one\ntwo\n$0.06 session | ctx 26%\n"  # a multi-line statusline keeps its lines
    run = statusline(home, payload(), tmp_path, "--chain", "exit 3")
    assert run.stdout == "$0.06 session | ctx 26%\n"


@pytest.mark.parametrize("body", [b"", b"garbage", b"[]"])
def test_bad_input_still_prints_a_line(tmp_path: Path, body: bytes) -> None:
    run = statusline(tmp_path / "home", body, tmp_path)
    assert (run.returncode, run.stdout) == (0, "devhelion\n")


def test_timing(live_home: Path, tmp_path: Path) -> None:
    """Generous bound here (CI machines are busy); the figures are printed for the record."""
    now_s = int(time.time())
    data = json.dumps(payload(**rate_limits(42, 15.5, now_s + 5_000, now_s + 400_000))).encode()
    statusline(live_home, data, tmp_path)  # first run writes bytecode caches, as after installation
    runs = [statusline(live_home, data, tmp_path).seconds for _ in range(7)]
    block = [statusline(live_home, payload(), tmp_path).seconds for _ in range(5)]
    refresh_started = int(time.time() * 1000)
    statusline(live_home, data, tmp_path, settle=False)
    wait_for_refresh(live_home, refresh_started)
    background = (time.time() * 1000 - refresh_started) / 1000
    baseline = [run_desktop(["--version"], env_for(live_home)).seconds for _ in range(3)]
    print(f"\nstatusline (quota in payload): median {statistics.median(runs) * 1000:.0f} ms, "
          f"min {min(runs) * 1000:.0f} ms; block fallback: median {statistics.median(block) * 1000:.0f} ms; "
          f"render + background refresh {background * 1000:.0f} ms; "
          f"`devhelion --version` (click CLI) median {statistics.median(baseline) * 1000:.0f} ms")
    assert statistics.median(runs) < 1.0 and statistics.median(block) < 1.0


def test_quota_store_functions(tmp_path: Path) -> None:
    db = open_archive(tmp_path / "a.db")
    base = 1_790_000_000_000
    data = payload(**rate_limits(5, 40, base // 1000 + 3_600, base // 1000 + 86_400))
    assert [s["window"] for s in record_statusline(db, data, ts_ms=base)] == ["five_hour", "seven_day"]
    assert record_statusline(db, data, ts_ms=base + 30_000) == []  # same figures within a minute
    assert len(record_statusline(db, data, ts_ms=base + 61_000)) == 2  # seen again later: history shows it
    data["rate_limits"]["five_hour"]["used_percentage"] = 7
    (sample,) = record_statusline(db, data, ts_ms=base + 62_000)
    assert sample == {"window": "five_hour", "usedPercentage": 7.0, "resetsAt": "2026-09-21T15:13:20.000Z",
                      "timestamp": "2026-09-21T14:14:22.000Z", "sessionId": data["session_id"],
                      "totalCostUsd": "0.056266149999999994", "model": "claude-sonnet-4-20250514"}
    latest = latest_quota(db, now_ms=base + 2 * 3_600_000)
    assert latest["five_hour"]["usedPercentage"] == 7.0 and latest["five_hour"]["expired"] is True
    assert latest["seven_day"]["usedPercentage"] == 40.0 and latest["seven_day"]["expired"] is False
    history = quota_history(db)
    assert [(s["window"], s["usedPercentage"]) for s in history] == [
        ("five_hour", 5.0), ("seven_day", 40.0), ("five_hour", 5.0), ("seven_day", 40.0), ("five_hour", 7.0)]
    assert quota_history(db, since_ms=base + 61_000, window="five_hour", limit=1)[0]["usedPercentage"] == 7.0
    assert record_statusline(db, payload(), ts_ms=base) == []  # no rate_limits: nothing to record
    db.close()


def test_reset_times_in_every_form_seen() -> None:
    assert resets_at_ms(1_738_425_600) == 1_738_425_600_000  # epoch seconds, as Claude Code sends them
    assert resets_at_ms(1_738_425_600_000) == 1_738_425_600_000  # epoch ms
    assert resets_at_ms("2026-01-19T22:15:00Z") == 1_768_860_900_000  # ISO, as the usage API writes them
    assert resets_at_ms("1738425600") == 1_738_425_600_000
    assert resets_at_ms(None) is None and resets_at_ms(True) is None and resets_at_ms("soon") is None


def test_day_bounds_follow_local_midnights() -> None:
    from store.live_usage import day_bounds_ms

    tz = resolve_timezone("Europe/Berlin")
    start, end = day_bounds_ms(1_774_742_400_000, tz)  # 2026-03-29, the spring-forward day: 23 hours
    assert end - start == timedelta(hours=23) / timedelta(milliseconds=1)
    start, end = day_bounds_ms(int(time.time() * 1000), None)
    assert start <= time.time() * 1000 < end and (end - start) % (15 * MINUTE_MS) == 0


def test_a_damaged_archive_never_costs_the_line_and_is_reported(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "devhelion.db").write_bytes(b"this is not an SQLite archive" * 100)
    now_s = int(time.time())
    run = statusline(home, payload(**rate_limits(42, 15.5, now_s + 5_000, now_s + 400_000)), tmp_path)
    assert run.returncode == 0 and run.stdout.startswith("$0.06 session | 5h 42%")
    status = run_desktop(["hooks", "status", "--json"], env_for(home))
    error = json.loads(status.stdout)["statusline"]["error"]
    assert error.startswith("quota not recorded:") and "not a database" in error


def test_one_refresh_at_a_time(tmp_path: Path) -> None:
    """While a refresh runs (here: its lock is held), renders still print at once and start no second one."""
    import fcntl

    home = tmp_path / "home"
    home.mkdir()
    now_s = int(time.time())
    with open(home / "statusline.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run = statusline(home, payload(**rate_limits(42, 15.5, now_s + 5_000, now_s + 400_000)), tmp_path,
                         settle=False)
        assert run.returncode == 0 and run.stdout.startswith("$0.06 session | 5h 42%")
        time.sleep(0.5)
        assert not (home / "statusline.json").exists() and not (home / "devhelion.db").exists()
    statusline(home, payload(**rate_limits(42, 15.5, now_s + 5_000, now_s + 400_000)), tmp_path)
    assert len(samples(home)) == 2
