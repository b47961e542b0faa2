"""Plan quota from Claude Code's statusline JSON: the only credential-free source of the real 5-hour and weekly use.

The statusline payload carries ``rate_limits.five_hour`` / ``seven_day`` (``used_percentage`` 0-100, ``resets_at``
in epoch seconds) for Claude.ai subscribers once a session has had an API response, plus ``cost.total_cost_usd``
and ``model``. Each window becomes a ``quota_sample`` row. A render repeats the same figures many times a minute,
so a sample equal to the window's latest one from the last minute is not stored again.

Like ``store.hooks`` this works on a Peewee database or a plain ``sqlite3`` connection and imports neither Peewee
nor the models (the statusline relay must stay fast); the tests check the columns against ``QuotaSample``.
"""

from __future__ import annotations

import math
import sqlite3
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from store.timezones import format_utc_iso_ms

if TYPE_CHECKING:
    from peewee import Database

WINDOWS = ("five_hour", "seven_day")
QUOTA_COLUMNS = ("ts_ms", "session_id", "window", "used_percentage", "resets_at_ms", "total_cost_usd", "model")
REPEAT_MS = 60_000  # an unchanged window is stored again at most once a minute: history shows when it was seen

_COLS = ", ".join(f'"{c}"' for c in QUOTA_COLUMNS)
INSERT_SAMPLE = (
    f"INSERT INTO quota_sample ({_COLS}) SELECT {', '.join('?' for _ in QUOTA_COLUMNS)} WHERE NOT EXISTS ("
    'SELECT 1 FROM (SELECT used_percentage, resets_at_ms, ts_ms FROM quota_sample WHERE "window" = ? '
    "ORDER BY ts_ms DESC, id DESC LIMIT 1) AS last "
    "WHERE last.used_percentage IS ? AND last.resets_at_ms IS ? AND last.ts_ms > ?)"
)
_SELECT = f"SELECT {_COLS} FROM quota_sample"

Row = tuple[int, str | None, str, float | None, int | None, str | None, str | None]


class QuotaPayloadError(ValueError):
    """The statusline input is not a JSON object."""


def samples_from_statusline(payload: Any, ts_ms: int | None = None) -> list[Row]:
    """One row per rate-limit window present in the payload (none for API-key users or before the first answer)."""
    if not isinstance(payload, dict):
        raise QuotaPayloadError(f"statusline input must be a JSON object, not {type(payload).__name__}")
    ts_ms = int(time.time() * 1000) if ts_ms is None else ts_ms
    session = payload.get("session_id") if isinstance(payload.get("session_id"), str) else None
    cost = _get(payload, "cost", "total_cost_usd")
    cost_text = str(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None
    model = _get(payload, "model", "id") or _get(payload, "model", "display_name")
    model = model if isinstance(model, str) else None
    rows: list[Row] = []
    for window in WINDOWS:
        limits = _get(payload, "rate_limits", window)
        if not isinstance(limits, dict):
            continue
        used = _number(limits.get("used_percentage"))
        resets = resets_at_ms(limits.get("resets_at"))
        if used is None and resets is None:
            continue
        rows.append((ts_ms, session, window, used, resets, cost_text, model))
    return rows


def insert_samples(conn: sqlite3.Connection, rows: list[Row]) -> list[Row]:
    """Insert the rows that differ from their window's latest sample (or are over a minute newer); each INSERT
    checks and writes in one statement, so concurrent statuslines never duplicate a sample."""
    stored = []
    for row in rows:
        ts_ms, _, window, used, resets, _, _ = row
        if conn.execute(INSERT_SAMPLE, (*row, window, used, resets, ts_ms - REPEAT_MS)).rowcount:
            stored.append(row)
    return stored


def record_statusline(db: Database | sqlite3.Connection, payload: Any, ts_ms: int | None = None
                      ) -> list[dict[str, Any]]:
    """Record the payload's quota windows; returns the samples actually stored (API shape)."""
    rows = samples_from_statusline(payload, ts_ms)
    return [sample_json(row) for row in insert_samples(_connection(db), rows)] if rows else []


def latest_quota(db: Database | sqlite3.Connection, now_ms: int | None = None) -> dict[str, dict[str, Any] | None]:
    """The latest sample of each window; ``expired`` once its reset time has passed (the figure is then stale)."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    conn = _connection(db)
    latest: dict[str, dict[str, Any] | None] = {}
    for window in WINDOWS:
        row = conn.execute(f'{_SELECT} WHERE "window" = ? ORDER BY ts_ms DESC, id DESC LIMIT 1', (window,)).fetchone()
        if row is None:
            latest[window] = None
            continue
        sample = sample_json(row)
        sample["expired"] = row[4] is not None and row[4] <= now_ms
        latest[window] = sample
    return latest


def quota_history(db: Database | sqlite3.Connection, since_ms: int | None = None, limit: int = 1000,
                  window: str | None = None) -> list[dict[str, Any]]:
    """Samples oldest first: the newest ``limit`` after ``since_ms``, of one window or both."""
    where, params = ["1"], []
    if since_ms is not None:
        where.append("ts_ms >= ?")
        params.append(since_ms)
    if window is not None:
        where.append('"window" = ?')
        params.append(window)
    rows = _connection(db).execute(f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY ts_ms DESC, id DESC LIMIT ?",
                                   (*params, max(0, limit))).fetchall()
    return [sample_json(row) for row in reversed(rows)]


def sample_json(row: tuple) -> dict[str, Any]:
    ts_ms, session, window, used, resets, cost, model = row
    return {"window": window, "usedPercentage": used, "resetsAt": format_utc_iso_ms(resets) if resets else None,
            "timestamp": format_utc_iso_ms(ts_ms), "sessionId": session, "totalCostUsd": cost, "model": model}


def resets_at_ms(value: Any) -> int | None:
    """Epoch milliseconds from ``resets_at``: epoch seconds as Claude Code sends it, epoch ms, or an ISO string."""
    number = _number(value)
    if number is None and isinstance(value, str) and value.strip():
        try:
            number = datetime.fromisoformat(value.strip().replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    if number is None or number <= 0:
        return None
    return int(number if number > 1e11 else number * 1000)  # 1e11 s is the year 5138; 1e11 ms is 1973


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | str):
        try:
            number = float(value)
        except (ValueError, OverflowError):
            return None
        return number if math.isfinite(number) else None
    return None


def _get(payload: dict[str, Any], *keys: str) -> Any:
    value: Any = payload
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _connection(db: Database | sqlite3.Connection) -> sqlite3.Connection:
    return db if isinstance(db, sqlite3.Connection) else db.connection()
