"""Filing errored tool calls under their error pattern, so error statistics come from rollups.

Triggers queue every call that becomes an error (or whose error changes) in ``error_pending``; this files the
queue: the signature is computed here (Python, see ``errors.error_signature``), the call is written to
``error_call`` with its session, time and tool, and the rollups follow that table. Filing happens in one write
transaction that also reads the queue, so no change slips between reading and writing.
"""

from __future__ import annotations

import sqlite3

from peewee import Database, OperationalError

from store.monitor.sql import chunks, marks


def file_pending(db: Database) -> bool:
    """File the queued errors; False when the archive cannot be written now (callers then read the rows)."""
    if db.execute_sql("SELECT NOT EXISTS (SELECT 1 FROM error_pending)").fetchone()[0]:
        return True
    try:
        with db.atomic("IMMEDIATE"):
            file_queue(db.connection())
    except (sqlite3.OperationalError, OperationalError):
        return False
    return True


def file_queue(conn: sqlite3.Connection) -> int:
    """File every queued call that is still an error (the caller holds the write transaction); returns how many."""
    from store.monitor.errors import error_signature  # the grouping rules live with the statistics

    rows = conn.execute(
        "SELECT t.tool_use_id, t.error_text, t.session_id, t.call_ts_ms, t.name FROM error_pending p "
        "JOIN tool_call t ON t.tool_use_id = p.tool_use_id WHERE t.status = 'error'").fetchall()
    signatures = [error_signature(text) for _, text, *_ in rows]
    conn.executemany("INSERT OR IGNORE INTO error_pattern (signature) VALUES (?)", ((s,) for s in set(signatures)))
    ids: dict[str, int] = {}
    for part in chunks(sorted(set(signatures))):
        ids.update((s, i) for i, s in conn.execute(
            f"SELECT id, signature FROM error_pattern WHERE signature IN ({marks(part)})", list(part)).fetchall())
    conn.executemany("DELETE FROM error_call WHERE tool_use_id = ?", ((r[0],) for r in rows))
    conn.executemany("INSERT INTO error_call (tool_use_id, pattern_id, session_id, call_ts_ms, name) "
                     "VALUES (?, ?, ?, ?, ?)",
                     ((tid, ids[sig], sid, ts, name) for (tid, _, sid, ts, name), sig in zip(rows, signatures,
                                                                                                  strict=True)))
    conn.execute("DELETE FROM error_pending")
    return len(rows)
