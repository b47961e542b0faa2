"""Frequent compactions: a session compacted 3 times or more in the last 7 days keeps overflowing its context;
each compaction re-sends and summarises the conversation. One insight per session a week."""

from __future__ import annotations

from store.insights.base import Context, Finding, duration_text, session_labels

RULE = "frequent_compactions"
WINDOW_DAYS = 7
MIN_COMPACTIONS = 3


def evaluate(ctx: Context) -> list[Finding]:
    rows = ctx.conn.execute(
        "SELECT session_id, count(*), min(ts_ms), max(ts_ms) FROM compaction WHERE kind = 'compact' "
        "AND ts_ms > ? AND ts_ms <= ? GROUP BY session_id HAVING count(*) >= ? ORDER BY session_id",
        (ctx.days_ago(WINDOW_DAYS), ctx.now_ms, MIN_COMPACTIONS)).fetchall()
    labels = session_labels(ctx.conn, (row[0] for row in rows))
    return [Finding(
        RULE, f"session:{sid}", ctx.week, "Frequent compactions",
        f"Session {labels[sid]} was compacted {count} times in {duration_text(last - first)}: its context keeps "
        "filling up. Starting a fresh session (or /clear) for each new task keeps prompts small and cheap",
        f"{count} compactions", "tip", "performance",
        {"session_id": sid, "compactions": count, "span_ms": last - first}) for sid, count, first, last in rows]
