"""Insights as stored (the ``insight`` table) and as the data API shows them.

An insight's id is a digest of (rule, subject, period): saving a finding twice is a no-op, so a rule yields at most
one insight per subject and period however often the engine runs, and the same archive always gives the same ids.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable
from typing import Any

import orjson

from store.insights.base import Finding
from store.sqlite.connection import transaction
from store.timezones import format_utc_iso_ms

LIST_LIMIT = 500  # newest first; older ones stay stored

_COLUMNS = "id, title, description, value, type, category, read_ms, created_ms"
_INSERT = ("INSERT INTO insight (id, rule, subject, period, title, description, value, type, category, created_ms, "
           "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING")


def insight_id(rule: str, subject: str, period: str) -> str:
    return "ins_" + hashlib.blake2b(f"{rule}\x1f{subject}\x1f{period}".encode(), digest_size=8).hexdigest()


def as_json(row: tuple) -> dict[str, Any]:
    ins_id, title, description, value, kind, category, read_ms, created_ms = row
    return {"id": ins_id, "title": title, "description": description, "value": value, "type": kind,
            "category": category, "is_read": read_ms is not None, "created_at": format_utc_iso_ms(created_ms)}


def save(conn: sqlite3.Connection, findings: Iterable[Finding], at_ms: int) -> list[dict[str, Any]]:
    """Store new findings in one transaction; returns those that were new (as the API shows them)."""
    created = []
    with transaction(conn):
        for f in findings:
            ins_id = insight_id(f.rule, f.subject, f.period)
            cursor = conn.execute(_INSERT, (ins_id, f.rule, f.subject, f.period, f.title, f.description, f.value,
                                            f.type, f.category, at_ms, orjson.dumps(f.data).decode()))
            if cursor.rowcount:
                created.append(as_json((ins_id, f.title, f.description, f.value, f.type, f.category, None, at_ms)))
    return created


def has_table(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'insight'").fetchone() is not None


def list_insights(conn: sqlite3.Connection, unread_only: bool) -> dict[str, Any]:
    """``{"insights": [...], "hasTable": ..., "unreadCount": ...}``, newest first."""
    if not has_table(conn):
        return {"insights": [], "hasTable": False, "unreadCount": 0}
    where = " WHERE read_ms IS NULL" if unread_only else ""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM insight{where} ORDER BY created_ms DESC, rowid LIMIT ?",
                        (LIST_LIMIT,)).fetchall()
    return {"insights": [as_json(row) for row in rows], "hasTable": True, "unreadCount": unread_count(conn)}


def unread_count(conn: sqlite3.Connection) -> int:
    if not has_table(conn):
        return 0
    return conn.execute("SELECT count(*) FROM insight WHERE read_ms IS NULL").fetchone()[0]


def mark_read(conn: sqlite3.Connection, ins_id: str, at_ms: int) -> bool:
    """True when the insight exists (marking a read one again keeps its first read time)."""
    if conn.execute("SELECT 1 FROM insight WHERE id = ?", (ins_id,)).fetchone() is None:
        return False
    conn.execute("UPDATE insight SET read_ms = ? WHERE id = ? AND read_ms IS NULL", (at_ms, ins_id))
    return True


def mark_all_read(conn: sqlite3.Connection, at_ms: int) -> int:
    """Mark every unread insight read in one statement; returns how many."""
    return conn.execute("UPDATE insight SET read_ms = ? WHERE read_ms IS NULL", (at_ms,)).rowcount
