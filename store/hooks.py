"""Claude Code hook payloads: validated, stored verbatim (``hook_event``) and turned into the event that is broadcast.

Works on a Peewee database or a plain ``sqlite3`` connection and imports neither Peewee nor the models, so the
``devhelion hook`` relay can record an event without paying for them when the app is not running. The column
list below is checked against ``store.models.app.HookEvent`` by the tests.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store.timezones import format_utc_iso_ms

if TYPE_CHECKING:
    from peewee import Database

HOOK_COLUMNS = ("received_ms", "session_id", "event_name", "tool_name", "cwd", "transcript_path", "raw")
INSERT_HOOK = f"INSERT INTO hook_event ({', '.join(HOOK_COLUMNS)}) VALUES ({', '.join('?' for _ in HOOK_COLUMNS)})"


class HookPayloadError(ValueError):
    """The body is not a Claude Code hook payload; the message says what is wrong."""


def parse_hook_payload(body: bytes | str) -> dict[str, Any]:
    """The payload of an HTTP hook request or of the relay's stdin, validated."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise HookPayloadError(f"hook payload is not valid JSON ({exc})") from exc
    return validate_hook_payload(payload)


def validate_hook_payload(payload: Any) -> dict[str, Any]:
    """A JSON object naming its event in ``hook_event_name``; any event name is accepted (new ones keep coming)."""
    if not isinstance(payload, dict):
        raise HookPayloadError(f"hook payload must be a JSON object, not {type(payload).__name__}")
    name = payload.get("hook_event_name")
    if not isinstance(name, str) or not name.strip():
        raise HookPayloadError("hook payload has no 'hook_event_name'")
    return payload


def record_hook_event(db: Database | sqlite3.Connection, payload: Any, received_ms: int | None = None
                      ) -> dict[str, Any]:
    """Store one payload and return the event to broadcast: Claude Code's own keys unchanged, plus ``received_at``.

    One INSERT, atomic on its own, so it is safe in Peewee's autocommit mode and from several threads.
    """
    payload = validate_hook_payload(payload)
    received_ms = int(time.time() * 1000) if received_ms is None else received_ms
    row = (received_ms, _text(payload.get("session_id")), payload["hook_event_name"], _text(payload.get("tool_name")),
           _text(payload.get("cwd")), _text(payload.get("transcript_path")),
           json.dumps(payload, ensure_ascii=False, separators=(",", ":")))
    _connection(db).execute(INSERT_HOOK, row)
    return {**payload, "received_at": format_utc_iso_ms(received_ms)}


def hook_events(db: Database | sqlite3.Connection, since_ms: int | None = None, limit: int = 200,
                session_id: str | None = None) -> list[dict[str, Any]]:
    """Stored events, oldest first (the last ``limit`` after ``since_ms``), in the broadcast shape."""
    where, params = ["1"], []
    if since_ms is not None:
        where.append("received_ms > ?")
        params.append(since_ms)
    if session_id is not None:
        where.append("session_id = ?")
        params.append(session_id)
    rows = _connection(db).execute(
        f"SELECT received_ms, raw FROM hook_event WHERE {' AND '.join(where)} ORDER BY received_ms DESC, id DESC "
        "LIMIT ?", (*params, max(0, limit))).fetchall()
    return [{**json.loads(raw), "received_at": format_utc_iso_ms(ms)} for ms, raw in reversed(rows)]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _connection(db: Database | sqlite3.Connection) -> sqlite3.Connection:
    return db if isinstance(db, sqlite3.Connection) else db.connection()


def record_or_spool_hook_event(db: Database | sqlite3.Connection | None, payload: Any, home: Path
                               ) -> tuple[dict[str, Any], bool]:
    """``record_hook_event`` and True; or, when there is no archive (``db`` None) or it cannot take the event now
    (locked past its busy timeout by a long write, an older schema without the table), the event spooled in
    ``home`` for the next opening or sync run, and False. Never lost."""
    received_ms = int(time.time() * 1000)
    if db is not None:
        try:
            return record_hook_event(db, payload, received_ms=received_ms), True
        except sqlite3.OperationalError:
            pass
    from store.spool import HOOKS, append

    payload = validate_hook_payload(payload)
    append(HOOKS, {"received_ms": received_ms, "payload": payload}, home)
    return {**payload, "received_at": format_utc_iso_ms(received_ms)}, False


def drain_spooled_hooks(db: Database | sqlite3.Connection, home: Path | None = None) -> int:
    """Move the events the hook relay spooled (``store/spool.py``) into the archive; returns how many."""
    from store.spool import HOOKS, drain

    return drain(HOOKS, _connection(db), lambda conn, record: record_hook_event(
        conn, record.get("payload"), received_ms=record.get("received_ms")), home)
