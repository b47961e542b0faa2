"""What an ingest run added or changed, as events for live consumers (the `/ws` feed, the tray, the dashboard).

New rows are found by rowid (every table only grows: rows above the run's starting rowid are new), sessions
touched and tool calls that failed are collected from the parsed chunks while they are written. Events are
plain dicts with a ``type``; costs are priced at collection time with the archive's price table.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from store.sqlite.writes import max_rowids

if TYPE_CHECKING:
    from store.pricing import PriceTable

TRACKED_TABLES = ("session", "api_request", "tool_call", "subagent", "compaction")
DEFAULT_EVENT_LIMIT = 2_000  # a cold ingest of a year of logs is a summary, not 100 k events


@dataclass(slots=True)
class ChangeMarks:
    """Where each tracked table stood before a run, plus what the run's chunks touched."""

    rowids: dict[str, int]
    touched_sessions: set[str] = field(default_factory=set)
    failed_tool_calls: set[str] = field(default_factory=set)

    def note_chunk(self, sessions: Iterable[str], tool_results: Iterable[tuple]) -> None:
        self.touched_sessions.update(sessions)
        self.failed_tool_calls.update(row[0] for row in tool_results if row[3] == "error")


@dataclass(slots=True)
class Changes:
    events: list[dict[str, Any]]
    truncated: bool  # more changed than the limit allowed to list: consumers should reload, not patch


def mark(conn: sqlite3.Connection) -> ChangeMarks:
    return ChangeMarks(max_rowids(conn, TRACKED_TABLES))


def _request_cost(prices: PriceTable, row: tuple) -> float | None:
    from store.pricing import TokenCounts, cost_usd, is_long_context  # here: ingest itself never prices

    model, inp, out, cw5, cw1, cr, web, speed, geo = row
    cost = cost_usd(prices, model, TokenCounts(inp, out, cw5, cw1, cr, web), speed=speed, inference_geo=geo,
                    long_context=is_long_context(inp, cw5 + cw1, cr))
    return None if cost is None else float(cost)


def collect(conn: sqlite3.Connection, marks: ChangeMarks, prices: PriceTable,
            limit: int = DEFAULT_EVENT_LIMIT) -> Changes:
    """Events for everything added since ``marks``, oldest first within each kind, at most ``limit``."""
    events: list[dict[str, Any]] = []
    truncated = False

    def rows(sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        nonlocal truncated
        room = max(limit - len(events), 0)
        found = conn.execute(sql + " LIMIT ?", (*params, room + 1)).fetchall()
        if len(found) > room:
            truncated = True
            return found[:room]
        return found

    before = marks.rowids
    new_sessions = rows(
        "SELECT s.session_id, s.cwd, s.first_ts_ms, s.last_ts_ms, s.git_branch FROM session s WHERE s.rowid > ? "
        "ORDER BY s.rowid", (before["session"],))
    for sid, cwd, first, last, branch in new_sessions:
        events.append({"type": "session.created", "session_id": sid, "project_path": cwd, "started_ms": first,
                       "last_activity_ms": last, "git_branch": branch})
    new_ids = {row[0] for row in new_sessions}
    updated = sorted(marks.touched_sessions - new_ids)
    if updated:
        placeholders = ",".join("?" * len(updated))
        for sid, cwd, last in rows(f"SELECT session_id, cwd, last_ts_ms FROM session WHERE session_id IN "
                                   f"({placeholders}) ORDER BY last_ts_ms", updated):
            events.append({"type": "session.updated", "session_id": sid, "project_path": cwd,
                           "last_activity_ms": last})
    for key, sid, agent, ts, *usage in rows(
            "SELECT request_key, session_id, agent_id, ts_ms, model, input_tokens, output_tokens, cache_write_5m, "
            "cache_write_1h, cache_read, web_search_requests, speed, inference_geo FROM api_request "
            "WHERE rowid > ? AND model IS NOT NULL ORDER BY ts_ms", (before["api_request"],)):
        model, inp, out, cw5, cw1, cr = usage[:6]
        events.append({"type": "request.added", "session_id": sid, "agent_id": agent, "request_key": key,
                       "ts_ms": ts, "model": model, "input_tokens": inp, "output_tokens": out,
                       "cache_creation_tokens": cw5 + cw1, "cache_read_tokens": cr,
                       "total_tokens": inp + out + cw5 + cw1 + cr, "cost_usd": _request_cost(prices, tuple(usage))})
    for tid, sid, agent, name, ts, status in rows(
            "SELECT tool_use_id, session_id, agent_id, name, call_ts_ms, status FROM tool_call "
            "WHERE rowid > ? AND name IS NOT NULL ORDER BY call_ts_ms", (before["tool_call"],)):
        events.append({"type": "tool.called", "session_id": sid, "agent_id": agent, "tool_use_id": tid,
                       "tool": name, "ts_ms": ts, "status": status})
    failed = sorted(marks.failed_tool_calls)
    if failed:
        placeholders = ",".join("?" * len(failed))
        for tid, sid, name, ts, error in rows(
                f"SELECT tool_use_id, session_id, name, result_ts_ms, error_text FROM tool_call WHERE tool_use_id IN "
                f"({placeholders}) AND status = 'error' ORDER BY result_ts_ms", failed):
            events.append({"type": "tool.failed", "session_id": sid, "tool_use_id": tid, "tool": name,
                           "ts_ms": ts, "error": error})
    for aid, sid, kind, agent_type, description, parent in rows(
            "SELECT agent_id, session_id, kind, agent_type, description, parent_tool_use_id FROM subagent "
            "WHERE rowid > ? ORDER BY first_ts_ms", (before["subagent"],)):
        events.append({"type": "subagent.started", "session_id": sid, "agent_id": aid, "kind": kind,
                       "agent_type": agent_type, "description": description, "parent_tool_use_id": parent})
    for uuid, sid, ts, kind, trigger, pre, post in rows(
            "SELECT uuid, session_id, ts_ms, kind, trigger, pre_tokens, post_tokens FROM compaction "
            "WHERE rowid > ? ORDER BY ts_ms", (before["compaction"],)):
        events.append({"type": "compaction", "session_id": sid, "uuid": uuid, "ts_ms": ts, "kind": kind,
                       "trigger": trigger, "pre_tokens": pre, "post_tokens": post})
    return Changes(events, truncated)
