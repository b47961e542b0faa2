"""Sessions (``/api/sessions``, ``/api/sessions/{id}``): metadata, counts and whole-session priced usage.

The list pages over the session table through its ``last_ts_ms`` index, then counts and prices only the
sessions on the page, so its cost does not grow with the archive.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from peewee import Database

from store.monitor.fmt import iso, usage_json
from store.monitor.messages import list_messages
from store.monitor.params import ACTIVE_WINDOW_MS, NotFound, Page, Scope
from store.monitor.sql import chunks, marks, sessions_where
from store.monitor.subagents import list_subagents
from store.monitor.tool_calls import list_tool_calls
from store.monitor.usage import KeyUsage, price_rows, session_rows
from store.notes import tag_condition
from store.pricing import PriceTable
from store.reports.sessions import TITLE_SQL
from store.reports.usage import Usage
from store.search import session_text_condition
from store.sqlite.rollup_tables import DAY_LATE, DAY_UNDATED

DETAIL_LIMIT = 1000  # items per list in a session's detail; the list endpoints page through the rest

_COLUMNS = (f"s.session_id, {TITLE_SQL}, p.path, s.project_dir, s.cwd, s.git_branch, s.version, s.slug, "
            "s.first_ts_ms, s.last_ts_ms")
_FROM = "FROM session s LEFT JOIN project p ON p.id = s.project_id"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def project_name(path: str | None) -> str | None:
    """Last component of a project path (either separator), for display."""
    if not path:
        return None
    return path.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] or path


def list_sessions(db: Database, prices: PriceTable, scope: Scope, page: Page,
                  now: int | None = None, tag: str | None = None) -> dict[str, Any]:
    """Sessions active in the range, most recent activity first; ``search`` uses the full-text index (and the
    session's titles, path and branch), ``tag`` keeps sessions the user tagged so."""
    where = sessions_where(replace(scope, search=None))
    if scope.search:
        condition, params = session_text_condition(db, scope.search)
        where.add(condition, *params)
    if tag:
        condition, params = tag_condition(tag)
        where.add(condition, *params)
    total = db.execute_sql(f"SELECT count(*) FROM session s{where.sql}", where.params).fetchone()[0]
    # the page's ids first: SQLite would compute the title sub-select for every skipped row too
    order = "ORDER BY s.last_ts_ms DESC, s.session_id DESC"
    rows = db.execute_sql(
        f"SELECT {_COLUMNS} {_FROM} WHERE s.session_id IN (SELECT s.session_id FROM session s{where.sql} {order} "
        f"LIMIT ? OFFSET ?) {order}", [*where.params, page.limit, page.offset]).fetchall()
    facts = session_facts(db, prices, [r[0] for r in rows])
    now = now_ms() if now is None else now
    return {"sessions": [session_json(r, facts, now) for r in rows], "total": total, "limit": page.limit,
            "offset": page.offset, "has_more": page.offset + len(rows) < total}


def session_facts(db: Database, prices: PriceTable, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Counts and priced usage of each session in ``ids``."""
    facts: dict[str, dict[str, Any]] = {sid: {} for sid in ids}
    queries = {
        "message_count": "SELECT session_id, count(*) FROM message WHERE session_id IN ({}) GROUP BY 1",
        "tool_call_count": "SELECT session_id, count(*) FROM tool_call WHERE session_id IN ({}) GROUP BY 1",
        "tool_error_count": "SELECT session_id, count(*) FROM tool_call WHERE session_id IN ({}) "
                            "AND status = 'error' GROUP BY 1",
        "subagent_count": "SELECT session_id, count(*) FROM subagent WHERE session_id IN ({}) "
                          "AND kind IN ('subagent', 'workflow') GROUP BY 1",
        "compaction_count": "SELECT session_id, count(*) FROM compaction WHERE session_id IN ({}) GROUP BY 1",
    }
    for part in chunks(list(ids)):
        for name, sql in queries.items():
            for sid, n in db.execute_sql(sql.format(marks(part)), list(part)).fetchall():
                facts[sid][name] = n
        for sid, usage in price_rows(session_rows(db, part, DAY_UNDATED, DAY_LATE), prices).items():
            facts[sid]["usage"] = usage
    return facts


def session_json(row: tuple, facts: dict[str, dict[str, Any]], now: int) -> dict[str, Any]:
    sid, title, path, project_dir, cwd, branch, version, slug, first, last = row
    f = facts.get(sid, {})
    usage: KeyUsage | None = f.get("usage")
    project_path = path or cwd
    return {
        "id": sid, "title": title, "project_path": project_path, "project_name": project_name(project_path),
        "project_dir": project_dir, "cwd": cwd, "git_branch": branch, "claude_version": version, "slug": slug,
        "started_at": iso(first), "ended_at": iso(last),
        "duration_ms": last - first if first is not None and last is not None else None,
        "is_active": last is not None and now - ACTIVE_WINDOW_MS <= last,
        "message_count": f.get("message_count", 0), "tool_call_count": f.get("tool_call_count", 0),
        "tool_error_count": f.get("tool_error_count", 0), "subagent_count": f.get("subagent_count", 0),
        "compaction_count": f.get("compaction_count", 0), "models": sorted(usage.models) if usage else [],
        "usage": usage_json(usage.total if usage else Usage()),
    }


def session_row(db: Database, session_id: str, parameter: str = "session_id") -> tuple:
    row = db.execute_sql(f"SELECT {_COLUMNS} {_FROM} WHERE s.session_id = ?", (session_id,)).fetchone()
    if row is None:
        raise NotFound(parameter, f"no session {session_id!r} in the archive")
    return row


def session_detail(db: Database, prices: PriceTable, scope: Scope, session_id: str,
                   now: int | None = None) -> dict[str, Any]:
    """One session: metadata, usage per model, then its messages, tool calls, subagents and compactions.

    Each list holds up to ``DETAIL_LIMIT`` items in time order; ``*_total`` says how many exist.
    """
    row = session_row(db, session_id)
    facts = session_facts(db, prices, [session_id])
    session = session_json(row, facts, now_ms() if now is None else now)
    usage: KeyUsage | None = facts[session_id].get("usage")
    session["usage_by_model"] = {m: usage_json(u) for m, u in sorted(usage.models.items())} if usage else {}
    whole = Scope(scope.tz)
    page = Page(DETAIL_LIMIT, 0)
    messages = list_messages(db, prices, whole, page, session_id=session_id)
    tools = list_tool_calls(db, whole, page, session_id=session_id)
    agents = list_subagents(db, prices, whole, page, session_id=session_id)
    return {
        "session": session,
        "messages": messages["messages"], "messages_total": messages["total"],
        "tool_calls": tools["tool_calls"], "tool_calls_total": tools["total"],
        "subagents": agents["subagents"], "subagents_total": agents["total"],
        "compactions": compactions(db, session_id),
    }


def compactions(db: Database, session_id: str) -> list[dict[str, Any]]:
    rows = db.execute_sql(
        "SELECT uuid, ts_ms, kind, trigger, pre_tokens, post_tokens, duration_ms FROM compaction "
        "WHERE session_id = ? ORDER BY ts_ms, uuid", (session_id,)).fetchall()
    return [{"id": u, "timestamp": iso(ts), "kind": kind, "trigger": trigger, "pre_tokens": pre,
             "post_tokens": post, "duration_ms": duration} for u, ts, kind, trigger, pre, post, duration in rows]
