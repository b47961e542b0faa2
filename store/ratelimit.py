"""Rate limits of the data API: fixed windows per key (a minute, an hour) and per install (an hour), in SQLite.

A window opens with the first request after the previous one closed and lasts exactly its length, so "request 101
of a minute" is well defined whatever the wall clock says. Every decision reads and updates all windows in one
``BEGIN IMMEDIATE`` transaction (plus a lock for this process's threads): concurrent requests are counted exactly,
and counts survive a restart within the window.

The counters live in their own small database (``ratelimit.db`` next to the archive) because every request
writes to it: a long ingest transaction in the archive must never make an API request wait for the writer lock.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from store.sqlite.connection import transaction

FILENAME = "ratelimit.db"
MINUTE_MS, HOUR_MS = 60_000, 3_600_000
TEAM = "team"

_SCHEMA = ("CREATE TABLE IF NOT EXISTS rate_window (scope TEXT NOT NULL, window_ms INTEGER NOT NULL, "
           "start_ms INTEGER NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (scope, window_ms)) WITHOUT ROWID")
_COUNT = ("INSERT INTO rate_window (scope, window_ms, start_ms, count) VALUES (?, ?, ?, 1) "
          "ON CONFLICT (scope, window_ms) DO UPDATE SET "
          "count = iif(excluded.start_ms >= start_ms + window_ms, 1, count + 1), "
          "start_ms = iif(excluded.start_ms >= start_ms + window_ms, excluded.start_ms, start_ms)")


@dataclass(frozen=True, slots=True)
class Limits:
    per_minute: int = 100
    per_hour: int = 1_000
    team_per_hour: int = 5_000


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer for one request, and the numbers for its ``X-RateLimit-*`` headers."""

    allowed: bool
    limit: int  # of the window that binds first
    remaining: int
    reset_s: int  # epoch seconds at which that window closes
    retry_after: int | None = None  # seconds, when refused

    def headers(self) -> dict[str, str]:
        headers = {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining),
                   "X-RateLimit-Reset": str(self.reset_s)}
        if self.retry_after is not None:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimiter:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5)
        for pragma in ("journal_mode = wal", "synchronous = normal", "busy_timeout = 5000"):
            self._conn.execute(f"PRAGMA {pragma}")
        self._conn.execute(_SCHEMA)
        self._lock = threading.Lock()

    def hit(self, key_id: str, limits: Limits, at_ms: int | None = None) -> Decision:
        """Count one request of ``key_id`` if every window has room; otherwise refuse it (and count nothing)."""
        at = int(time.time() * 1000) if at_ms is None else at_ms
        windows = ((f"key:{key_id}", MINUTE_MS, limits.per_minute), (f"key:{key_id}", HOUR_MS, limits.per_hour),
                   (TEAM, HOUR_MS, limits.team_per_hour))
        with self._lock, transaction(self._conn) as conn:
            state = []
            for scope, length, limit in windows:
                row = conn.execute("SELECT start_ms, count FROM rate_window WHERE scope = ? AND window_ms = ?",
                                   (scope, length)).fetchone()
                start, count = (at, 0) if row is None or at >= row[0] + length else row
                state.append((limit, count, start + length))
            full = [(limit, reset) for limit, count, reset in state if count >= limit]
            if full:
                limit, reset = max(full, key=lambda w: w[1])  # every full window must reopen: wait for the last
                return Decision(False, limit, 0, _seconds(reset), max(1, math.ceil((reset - at) / 1000)))
            conn.executemany(_COUNT, ((scope, length, at) for scope, length, _ in windows))
        limit, count, reset = min(state, key=lambda w: (w[0] - w[1] - 1, w[2]))
        return Decision(True, limit, limit - count - 1, _seconds(reset))

    def close(self) -> None:
        self._conn.close()


def _seconds(ms: int) -> int:
    return math.ceil(ms / 1000)
