"""Efficiency figures of a range that the monitor API does not give: compactions per day (the money lost to
expired prompt caches is ``store.cache_expiry``'s)."""

from __future__ import annotations

from collections import defaultdict
from datetime import tzinfo
from typing import Any

from peewee import Database

from store.monitor.sql import in_project
from store.timezones import local_date


def compactions(db: Database, tz: tzinfo, start_ms: int | None, end_ms: int | None, project: str | None = None,
                limit: int = 50) -> dict[str, Any]:
    """Compactions in the range: count per local day and kind, and the latest ones with their sessions."""
    where, params = ["1"], []
    if start_ms is not None:
        where.append("c.ts_ms >= ?")
        params.append(start_ms)
    if end_ms is not None:
        where.append("c.ts_ms < ?")
        params.append(end_ms)
    if project:
        condition, extra = in_project("c.session_id", project)
        where.append(condition)
        params.extend(extra)
    clause = " AND ".join(where)
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    total = 0
    saved = 0
    for ts, kind, pre, post in db.execute_sql(
            f"SELECT c.ts_ms, c.kind, c.pre_tokens, c.post_tokens FROM compaction c WHERE {clause} "
            "AND c.ts_ms IS NOT NULL", params).fetchall():
        per_day[local_date(ts, tz).isoformat()][kind or "compact"] += 1
        total += 1
        if pre is not None and post is not None:
            saved += max(0, pre - post)
    latest = db.execute_sql(
        f"SELECT c.session_id, c.ts_ms, c.kind, c.trigger, c.pre_tokens, c.post_tokens FROM compaction c "
        f"WHERE {clause} ORDER BY c.ts_ms DESC LIMIT ?", [*params, limit]).fetchall()
    return {"total": total, "tokens_removed": saved,
            "per_day": {day: dict(kinds) for day, kinds in sorted(per_day.items())},
            "latest": [{"session_id": sid, "ts_ms": ts, "kind": kind, "trigger": trigger, "pre_tokens": pre,
                        "post_tokens": post} for sid, ts, kind, trigger, pre, post in latest]}
