"""``GET /api/data/events``: user prompts, assistant responses and tool calls as one feed, newest first.

- ``user``: a prompt typed by the user (main thread; tool results, meta lines and command echoes excluded);
- ``assistant``: one deduplicated API response, ``tokens_used`` being all its tokens (input, output, cache);
- ``tool_use``: one tool call (``tokens_used`` 0: its tokens belong to the response that made it).

``stats`` cover every event the filters match (not only the page); ``toolsUsed`` counts the distinct Claude Code
tools (Read, Bash, ...) among them, ``tool`` being always ``claude_code``.
"""

from __future__ import annotations

import getpass
import hashlib
import sqlite3
from dataclasses import dataclass
from typing import Any

from store.timezones import DAY_MS, format_utc_iso_ms

EVENT_TYPES = ("user", "assistant", "tool_use")
TIME_RANGES = {"24h": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS}
TOOL = "claude_code"
CHUNK = 500

_NOT_PROMPT = ("<command-", "<local-command", "<bash-", "<task-notification", "<system-reminder", "Caveat:",
               "[Request interrupted by user", "This session is being continued from a previous conversation")


@dataclass(frozen=True, slots=True)
class Source:
    columns: str  # kind, ref, ts, sid, model, tokens
    table: str
    where: str
    params: tuple[Any, ...]
    ts: str
    sid: str
    tokens: str = "0"


SOURCES = {
    "user": Source(
        "'user' AS kind, m.uuid AS ref, m.ts_ms AS ts, m.session_id AS sid, NULL AS model, 0 AS tokens",
        "message m",
        "m.type = 'user' AND m.is_sidechain = 0 AND m.is_meta = 0 AND m.text IS NOT NULL AND m.ts_ms IS NOT NULL "
        + "".join(" AND ltrim(m.text, char(32, 9, 10, 13)) NOT LIKE ?" for _ in _NOT_PROMPT),
        tuple(f"{marker}%" for marker in _NOT_PROMPT), "m.ts_ms", "m.session_id"),
    "assistant": Source(
        "'assistant' AS kind, r.request_key AS ref, r.ts_ms AS ts, r.session_id AS sid, r.model AS model, "
        "r.input_tokens + r.output_tokens + r.cache_write_5m + r.cache_write_1h + r.cache_read AS tokens",
        "api_request r",
        "r.model IS NOT NULL AND r.model != '<synthetic>'", (), "r.ts_ms", "r.session_id",
        "r.input_tokens + r.output_tokens + r.cache_write_5m + r.cache_write_1h + r.cache_read"),
    "tool_use": Source(
        "'tool_use' AS kind, t.tool_use_id AS ref, t.call_ts_ms AS ts, t.session_id AS sid, "
        "(SELECT a.model FROM api_request a WHERE a.request_key = t.request_key) AS model, 0 AS tokens",
        "tool_call t",
        "t.call_ts_ms IS NOT NULL AND t.name IS NOT NULL", (), "t.call_ts_ms", "t.session_id"),
}


@dataclass(frozen=True, slots=True)
class EventQuery:
    project: str | None = None
    event_type: str | None = None  # user | assistant | tool_use; None: all
    time_range: str | None = None  # 24h | 7d | 30d; None: all time
    limit: int = 50
    page: int = 0


def local_user_id() -> str:
    """A stable pseudonymous id for this machine's user (the name itself never leaves the machine)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "user"
    return "usr_" + hashlib.blake2b(name.encode(), digest_size=6).hexdigest()


def event_id(kind: str, ref: str) -> str:
    return "evt_" + hashlib.blake2b(f"{kind}:{ref}".encode(), digest_size=10).hexdigest()


def _conditions(source: Source, q: EventQuery, now_ms: int) -> tuple[str, list[Any]]:
    where, params = [source.where], list(source.params)
    if q.time_range is not None:
        where.append(f"{source.ts} >= ? AND {source.ts} <= ?")
        params += [now_ms - TIME_RANGES[q.time_range], now_ms]
    if q.project is not None:
        where.append(f"{source.sid} IN (SELECT ps.session_id FROM session ps LEFT JOIN project pp "
                     "ON pp.id = ps.project_id WHERE coalesce(pp.path, ps.cwd) = ?)")
        params.append(q.project)
    return " AND ".join(where), params


def query_events(conn: sqlite3.Connection, q: EventQuery, now_ms: int, user_id: str) -> dict[str, Any]:
    kinds = [q.event_type] if q.event_type else list(EVENT_TYPES)
    filtered = {kind: _conditions(SOURCES[kind], q, now_ms) for kind in kinds}
    top = (q.page + 1) * q.limit  # each source contributes at most this many rows to the page
    parts = [f"SELECT * FROM (SELECT {SOURCES[k].columns} FROM {SOURCES[k].table} WHERE {filtered[k][0]} "
             f"ORDER BY ts DESC, ref LIMIT {top})" for k in kinds]
    params = [p for k in kinds for p in filtered[k][1]]
    rows = conn.execute(f"SELECT kind, ref, ts, sid, model, tokens FROM ({' UNION ALL '.join(parts)}) "
                        "ORDER BY ts DESC, kind, ref LIMIT ? OFFSET ?", [*params, q.limit, q.page * q.limit]).fetchall()
    projects = _project_paths(conn, {row[3] for row in rows})
    events = [{"id": event_id(kind, ref), "time": format_utc_iso_ms(ts), "event_type": kind, "tool": TOOL,
               "project_path": projects.get(sid), "user_id": user_id, "tokens_used": int(tokens or 0),
               "model": model} for kind, ref, ts, sid, model, tokens in rows]
    stats = _stats(conn, kinds, filtered)
    return {"events": events, "totalCount": stats["totalEvents"], "stats": stats, "page": q.page, "limit": q.limit}


def _stats(conn: sqlite3.Connection, kinds: list[str], filtered: dict[str, tuple[str, list[Any]]]) -> dict[str, int]:
    total = tokens = 0
    for kind in kinds:
        where, params = filtered[kind]
        source = SOURCES[kind]
        count, summed = conn.execute(f"SELECT count(*), coalesce(sum({source.tokens}), 0) FROM {source.table} "
                                     f"WHERE {where}", params).fetchone()
        total, tokens = total + count, tokens + summed
    sessions = " UNION ".join(f"SELECT {SOURCES[k].sid} FROM {SOURCES[k].table} WHERE {filtered[k][0]}"
                              for k in kinds)
    projects = conn.execute(
        "SELECT count(DISTINCT coalesce(p.path, s.cwd)) FROM session s LEFT JOIN project p ON p.id = s.project_id "
        f"WHERE s.session_id IN ({sessions})", [p for k in kinds for p in filtered[k][1]]).fetchone()[0]
    tools = 0
    if "tool_use" in kinds:
        where, params = filtered["tool_use"]
        tools = conn.execute(f"SELECT count(DISTINCT t.name) FROM tool_call t WHERE {where}", params).fetchone()[0]
    return {"totalEvents": total, "projects": projects, "totalTokens": int(tokens), "toolsUsed": tools}


def _project_paths(conn: sqlite3.Connection, session_ids: set[str]) -> dict[str, str | None]:
    result: dict[str, str | None] = {}
    ids = sorted(session_ids)
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        result.update(conn.execute(
            "SELECT s.session_id, coalesce(p.path, s.cwd) FROM session s LEFT JOIN project p ON p.id = s.project_id "
            f"WHERE s.session_id IN ({','.join('?' * len(part))})", part).fetchall())
    return result
