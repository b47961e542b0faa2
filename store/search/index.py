"""Run searches over the FTS5 index: hits with highlighted snippets, and sessions whose text matches.

Ranking by relevance (bm25) costs a pass over every match of each query term (its document frequencies) and
work per matching row, so it is kept for queries that match fewer than ``RANK_WINDOW`` rows of each kind. A
broader query (a common word on a large archive) is answered newest first: its most recent matches are read
from the end of the index, which stops as soon as it has them, so every query stays fast on million-message
archives. The response's ``order`` says which it was.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from peewee import Database

from store.monitor.fmt import iso
from store.monitor.sql import chunks, like, marks
from store.reports.sessions import TITLE_SQL
from store.search.query import SearchSyntaxError, explain, is_syntax_error, literal, to_fts

RANK_WINDOW = 1_000
MAX_LIMIT = 500
SNIPPET_TOKENS = 24
_OPEN, _CLOSE = "\x02", "\x03"  # snippet markers: never in transcript text we show, replaced after escaping
SOURCES = {"search_message": "message", "search_tool_input": "tool_input", "search_tool_result": "tool_result"}


def _query(db: Database, sql: str, params: Sequence[Any]) -> list[tuple]:
    try:
        return db.execute_sql(sql, params).fetchall()
    except Exception as exc:
        if is_syntax_error(exc):
            raise explain(exc) from exc
        raise


def _snippet_sql(fts: str) -> str:
    return f"snippet({fts}, 0, '{_OPEN}', '{_CLOSE}', '…', {SNIPPET_TOKENS})"


def _recent(db: Database, fts: str, expr: str) -> list[int]:
    """Rowids of the most recent ``RANK_WINDOW`` matches of one source (no ranking: cheap, and it stops)."""
    return [r for (r,) in _query(db, f"SELECT rowid FROM {fts} WHERE {fts} MATCH ? ORDER BY rowid DESC LIMIT ?",
                                 (expr, RANK_WINDOW))]


def _ranked(db: Database, fts: str, expr: str, oldest: int, limit: int) -> list[tuple]:
    """``(rank, fts, rowid, snippet)`` of the best ``limit`` matches (all of them are at or after ``oldest``);
    FTS5 sorts by rank itself, so snippets are made for the rows returned only."""
    rows = _query(db, f"SELECT rank, rowid, {_snippet_sql(fts)} FROM {fts} WHERE {fts} MATCH ? AND rowid >= ? "
                      "ORDER BY rank LIMIT ?", (expr, oldest, limit))
    return [(rank, fts, rowid, snippet) for rank, rowid, snippet in rows]


def _newest(db: Database, fts: str, expr: str, limit: int) -> list[tuple]:
    rows = _query(db, f"SELECT rowid, {_snippet_sql(fts)} FROM {fts} WHERE {fts} MATCH ? ORDER BY rowid DESC "
                      "LIMIT ?", (expr, limit))
    return [(None, fts, rowid, snippet) for rowid, snippet in rows]


_JSON_ESCAPES = {"\\n": " ", "\\t": " ", '\\"': '"', "\\\\": "\\"}


def highlight(snippet: str, json_text: bool = False) -> str:
    """HTML-escaped snippet with matches in ``<mark>``: safe to insert as HTML. Tool inputs are JSON: their
    escapes (``\\n``, ``\\"``) are shown as the characters they stand for."""
    if json_text:
        for escape, char in _JSON_ESCAPES.items():
            snippet = snippet.replace(escape, char)
    return html.escape(snippet, quote=False).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")


def search(db: Database, query: str, limit: int = 50) -> dict[str, Any]:
    """The best ``limit`` hits for ``query`` across messages, tool inputs and tool results: by relevance (bm25
    ``rank``, lower is better), or newest first (``rank`` null) when some kind has ``RANK_WINDOW`` matches or more.

    Raises SearchSyntaxError (a 400 for the API) for an invalid query.
    """
    if not query or not query.strip():
        raise SearchSyntaxError("The query is empty: give at least one word.")
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchSyntaxError(f"limit must be between 1 and {MAX_LIMIT}")
    expr = to_fts(query)
    assert expr is not None
    recent = {fts: _recent(db, fts, expr) for fts in SOURCES}
    broad = any(len(rowids) == RANK_WINDOW for rowids in recent.values())
    hits: list[tuple] = []
    for fts, rowids in recent.items():
        if rowids:  # a kind without matches costs nothing more (bm25 would still read every term's matches)
            hits += _newest(db, fts, expr, limit) if broad else _ranked(db, fts, expr, rowids[-1], limit)
    details = _details(db, hits)
    if broad:
        hits.sort(key=lambda h: (details.get((h[1], h[2]), {}).get("timestamp") or "", h[2]), reverse=True)
    else:
        hits.sort(key=lambda h: (h[0], h[1], -h[2]))
    results = [details[(fts, rowid)] | {"snippet": highlight(snippet, fts == "search_tool_input"),
                                         "rank": None if rank is None else round(rank, 6)}
               for rank, fts, rowid, snippet in hits[:limit] if (fts, rowid) in details]
    return {"query": query, "fts_query": expr, "count": len(results), "limit": limit,
            "order": "recent" if broad else "relevance", "rank_window": RANK_WINDOW, "results": results}


_MESSAGE_SQL = ("SELECT m.rowid, m.session_id, m.uuid, m.ts_ms, coalesce(m.role, m.type), m.type, m.agent_id, "
                "NULL, NULL FROM message m WHERE m.rowid IN ({})")
_TOOL_SQL = ("SELECT t.rowid, t.session_id, t.message_uuid, {ts}, '{role}', '{block}', t.agent_id, t.name, "
             "t.tool_use_id FROM tool_call t WHERE t.rowid IN ({{}})")
_DETAIL_SQL = {  # a tool's input is in the assistant's tool_use block, its result in a user line's tool_result
    "search_message": _MESSAGE_SQL,
    "search_tool_input": _TOOL_SQL.format(ts="t.call_ts_ms", role="assistant", block="tool_use"),
    "search_tool_result": _TOOL_SQL.format(ts="coalesce(t.result_ts_ms, t.call_ts_ms)", role="user",
                                           block="tool_result"),
}


def _details(db: Database, hits: list[tuple]) -> dict[tuple[str, int], dict[str, Any]]:
    """Session, message, time and role of each hit (plus the session's title and project)."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for fts, sql in _DETAIL_SQL.items():
        rowids = [rowid for _, source, rowid, _ in hits if source == fts]
        for part in chunks(rowids):
            for rowid, sid, uuid, ts, role, line_type, agent, tool, tool_id in db.execute_sql(
                    sql.format(marks(part)), list(part)).fetchall():
                out[(fts, rowid)] = {"session_id": sid, "message_id": uuid, "timestamp": iso(ts), "role": role,
                                     "kind": SOURCES[fts], "type": line_type, "agent_id": agent,
                                     "tool_name": tool, "tool_use_id": tool_id}
    sessions = _sessions(db, sorted({d["session_id"] for d in out.values()}))
    for detail in out.values():
        detail.update(sessions.get(detail["session_id"], {"session_title": None, "project_path": None}))
    return out


def _sessions(db: Database, ids: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for part in chunks(ids):
        for sid, title, path in db.execute_sql(
                f"SELECT s.session_id, {TITLE_SQL}, coalesce(p.path, s.cwd) FROM session s "
                f"LEFT JOIN project p ON p.id = s.project_id WHERE s.session_id IN ({marks(part)})",
                list(part)).fetchall():
            out[sid] = {"session_title": title, "project_path": path}
    return out


_META_COLUMNS = ("session_id", "custom_title", "ai_title", "first_prompt", "cwd", "git_branch", "slug")


def _text_sessions(expr: str) -> str:
    return " UNION ".join(
        f"SELECT x.session_id FROM {table} x WHERE x.rowid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ?)"
        for fts, table in (("search_message", "message"), ("search_tool_input", "tool_call"),
                           ("search_tool_result", "tool_call")))


def session_text_condition(db: Database, text: str, alias: str = "s") -> tuple[str, list[Any]]:
    """SQL condition on ``session`` (aliased ``alias``): the session's titles, path, branch or id contain
    ``text``, or the index matches any of its lines, tool inputs or results. Lenient: a query that is not
    valid search syntax is searched as a literal phrase, so a filter box never fails."""
    pattern = like(text)
    meta = " OR ".join(f"{alias}.{c} LIKE ? ESCAPE '\\'" for c in _META_COLUMNS)
    params: list[Any] = [pattern] * len(_META_COLUMNS)
    expr = to_fts(text, lenient=True)
    if expr is not None:
        try:  # FTS5 may still reject what the lexer let through (a dangling operator)
            _query(db, "SELECT 1 FROM search_message WHERE search_message MATCH ? LIMIT 1", (expr,))
        except SearchSyntaxError:
            expr = literal(text)
    if expr is None:
        return f"({meta})", params
    return f"({meta} OR {alias}.session_id IN ({_text_sessions(expr)}))", [*params, expr, expr, expr]
