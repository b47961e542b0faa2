"""Transcript lines (``/api/messages``): one per line with a uuid, with the usage of the API response it carries.

An API response is split over several lines; its usage is reported on exactly one of them (the line whose
usage won deduplication), so summing ``usage`` over messages never double counts.
"""

from __future__ import annotations

from typing import Any

from peewee import Database

from store.monitor.figures import total_activity
from store.monitor.fmt import iso, money
from store.monitor.lookup import require_session
from store.monitor.params import Page, Scope
from store.monitor.sql import messages_where
from store.pricing import PriceTable, TokenCounts, cost_usd, is_long_context

_COLUMNS = (
    "m.uuid, m.parent_uuid, m.session_id, m.type, m.subtype, m.role, m.ts_ms, m.is_sidechain, m.is_meta, "
    "m.agent_id, m.model, m.text, m.thinking, r.uuid, r.input_tokens, r.output_tokens, r.cache_write_5m, "
    "r.cache_write_1h, r.cache_read, r.web_search_requests, r.speed, r.inference_geo, r.model"
)


def list_messages(db: Database, prices: PriceTable, scope: Scope, page: Page, session_id: str | None = None,
                  message_type: str | None = None) -> dict[str, Any]:
    """Lines in conversation order for one session, newest first across sessions."""
    where = messages_where(scope)
    if session_id:
        require_session(db, session_id)
        where.add("m.session_id = ?", session_id)
    if message_type:
        where.add("m.type = ?", message_type)
    order = "m.ts_ms, m.rowid" if session_id else "m.ts_ms DESC, m.rowid DESC"
    if session_id or message_type or scope.model or scope.search:
        total = db.execute_sql(f"SELECT count(*) FROM message m{where.sql}", where.params).fetchone()[0]
    else:  # counting millions of lines would cost more than the page
        total = total_activity(db, scope).messages
    rows = db.execute_sql(
        f"SELECT {_COLUMNS} FROM message m LEFT JOIN api_request r ON r.request_key = m.request_key{where.sql} "
        f"ORDER BY {order} LIMIT ? OFFSET ?", [*where.params, page.limit, page.offset]).fetchall()
    return {"messages": [message_json(row, prices) for row in rows], "total": total, "limit": page.limit,
            "offset": page.offset, "has_more": page.offset + len(rows) < total}


def message_json(row: tuple, prices: PriceTable) -> dict[str, Any]:
    (uuid, parent, sid, mtype, subtype, role, ts, sidechain, meta, agent, model, text, thinking, usage_uuid,
     inp, out, cw5, cw1, cr, web, speed, geo, request_model) = row
    usage = None
    if usage_uuid is not None and usage_uuid == uuid:
        counts = TokenCounts(inp, out, cw5, cw1, cr, web)
        cost = cost_usd(prices, request_model or "", counts, speed=speed, inference_geo=geo,
                        long_context=is_long_context(inp, cw5 + cw1, cr))
        usage = {"input_tokens": inp, "output_tokens": out, "cache_write_5m_tokens": cw5,
                 "cache_write_1h_tokens": cw1, "cache_read_tokens": cr, "total_tokens": inp + out + cw5 + cw1 + cr,
                 "cost_usd": money(cost) if cost is not None else None, "priced": cost is not None}
    return {
        "id": uuid, "parent_id": parent, "session_id": sid, "type": mtype, "subtype": subtype, "role": role,
        "timestamp": iso(ts), "model": model, "agent_id": agent, "is_sidechain": bool(sidechain),
        "is_meta": bool(meta), "text": text, "thinking": thinking, "usage": usage,
    }
