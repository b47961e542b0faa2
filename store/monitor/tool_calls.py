"""Tool calls (``/api/tool-calls``): a ``tool_use`` joined with its result, status and timing."""

from __future__ import annotations

from typing import Any

import orjson
from peewee import Database

from store.monitor.figures import tool_counts
from store.monitor.fmt import iso
from store.monitor.lookup import require_session
from store.monitor.params import Page, Scope
from store.monitor.sql import tool_calls_where

_COLUMNS = (
    "t.tool_use_id, t.session_id, t.agent_id, t.message_uuid, t.name, t.mcp_server, t.skill, t.file_path, "
    "t.input_json, t.call_ts_ms, t.result_ts_ms, t.duration_ms, t.status, t.error_text, t.result_text, t.is_sidechain"
)
STATUSES = ("ok", "error", "rejected", "interrupted", "pending")
_STATUS_COUNT = {"ok": "ok", "error": "errors", "rejected": "rejected", "interrupted": "interrupted",
                 "pending": "pending"}


def list_tool_calls(db: Database, scope: Scope, page: Page, session_id: str | None = None,
                    tool_name: str | None = None, status: str | None = None) -> dict[str, Any]:
    """Calls in call order for one session, newest first across sessions."""
    where = tool_calls_where(scope)
    if session_id:
        require_session(db, session_id)
        where.add("t.session_id = ?", session_id)
    if tool_name:
        where.add("t.name = ?", tool_name)
    if status:
        where.add("t.status = ?", status)
    order = "t.call_ts_ms, t.rowid" if session_id else "t.call_ts_ms DESC, t.rowid DESC"
    if session_id or scope.model or scope.search or (status is not None and status not in STATUSES):
        total = db.execute_sql(f"SELECT count(*) FROM tool_call t{where.sql}", where.params).fetchone()[0]
    else:  # from the rollups: counting the calls would cost more than the page
        column = _STATUS_COUNT.get(status, "calls")
        total = sum(getattr(counts, column) for (name, _, _), counts in tool_counts(db, scope).items()
                    if tool_name is None or name == tool_name)
    rows = db.execute_sql(f"SELECT {_COLUMNS} FROM tool_call t{where.sql} ORDER BY {order} LIMIT ? OFFSET ?",
                          [*where.params, page.limit, page.offset]).fetchall()
    return {"tool_calls": [tool_call_json(row) for row in rows], "total": total, "limit": page.limit,
            "offset": page.offset, "has_more": page.offset + len(rows) < total}


def parse_input(input_json: str | None) -> Any:
    """The tool input as JSON; inputs trimmed at ingest are not valid JSON and come back as their text."""
    if input_json is None:
        return None
    try:
        return orjson.loads(input_json)
    except orjson.JSONDecodeError:
        return input_json


def tool_call_json(row: tuple) -> dict[str, Any]:
    (tid, sid, agent, message, name, server, skill, path, input_json, call_ts, result_ts, duration, status, error,
     result, sidechain) = row
    return {
        "id": tid, "session_id": sid, "agent_id": agent, "message_id": message, "tool_name": name,
        "mcp_server": server, "skill": skill, "file_path": path, "input": parse_input(input_json),
        "timestamp": iso(call_ts), "result_timestamp": iso(result_ts), "duration_ms": duration, "status": status,
        "success": status == "ok", "error": error, "result": result, "is_sidechain": bool(sidechain),
    }
