"""The rows of an export, table by table, as generators over cursors: sessions, API requests, tool calls.

Requests are priced one by one with the report rules (exact Decimals) and added to :class:`Totals`, so an
export's totals equal the sum of its rows, and the API's figures for the same range.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from peewee import Database

from store.export.scope import ExportScope
from store.monitor.fmt import iso, money
from store.monitor.sessions import project_name
from store.monitor.sql import Where, marks, requests_where, sessions_where, tool_calls_where
from store.monitor.usage import priced_usage
from store.notes import tags_of
from store.pricing import LONG_CONTEXT_THRESHOLD, PriceTable
from store.reports.sessions import TITLE_SQL
from store.reports.usage import Usage, price_group

BATCH = 500
SYNTHETIC = "<synthetic>"  # client-made messages: no API call, no cost (the reports skip them too)

SESSION_FIELDS = ("id", "title", "project_path", "project_name", "cwd", "git_branch", "claude_version",
                  "started_at", "ended_at", "duration_ms", "requests", "input_tokens", "output_tokens",
                  "cache_write_5m_tokens", "cache_write_1h_tokens", "cache_read_tokens", "total_tokens",
                  "web_search_requests", "cost_usd", "models", "unpriced_models", "tool_calls", "notes", "tags")
REQUEST_FIELDS = ("request_key", "session_id", "agent_id", "timestamp", "model", "speed", "service_tier",
                  "inference_geo", "input_tokens", "output_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens",
                  "cache_read_tokens", "total_tokens", "web_search_requests", "web_fetch_requests", "is_sidechain",
                  "is_compaction", "is_api_error", "cost_usd")
TOOL_CALL_FIELDS = ("tool_use_id", "session_id", "agent_id", "message_id", "request_key", "tool_name",
                    "mcp_server", "skill", "file_path", "status", "called_at", "result_at", "duration_ms",
                    "is_sidechain", "error", "input", "result")


@dataclass(slots=True)
class Totals:
    sessions: int = 0
    tool_calls: int = 0
    usage: Usage = field(default_factory=Usage)

    def as_json(self) -> dict[str, Any]:
        u = self.usage
        return {"sessions": self.sessions, "requests": u.requests, "tool_calls": self.tool_calls,
                "input_tokens": u.input_tokens, "output_tokens": u.output_tokens,
                "cache_write_5m_tokens": u.cache_write_5m, "cache_write_1h_tokens": u.cache_write_1h,
                "cache_read_tokens": u.cache_read, "total_tokens": u.total_tokens,
                "web_search_requests": u.web_search_requests, "cost_usd": money(u.cost),
                "unpriced_models": sorted(u.unpriced)}


def _session_filter(where: Where, es: ExportScope, column: str) -> Where:
    return where.add(f"{column} = ?", es.session_id) if es.session_id else where


def session_rows(db: Database, prices: PriceTable, es: ExportScope, totals: Totals) -> Iterator[dict[str, Any]]:
    """Sessions active in the range, oldest first, with their usage and cost within the range."""
    where = _session_filter(sessions_where(es.scope), es, "s.session_id")
    cursor = db.execute_sql(
        f"SELECT s.session_id, {TITLE_SQL}, coalesce(p.path, s.cwd), s.cwd, s.git_branch, s.version, s.first_ts_ms, "
        f"s.last_ts_ms FROM session s LEFT JOIN project p ON p.id = s.project_id{where.sql} "
        "ORDER BY s.first_ts_ms, s.session_id", where.params)
    while batch := cursor.fetchmany(BATCH):
        ids = [r[0] for r in batch]
        usage = priced_usage(db, prices, requests_where(es.scope).add(f"r.session_id IN ({marks(ids)})", *ids),
                             "r.session_id")
        tools = dict(db.execute_sql(
            f"SELECT t.session_id, count(*) FROM tool_call t{_tool_where(es, ids).sql} GROUP BY 1",
            _tool_where(es, ids).params).fetchall())
        notes = dict(db.execute_sql(f"SELECT session_id, notes FROM session_note WHERE session_id IN ({marks(ids)})",
                                    ids).fetchall())
        tags = tags_of(db, ids)
        for sid, title, path, cwd, branch, version, first, last in batch:
            entry = usage.get(sid)
            u = entry.total if entry else Usage()
            totals.sessions += 1
            yield {"id": sid, "title": title, "project_path": path, "project_name": project_name(path), "cwd": cwd,
                   "git_branch": branch, "claude_version": version, "started_at": iso(first), "ended_at": iso(last),
                   "duration_ms": last - first if first is not None and last is not None else None,
                   "requests": u.requests, "input_tokens": u.input_tokens, "output_tokens": u.output_tokens,
                   "cache_write_5m_tokens": u.cache_write_5m, "cache_write_1h_tokens": u.cache_write_1h,
                   "cache_read_tokens": u.cache_read, "total_tokens": u.total_tokens,
                   "web_search_requests": u.web_search_requests, "cost_usd": money(u.cost),
                   "models": sorted(entry.models) if entry else [], "unpriced_models": sorted(u.unpriced),
                   "tool_calls": tools.get(sid, 0), "notes": notes.get(sid), "tags": tags.get(sid, [])}


def _tool_where(es: ExportScope, ids: list[str]) -> Where:
    return tool_calls_where(es.scope).add(f"t.session_id IN ({marks(ids)})", *ids)


def request_rows(db: Database, prices: PriceTable, es: ExportScope, totals: Totals) -> Iterator[dict[str, Any]]:
    """Deduplicated API requests in the range by time, each priced on its own."""
    where = _session_filter(requests_where(es.scope), es, "r.session_id").add("r.model != ?", SYNTHETIC)
    cursor = db.execute_sql(
        "SELECT r.request_key, r.session_id, r.agent_id, r.ts_ms, r.model, r.speed, r.service_tier, r.inference_geo, "
        "r.input_tokens, r.output_tokens, r.cache_write_5m, r.cache_write_1h, r.cache_read, r.web_search_requests, "
        "r.web_fetch_requests, r.is_sidechain, r.is_compaction, r.is_api_error "
        f"FROM api_request r{where.sql} ORDER BY r.ts_ms, r.request_key", where.params)
    while batch := cursor.fetchmany(BATCH):
        for (key, sid, agent, ts, model, speed, tier, geo, inp, out, cw5, cw1, cr, web, fetch, side, compaction,
             error) in batch:
            long_context = inp + cw5 + cw1 + cr > LONG_CONTEXT_THRESHOLD
            usage = price_group(prices, model, speed, geo, long_context, (inp, out, cw5, cw1, cr, web, 1))
            totals.usage.add(usage)
            yield {"request_key": key, "session_id": sid, "agent_id": agent, "timestamp": iso(ts), "model": model,
                   "speed": speed, "service_tier": tier, "inference_geo": geo, "input_tokens": inp,
                   "output_tokens": out, "cache_write_5m_tokens": cw5, "cache_write_1h_tokens": cw1,
                   "cache_read_tokens": cr, "total_tokens": usage.total_tokens, "web_search_requests": web,
                   "web_fetch_requests": fetch, "is_sidechain": bool(side), "is_compaction": bool(compaction),
                   "is_api_error": bool(error), "cost_usd": None if usage.unpriced else float(usage.cost)}


def tool_call_rows(db: Database, es: ExportScope, totals: Totals) -> Iterator[dict[str, Any]]:
    """Tool calls in the range by call time, with input (JSON text) and result as archived (trimmed)."""
    where = _session_filter(tool_calls_where(es.scope), es, "t.session_id")
    cursor = db.execute_sql(
        "SELECT t.tool_use_id, t.session_id, t.agent_id, t.message_uuid, t.request_key, t.name, t.mcp_server, "
        "t.skill, t.file_path, t.status, t.call_ts_ms, t.result_ts_ms, t.duration_ms, t.is_sidechain, t.error_text, "
        f"t.input_json, t.result_text FROM tool_call t{where.sql} ORDER BY t.call_ts_ms, t.tool_use_id", where.params)
    while batch := cursor.fetchmany(BATCH):
        for (tid, sid, agent, message, request, name, mcp, skill, path, status, called, result, duration, side,
             error, input_json, result_text) in batch:
            totals.tool_calls += 1
            yield {"tool_use_id": tid, "session_id": sid, "agent_id": agent, "message_id": message,
                   "request_key": request, "tool_name": name, "mcp_server": mcp, "skill": skill, "file_path": path,
                   "status": status, "called_at": iso(called), "result_at": iso(result), "duration_ms": duration,
                   "is_sidechain": bool(side), "error": error, "input": input_json, "result": result_text}

