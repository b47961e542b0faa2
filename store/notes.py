"""The user's notes and tags on sessions: their own data, kept in tables that ingest, sync reset and retention
never write, so nothing the archive re-reads or prunes can lose them.

Tags are compared in lower case (``Bug`` and ``bug`` are one tag) and trimmed; a session id without a session
keeps its notes until that session is read again.
"""

from __future__ import annotations

import re
import time
from typing import Any

from peewee import Database

from store.monitor.fmt import iso
from store.sqlite.connection import transaction

MAX_NOTES_CHARS = 20_000
MAX_TAGS = 50
MAX_TAG_CHARS = 64
_SPACES = re.compile(r"\s+")
UNSET: Any = object()  # "leave as is" for update_annotations


class AnnotationError(ValueError):
    """Notes or tags the archive will not store; the message says why."""


def normalize_tag(tag: str) -> str:
    """Lower case, trimmed, inner whitespace collapsed; raises AnnotationError for an empty or odd tag."""
    clean = _SPACES.sub(" ", tag).strip().lower()
    if not clean:
        raise AnnotationError("A tag cannot be empty.")
    if len(clean) > MAX_TAG_CHARS:
        raise AnnotationError(f"A tag has at most {MAX_TAG_CHARS} characters: {clean[:20]!r}… is longer.")
    if "," in clean or any(ord(ch) < 32 for ch in clean):
        raise AnnotationError(f"A tag cannot contain commas or control characters: {clean!r}.")
    return clean


def normalize_tags(tags: list[str]) -> list[str]:
    result = sorted({normalize_tag(t) for t in tags})
    if len(result) > MAX_TAGS:
        raise AnnotationError(f"A session has at most {MAX_TAGS} tags.")
    return result


def annotations(db: Database, session_id: str) -> dict[str, Any]:
    """``{session_id, notes, tags, updated_at}`` (notes None and tags empty when there are none)."""
    note = db.execute_sql("SELECT notes, updated_ms FROM session_note WHERE session_id = ?", (session_id,)).fetchone()
    tags = [t for (t,) in db.execute_sql("SELECT tag FROM session_tag WHERE session_id = ? ORDER BY tag",
                                          (session_id,)).fetchall()]
    updated = db.execute_sql("SELECT max(created_ms) FROM session_tag WHERE session_id = ?",
                             (session_id,)).fetchone()[0]
    last = max(x for x in (note[1] if note else None, updated, -1) if x is not None)
    return {"session_id": session_id, "notes": note[0] if note else None, "tags": tags,
            "updated_at": iso(last) if last >= 0 else None}


def update_annotations(db: Database, session_id: str, notes: Any = UNSET, tags: Any = UNSET,
                       now_ms: int | None = None) -> dict[str, Any]:
    """Set the notes (None or blank: remove them) and/or replace the tags; what is UNSET stays as it is."""
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    if notes is not UNSET and notes is not None and len(notes) > MAX_NOTES_CHARS:
        raise AnnotationError(f"Notes have at most {MAX_NOTES_CHARS:,} characters.")
    clean_tags = normalize_tags(tags or []) if tags is not UNSET else None
    with transaction(db.connection()) as conn:
        if notes is not UNSET:
            if notes is None or not notes.strip():
                conn.execute("DELETE FROM session_note WHERE session_id = ?", (session_id,))
            else:
                conn.execute("INSERT INTO session_note (session_id, notes, updated_ms) VALUES (?, ?, ?) "
                             "ON CONFLICT(session_id) DO UPDATE SET notes = excluded.notes, "
                             "updated_ms = excluded.updated_ms", (session_id, notes, now_ms))
        if clean_tags is not None:
            placeholders = ", ".join("?" for _ in clean_tags)
            conn.execute(f"DELETE FROM session_tag WHERE session_id = ? AND tag NOT IN ({placeholders})",
                         (session_id, *clean_tags))
            conn.executemany("INSERT INTO session_tag (session_id, tag, created_ms) VALUES (?, ?, ?) "
                             "ON CONFLICT(session_id, tag) DO NOTHING", [(session_id, t, now_ms) for t in clean_tags])
    return annotations(db, session_id)


def tag_counts(db: Database) -> list[dict[str, Any]]:
    """Every tag with the number of sessions carrying it, most used first."""
    rows = db.execute_sql("SELECT tag, count(*) FROM session_tag GROUP BY tag ORDER BY count(*) DESC, tag").fetchall()
    return [{"tag": tag, "count": n} for tag, n in rows]


def tag_condition(tag: str, alias: str = "s") -> tuple[str, list[Any]]:
    """SQL condition on ``session`` (aliased ``alias``): the session carries ``tag`` (any case)."""
    return (f"{alias}.session_id IN (SELECT session_id FROM session_tag WHERE tag = ?)",
            [_SPACES.sub(" ", tag).strip().lower()])


def tags_of(db: Database, session_ids: list[str]) -> dict[str, list[str]]:
    """Tags per session for the given ids (sessions without tags are absent)."""
    out: dict[str, list[str]] = {}
    for i in range(0, len(session_ids), 500):
        part = session_ids[i:i + 500]
        for sid, tag in db.execute_sql(
                f"SELECT session_id, tag FROM session_tag WHERE session_id IN ({', '.join('?' * len(part))}) "
                "ORDER BY session_id, tag", part).fetchall():
            out.setdefault(sid, []).append(tag)
    return out
