"""The archive's retention policy: by default nothing is ever deleted; a user-set retention prunes whole sessions.

A session goes only when its last activity is older than the retention, and with it everything recorded under
it, so no report ever shows half a session.
"""

from __future__ import annotations

import time

from peewee import Database

from store.timezones import DAY_MS

_SESSION_TABLES = ("message", "api_request", "tool_call", "subagent", "compaction", "raw_entry")


def prune_sessions(db: Database, retention_days: int | None, now_ms: int | None = None) -> int:
    """Delete sessions last active more than ``retention_days`` ago; returns how many. ``None`` keeps all."""
    if retention_days is None:
        return 0
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    cutoff = now_ms - retention_days * DAY_MS
    old = "SELECT session_id FROM session WHERE coalesce(last_ts_ms, first_ts_ms, 0) < ?"
    with db.atomic():
        for table in _SESSION_TABLES:
            db.execute_sql(f"DELETE FROM {table} WHERE session_id IN ({old})", [cutoff])
        return db.execute_sql(f"DELETE FROM session WHERE session_id IN ({old})", [cutoff]).rowcount
