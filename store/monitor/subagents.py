"""Subagents (``/api/subagents``): Task/Agent runs, compaction calls, warmups and workflow agents, with usage.

``kind`` tells them apart (``subagent``, ``compaction``, ``warmup``, ``workflow``): compaction and warmup agents
cost tokens but are not work the user asked for, so clients usually filter on ``kind=subagent``.
"""

from __future__ import annotations

from typing import Any

from peewee import Database

from store.monitor.fmt import iso, usage_json
from store.monitor.lookup import require_session
from store.monitor.params import Page, Scope
from store.monitor.sql import Where, chunks, in_project, like, marks, model_condition
from store.monitor.usage import KeyUsage, priced_usage
from store.pricing import PriceTable
from store.reports.usage import Usage

_COLUMNS = ("a.agent_id, a.session_id, a.kind, a.agent_type, a.description, a.parent_tool_use_id, a.first_ts_ms, "
            "a.last_ts_ms")


def _where(scope: Scope) -> Where:
    where = Where()
    if scope.start_ms is not None:
        where.add("a.last_ts_ms >= ?", scope.start_ms)
    if scope.end_ms is not None:
        where.add("a.first_ts_ms < ?", scope.end_ms)
    if scope.project:
        condition, params = in_project("a.session_id", scope.project)
        where.add(condition, *params)
    if scope.model:
        condition, params = model_condition("mr.model", scope.model)
        where.add(f"EXISTS (SELECT 1 FROM api_request mr WHERE mr.session_id = a.session_id "
                  f"AND mr.agent_id = a.agent_id AND {condition})", *params)
    if scope.search:
        pattern = like(scope.search)
        where.add("(a.agent_id LIKE ? ESCAPE '\\' OR a.agent_type LIKE ? ESCAPE '\\' "
                  "OR a.description LIKE ? ESCAPE '\\')", pattern, pattern, pattern)
    return where


def list_subagents(db: Database, prices: PriceTable, scope: Scope, page: Page, session_id: str | None = None,
                   kind: str | None = None) -> dict[str, Any]:
    """Agents in start order for one session, most recent first across sessions."""
    where = _where(scope)
    if session_id:
        require_session(db, session_id)
        where.add("a.session_id = ?", session_id)
    if kind:
        where.add("a.kind = ?", kind)
    order = "a.first_ts_ms, a.agent_id" if session_id else "a.first_ts_ms DESC, a.agent_id"
    total = db.execute_sql(f"SELECT count(*) FROM subagent a{where.sql}", where.params).fetchone()[0]
    rows = db.execute_sql(f"SELECT {_COLUMNS} FROM subagent a{where.sql} ORDER BY {order} LIMIT ? OFFSET ?",
                          [*where.params, page.limit, page.offset]).fetchall()
    usage, tools = agent_usage(db, prices, [(r[1], r[0]) for r in rows])
    return {"subagents": [subagent_json(r, usage.get(r[0]), tools.get(r[0], 0)) for r in rows], "total": total,
            "limit": page.limit, "offset": page.offset, "has_more": page.offset + len(rows) < total}


def agent_usage(db: Database, prices: PriceTable,
                agents: list[tuple[str | None, str]]) -> tuple[dict[str, KeyUsage], dict[str, int]]:
    """Usage and tool call count per agent id; looked up through the session_id indexes."""
    usage: dict[str, KeyUsage] = {}
    tools: dict[str, int] = {}
    pairs = [(sid, aid) for sid, aid in agents if sid]
    for part in chunks(pairs, 250):
        sids = sorted({sid for sid, _ in part})
        aids = [aid for _, aid in part]
        where = (Where().add("r.model IS NOT NULL").add(f"r.session_id IN ({marks(sids)})", *sids)
                 .add(f"r.agent_id IN ({marks(aids)})", *aids))
        usage.update(priced_usage(db, prices, where, "r.agent_id"))
        tools.update(db.execute_sql(
            f"SELECT agent_id, count(*) FROM tool_call WHERE session_id IN ({marks(sids)}) "
            f"AND agent_id IN ({marks(aids)}) GROUP BY agent_id", [*sids, *aids]).fetchall())
    return usage, tools


def subagent_json(row: tuple, usage: KeyUsage | None, tool_calls: int) -> dict[str, Any]:
    aid, sid, kind, agent_type, description, parent_tool, first, last = row
    total = usage.total if usage else Usage()
    return {
        "id": aid, "session_id": sid, "kind": kind, "agent_type": agent_type, "description": description,
        "parent_tool_use_id": parent_tool, "started_at": iso(first), "ended_at": iso(last),
        "duration_ms": last - first if first is not None and last is not None else None,
        "tool_call_count": tool_calls, "models": sorted(usage.models) if usage else [], "usage": usage_json(total),
    }
