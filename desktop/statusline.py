"""``devhelion statusline``: Claude Code's statusline command. One compact line, and the real plan quota kept.

Claude Code pipes the statusline JSON on stdin after every assistant message and waits for our line, so the line
is printed from the payload and a small cache (``statusline.json`` in the data home) with nothing heavier than
``json`` imported. The work that needs the archive and the price table (recording the payload's quota windows,
pricing today's usage and the current 5-hour block) runs after the line is out, in a detached child process
(inline where there is no ``fork``), and refreshes the cache for the next render. Today's cost is therefore as
of the previous render, which follows the previous message: a message behind at most.

The line: the session's cost (Claude Code's own), today's cost (the archive, priced like the reports), the
5-hour window (the real quota when Claude Code sends ``rate_limits``, else the latest recorded one still running,
else ccusage's 5-hour block), the weekly window, and the context window fill. ``--chain CMD`` runs the user's
previous statusline with the same input and shows its output first.
"""

from __future__ import annotations

import json
import os
import sys
import time

TYPE_CHECKING = False  # typing itself is not imported: the line is printed before anything not needed for it
if TYPE_CHECKING:
    from typing import Any

DEADLINE_S = 2.0  # the printing process: only a chained statusline can take this long
REFRESH_DEADLINE_S = 6.0  # the detached refresh: a locked archive must not leave it behind for long
ARCHIVE_TIMEOUT_S = 2.0  # how long the refresh waits for an ingest holding the archive's write lock
CHAIN_TIMEOUT_S = 1.5
CACHE_FILE = "statusline.json"
SEP = " | "
BLOCK_MS = 5 * 3_600_000


def main(chain: str | None = None) -> int:
    from desktop.fast_entry import exit_after

    exit_after(DEADLINE_S)
    raw = sys.stdin.buffer.read()
    try:
        payload = json.loads(raw) if raw.strip() else {}
    except ValueError:
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    theirs = _start(chain, raw) if chain else None
    now_ms = int(time.time() * 1000)
    try:
        ours = render(payload, read_cache(), now_ms)
    except Exception as exc:  # the line must always appear; the reason goes to stderr (Claude Code ignores it)
        print(f"devhelion statusline: {exc}", file=sys.stderr)
        ours = "devhelion"
    sys.stdout.write(combine(_finish(theirs), ours) + "\n")
    sys.stdout.flush()
    in_background(lambda: refresh(payload, now_ms))
    return 0


# -- the line (light: payload and cache only) -----------------------------------------------------------------


def render(payload: dict[str, Any], cache: dict[str, Any], now_ms: int) -> str:
    parts = []
    session_cost = _number(_get(payload, "cost", "total_cost_usd"))
    if session_cost is not None:
        parts.append(f"{money(session_cost)} session")
    today = cache.get("today")
    if isinstance(today, dict) and today.get("start_ms", 0) <= now_ms < today.get("end_ms", 0):
        parts.append(f"{money(float(today['usd']))}{'+' if today.get('unpriced') else ''} today")
    parts.extend(window_parts(payload, cache, now_ms))
    context = context_percent(payload)
    if context is not None:
        parts.append(f"ctx {round(context)}%")
    return SEP.join(parts) or "devhelion"


def window_parts(payload: dict[str, Any], cache: dict[str, Any], now_ms: int) -> list[str]:
    """The quota windows from the payload; else the latest recorded ones still running (quota is per account, so
    another session's sample is as good); else the ccusage-style block computed from the archive."""
    limits: dict[str, Any] = {w: _get(payload, "rate_limits", w) for w in ("five_hour", "seven_day")}
    if not isinstance(limits["five_hour"], dict):
        recorded = cache.get("limits") if isinstance(cache.get("limits"), dict) else {}
        limits = {w: s for w, s in recorded.items() if isinstance(s, dict) and (s.get("resets_at") or 0) > now_ms}
    parts = []
    for window, label in (("five_hour", "5h"), ("seven_day", "7d")):
        limit = limits.get(window)
        used = _number(limit.get("used_percentage")) if isinstance(limit, dict) else None
        if used is None:
            continue
        text = f"{label} {round(used)}%"
        resets = _epoch_ms(limit.get("resets_at"))
        if window == "five_hour" and resets is not None and resets > now_ms:
            text += f" (reset {duration(resets - now_ms)})"
        parts.append(text)
    block = cache.get("block")
    if not parts and isinstance(block, dict) and now_ms < block.get("end_ms", 0) \
            and now_ms - block.get("last_ms", 0) <= BLOCK_MS:
        parts.append(f"block {money(float(block['usd']))}{'+' if block.get('unpriced') else ''} "
                     f"({duration(block['end_ms'] - now_ms)} left)")
    return parts


def context_percent(payload: dict[str, Any]) -> float | None:
    """Claude Code's own ``used_percentage``; else the last request's prompt over the window size."""
    window = payload.get("context_window")
    if not isinstance(window, dict):
        return None
    used = _number(window.get("used_percentage"))
    if used is not None:
        return used
    usage, size = window.get("current_usage"), _number(window.get("context_window_size"))
    if not isinstance(usage, dict) or not size:
        return None
    tokens = sum(_number(usage.get(k)) or 0 for k in ("input_tokens", "cache_creation_input_tokens",
                                                      "cache_read_input_tokens"))
    return 100 * tokens / size


def combine(theirs: str | None, ours: str) -> str:
    """Their output first: a one-line statusline gets ours appended, a multi-line one gets ours as a last line."""
    if not theirs:
        return ours
    return f"{theirs}{SEP}{ours}" if "\n" not in theirs else f"{theirs}\n{ours}"


def money(amount: float) -> str:
    return f"${amount:,.2f}"


def duration(ms: int) -> str:
    minutes = max(0, ms) // 60_000
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    if days:
        return f"{days}d{hours}h"
    return f"{hours}h{mins:02d}m" if hours else f"{mins}m"


def read_cache() -> dict[str, Any]:
    from desktop.fast_entry import data_home_dir

    try:
        with open(os.path.join(data_home_dir(), CACHE_FILE), "rb") as fh:
            cache = json.loads(fh.read())
    except (OSError, ValueError):
        return {}
    return cache if isinstance(cache, dict) else {}


# -- the refresh (heavy: archive and prices; after the line is out) ----------------------------------------------


def in_background(work: Any) -> None:
    """Run ``work`` in a detached child so Claude Code gets its line (and our exit) now; inline without fork."""
    if not hasattr(os, "fork"):
        _run_refresh(work)
        return
    try:
        if os.fork():
            return
    except OSError:
        _run_refresh(work)
        return
    try:  # the child: no terminal, no pipes Claude Code waits on
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        if _only_refresh():
            from desktop.fast_entry import exit_after

            exit_after(REFRESH_DEADLINE_S)
            _run_refresh(work)
    finally:
        os._exit(0)


def _only_refresh() -> bool:
    """One refresh at a time: renders come every few hundred ms, and a locked archive must not pile children up.
    A skipped render loses nothing the next one does not carry again (the quota changes slowly)."""
    import fcntl

    from desktop.fast_entry import data_home_dir

    home = data_home_dir()
    os.makedirs(home, exist_ok=True)
    fd = os.open(os.path.join(home, "statusline.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    return True  # held until this process exits


def _run_refresh(work: Any) -> None:
    try:
        work()
    except Exception as exc:
        print(f"devhelion statusline: {exc}", file=sys.stderr)


def refresh(payload: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """Record the payload's quota windows, then recompute what the next line shows from the archive. What went
    wrong is kept in the cache (``error``), where ``devhelion hooks status`` shows it: nobody sees our stderr."""
    cache: dict[str, Any] = {"computed_at_ms": now_ms}
    errors = []
    try:
        record(payload, now_ms)
    except Exception as exc:
        errors.append(f"quota not recorded: {exc}")
    from desktop.relay import connect_archive

    conn = connect_archive(timeout=ARCHIVE_TIMEOUT_S)
    if conn is not None:
        try:
            cache.update(_from_archive(conn, now_ms))
        except Exception as exc:
            errors.append(f"archive not read: {exc}")
        finally:
            conn.close()
    if errors:
        cache["error"] = "; ".join(errors)
    _write_cache(cache)
    return cache


def record(payload: dict[str, Any], now_ms: int) -> int:
    """Store the payload's quota windows as samples; returns how many were new."""
    from store.quota import insert_samples, samples_from_statusline

    rows = samples_from_statusline(payload, now_ms)
    if not rows:
        return 0
    from desktop.relay import write_archive

    return len(write_archive(lambda conn: insert_samples(conn, rows), timeout=ARCHIVE_TIMEOUT_S))


def _from_archive(conn: Any, now_ms: int) -> dict[str, Any]:
    import contextlib
    import sqlite3

    from store.live_usage import active_block, day_bounds_ms, today_cost
    from store.quota import latest_quota, resets_at_ms

    prices, tz = _prices_and_zone()
    out: dict[str, Any] = {}
    try:
        start, end = day_bounds_ms(now_ms, tz)
        today = today_cost(conn, prices, tz, now_ms)
        out["today"] = {"start_ms": start, "end_ms": end, "usd": str(today.usd), "unpriced": sorted(today.unpriced)}
        block = active_block(conn, prices, now_ms)
        if block is not None:
            out["block"] = {"start_ms": block.start_ms, "end_ms": block.end_ms, "last_ms": block.last_ms,
                            "usd": str(block.cost.usd), "unpriced": sorted(block.cost.unpriced)}
    except sqlite3.OperationalError:  # an archive from before the rollup, or one never ingested
        pass
    with contextlib.suppress(sqlite3.OperationalError):
        out["limits"] = {w: {"used_percentage": s["usedPercentage"], "resets_at": resets_at_ms(s["resetsAt"])}
                         for w, s in latest_quota(conn, now_ms).items() if s and not s["expired"]}
    return out


def _prices_and_zone() -> tuple[Any, Any]:
    """The user's price overrides and time zone, as the reports apply them; defaults if the config is broken
    (the reports say what is wrong with it)."""
    from store.config import ConfigError, Settings, load_settings
    from store.pricing import PriceTable

    try:
        settings = load_settings()
    except ConfigError:
        settings = Settings()
    prices = PriceTable.bundled()
    if settings.price_overrides or settings.model_aliases:
        prices = prices.with_overrides(settings.price_overrides, settings.model_aliases)
    tz = None
    if settings.timezone:
        from store.timezones import resolve_timezone

        tz = resolve_timezone(settings.timezone)
    return prices, tz


def _write_cache(cache: dict[str, Any]) -> None:
    """Atomically: several sessions render at once."""
    import tempfile

    from store.paths import data_home

    home = data_home()
    fd, tmp = tempfile.mkstemp(prefix=".statusline-", suffix=".json", dir=home)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(cache, fh)
        os.replace(tmp, home / CACHE_FILE)
    except BaseException:
        os.unlink(tmp)
        raise


# -- chaining and small helpers -----------------------------------------------------------------------------------


def _start(command: str, stdin: bytes) -> Any:
    """Start the chained statusline now, so it runs while we compute ours."""
    import subprocess

    try:
        proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
    except OSError:
        return None
    try:
        proc.stdin.write(stdin)  # statusline input is a few KB: fits the pipe, never blocks
        proc.stdin.close()
    except OSError:
        pass
    proc.stdin = None  # communicate() must not touch it again
    return proc


def _finish(proc: Any) -> str | None:
    if proc is None:
        return None
    import subprocess

    try:
        out, _ = proc.communicate(timeout=CHAIN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        return None
    return out.decode("utf-8", "replace").rstrip("\r\n") or None


def _epoch_ms(value: Any) -> int | None:
    """``resets_at`` in epoch seconds (Claude Code) or ms (our cache); an ISO string is left to the recorder."""
    number = _number(value)
    if number is None or number <= 0:
        return None
    return int(number if number > 1e11 else number * 1000)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _get(payload: dict[str, Any], *keys: str) -> Any:
    value: Any = payload
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
