"""A session's timeline: messages, tool calls, subagents and compactions merged in time order.

A session is bounded (thousands of lines at most), so its four lists are read through their session_id
indexes and merged here; pages slice the merged list. Tool-result carrier lines and text-less response
blocks are left out: the tool calls stand for them, and each API response's usage sits on one event.
"""

from __future__ import annotations

from typing import Any

from peewee import Database

from store.monitor.fmt import iso, usage_json
from store.monitor.params import Page
from store.monitor.sessions import session_row
from store.monitor.sql import Where
from store.monitor.usage import total_usage
from store.pricing import PriceTable

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000
PREVIEW = 500
_KIND_ORDER = {"compaction": 0, "message": 1, "subagent": 2, "tool_call": 3}


def _messages(db: Database, session_id: str) -> list[dict[str, Any]]:
    rows = db.execute_sql(
        f"SELECT m.uuid, m.ts_ms, m.type, m.subtype, m.role, m.model, m.agent_id, m.is_sidechain, "
        f"substr(m.text, 1, {PREVIEW}), length(m.text), m.thinking IS NOT NULL, r.uuid = m.uuid, r.input_tokens, "
        "r.output_tokens, r.cache_write_5m, r.cache_write_1h, r.cache_read FROM message m "
        "LEFT JOIN api_request r ON r.request_key = m.request_key WHERE m.session_id = ?", (session_id,)).fetchall()
    events = []
    for (uuid, ts, mtype, subtype, role, model, agent, sidechain, text, text_len, thinking, carries_usage,
         inp, out, cw5, cw1, cr) in rows:
        if mtype in ("user", "assistant") and text is None and not thinking and not carries_usage:
            continue
        tokens = None
        if carries_usage:
            tokens = {"input_tokens": inp, "output_tokens": out, "cache_write_5m_tokens": cw5,
                      "cache_write_1h_tokens": cw1, "cache_read_tokens": cr,
                      "total_tokens": inp + out + cw5 + cw1 + cr}
        events.append({"kind": "message", "ts": ts, "id": uuid, "type": mtype, "subtype": subtype, "role": role,
                       "model": model, "agent_id": agent, "is_sidechain": bool(sidechain), "text": text,
                       "text_truncated": bool(text_len and text_len > PREVIEW), "has_thinking": bool(thinking),
                       "tokens": tokens})
    return events


def _tool_calls(db: Database, session_id: str) -> list[dict[str, Any]]:
    rows = db.execute_sql(
        f"SELECT tool_use_id, call_ts_ms, result_ts_ms, name, status, duration_ms, file_path, "
        f"substr(error_text, 1, {PREVIEW}), agent_id, is_sidechain FROM tool_call WHERE session_id = ?",
        (session_id,)).fetchall()
    return [{"kind": "tool_call", "ts": ts, "id": tid, "tool_name": name, "status": status, "duration_ms": duration,
             "ended_at": iso(result_ts), "file_path": path, "error": error, "agent_id": agent,
             "is_sidechain": bool(sidechain)}
            for tid, ts, result_ts, name, status, duration, path, error, agent, sidechain in rows]


def _subagents(db: Database, session_id: str) -> list[dict[str, Any]]:
    rows = db.execute_sql(
        "SELECT agent_id, first_ts_ms, last_ts_ms, kind, agent_type, description, parent_tool_use_id FROM subagent "
        "WHERE session_id = ?", (session_id,)).fetchall()
    return [{"kind": "subagent", "ts": first, "id": aid, "agent_kind": kind, "agent_type": agent_type,
             "description": description, "parent_tool_use_id": parent, "ended_at": iso(last),
             "duration_ms": last - first if first is not None and last is not None else None}
            for aid, first, last, kind, agent_type, description, parent in rows]


def _compactions(db: Database, session_id: str) -> list[dict[str, Any]]:
    rows = db.execute_sql(
        "SELECT uuid, ts_ms, kind, trigger, pre_tokens, post_tokens, duration_ms FROM compaction "
        "WHERE session_id = ?", (session_id,)).fetchall()
    return [{"kind": "compaction", "ts": ts, "id": uuid, "compaction_kind": kind, "trigger": trigger,
             "pre_tokens": pre, "post_tokens": post, "duration_ms": duration}
            for uuid, ts, kind, trigger, pre, post, duration in rows]


def session_timeline(db: Database, prices: PriceTable, session_id: str, page: Page) -> dict[str, Any]:
    """Events ordered by time (undated ones last), with the session's duration and total tokens."""
    row = session_row(db, session_id)
    first, last = row[8], row[9]
    events = [*_messages(db, session_id), *_tool_calls(db, session_id), *_subagents(db, session_id),
              *_compactions(db, session_id)]
    events.sort(key=lambda e: (e["ts"] is None, e["ts"] or 0, _KIND_ORDER[e["kind"]], e["id"]))
    counts = dict.fromkeys(_KIND_ORDER, 0)
    for event in events:
        counts[event["kind"]] += 1
    window = events[page.offset : page.offset + page.limit]
    for event in window:
        event["timestamp"] = iso(event.pop("ts"))
    usage = total_usage(db, prices, Where().add("r.model IS NOT NULL").add("r.session_id = ?", session_id)).total
    return {
        "session_id": session_id, "title": row[1], "started_at": iso(first), "ended_at": iso(last),
        "duration_ms": last - first if first is not None and last is not None else None,
        "total_tokens": usage.total_tokens, "usage": usage_json(usage), "counts": counts,
        "events": window, "total": len(events), "limit": page.limit, "offset": page.offset,
        "has_more": page.offset + len(window) < len(events),
    }
