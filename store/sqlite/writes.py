"""The statements ingest writes parsed rows with: upserts that merge a row seen in several files, and the links
made once a chunk's rows are in."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from store.ingest.rows import (
    COMPACTION_COLUMNS,
    MESSAGE_COLUMNS,
    RAW_COLUMNS,
    REQUEST_COLUMNS,
    SUMMARY_COLUMNS,
    TOOL_CALL_COLUMNS,
    ParsedChunk,
)


def _placeholders(columns: Sequence[str]) -> str:
    return ", ".join("?" for _ in columns)


def _cols(columns: Sequence[str]) -> str:
    return ", ".join(columns)


INSERT_MESSAGE = (
    f"INSERT INTO message ({_cols(MESSAGE_COLUMNS)}) VALUES ({_placeholders(MESSAGE_COLUMNS)}) "
    "ON CONFLICT(uuid) DO NOTHING"
)

_TOTAL_NEW = "excluded.input_tokens + excluded.output_tokens + excluded.cache_write_5m + excluded.cache_write_1h + " \
             "excluded.cache_read"
_TOTAL_OLD = "input_tokens + output_tokens + cache_write_5m + cache_write_1h + cache_read"
# The larger usage wins: output first (it grows while streaming), then the total (ccusage's rule).
_USAGE_WINS = (f"(excluded.output_tokens > output_tokens OR (excluded.output_tokens = output_tokens "
               f"AND {_TOTAL_NEW} > {_TOTAL_OLD}))")
_USAGE_TIES = (f"(excluded.output_tokens = output_tokens AND {_TOTAL_NEW} = {_TOTAL_OLD} "
               "AND excluded.ts_ms < ts_ms)")
# Attribution prefers the main-thread copy, then the earliest one, then a stable order.
_ATTR_WINS = ("(excluded.is_sidechain < is_sidechain OR (excluded.is_sidechain = is_sidechain AND "
              "(excluded.ts_ms < ts_ms OR (excluded.ts_ms = ts_ms AND excluded.session_id < session_id))))")
_USAGE_FIELDS = ("model", "input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h", "cache_read",
                 "web_search_requests", "web_fetch_requests", "speed", "service_tier", "inference_geo",
                 "is_api_error", "recorded_cost_usd")
_ATTR_FIELDS = ("session_id", "agent_id", "uuid", "is_sidechain", "is_compaction", "version")

UPSERT_REQUEST = (
    f"INSERT INTO api_request ({_cols(REQUEST_COLUMNS)}) VALUES ({_placeholders(REQUEST_COLUMNS)}) "
    "ON CONFLICT(request_key) DO UPDATE SET "
    + ", ".join(f"{f} = iif({_USAGE_WINS}, excluded.{f}, {f})" for f in _USAGE_FIELDS)
    + ", "
    + ", ".join(f"{f} = iif({_ATTR_WINS}, excluded.{f}, {f})" for f in _ATTR_FIELDS)
    + f", ts_ms = iif({_USAGE_WINS} OR {_USAGE_TIES}, excluded.ts_ms, ts_ms)"
)

# A sidechain line that replays a parent message under another requestId is dropped for the parent.
DROP_SIDECHAIN_REPLAYS = (
    "DELETE FROM api_request WHERE message_id = ? AND is_sidechain = 1 AND EXISTS ("
    "SELECT 1 FROM api_request AS p WHERE p.message_id = api_request.message_id AND p.is_sidechain = 0 "
    "AND p.request_key != api_request.request_key)"
)

UPSERT_TOOL_CALL = (
    f"INSERT INTO tool_call ({_cols(TOOL_CALL_COLUMNS)}, status) "
    f"VALUES ({_placeholders(TOOL_CALL_COLUMNS)}, 'pending') "
    "ON CONFLICT(tool_use_id) DO UPDATE SET "
    "session_id = iif(call_ts_ms IS NULL OR excluded.call_ts_ms < call_ts_ms, excluded.session_id, session_id), "
    "agent_id = iif(call_ts_ms IS NULL OR excluded.call_ts_ms < call_ts_ms, excluded.agent_id, agent_id), "
    "message_uuid = coalesce(message_uuid, excluded.message_uuid), "
    "request_key = coalesce(request_key, excluded.request_key), "
    "name = coalesce(name, excluded.name), mcp_server = coalesce(mcp_server, excluded.mcp_server), "
    "skill = coalesce(skill, excluded.skill), file_path = coalesce(file_path, excluded.file_path), "
    "input_json = coalesce(input_json, excluded.input_json), "
    "is_sidechain = min(is_sidechain, excluded.is_sidechain), "
    "duration_ms = iif(result_ts_ms IS NULL, NULL, result_ts_ms - min(coalesce(call_ts_ms, excluded.call_ts_ms), "
    "coalesce(excluded.call_ts_ms, call_ts_ms))), "
    "call_ts_ms = min(coalesce(call_ts_ms, excluded.call_ts_ms), coalesce(excluded.call_ts_ms, call_ts_ms))"
)

UPSERT_TOOL_RESULT = (
    "INSERT INTO tool_call (tool_use_id, session_id, result_ts_ms, status, error_text, result_text, is_sidechain) "
    "VALUES (?, ?, ?, ?, ?, ?, 0) "
    "ON CONFLICT(tool_use_id) DO UPDATE SET "
    "status = iif(result_ts_ms IS NULL OR excluded.result_ts_ms <= result_ts_ms, excluded.status, status), "
    "error_text = iif(result_ts_ms IS NULL OR excluded.result_ts_ms <= result_ts_ms, excluded.error_text, error_text), "
    "result_text = iif(result_ts_ms IS NULL OR excluded.result_ts_ms <= result_ts_ms, excluded.result_text, "
    "result_text), "
    "duration_ms = iif(call_ts_ms IS NULL, NULL, min(coalesce(result_ts_ms, excluded.result_ts_ms), "
    "coalesce(excluded.result_ts_ms, result_ts_ms)) - call_ts_ms), "
    "result_ts_ms = min(coalesce(result_ts_ms, excluded.result_ts_ms), coalesce(excluded.result_ts_ms, result_ts_ms))"
)

_KIND_RANK = "(CASE {k} WHEN 'compaction' THEN 3 WHEN 'warmup' THEN 2 WHEN 'workflow' THEN 1 ELSE 0 END)"
UPSERT_SUBAGENT = (
    "INSERT INTO subagent (agent_id, session_id, kind, agent_type, description, parent_tool_use_id, first_ts_ms, "
    "last_ts_ms, files) VALUES (?, ?, ?, ?, ?, ?, ?, ?, iif(? IS NULL, NULL, json_array(?))) "
    "ON CONFLICT(agent_id) DO UPDATE SET "
    "session_id = coalesce(session_id, excluded.session_id), "
    f"kind = iif({_KIND_RANK.format(k='excluded.kind')} > {_KIND_RANK.format(k='kind')}, excluded.kind, kind), "
    "agent_type = coalesce(excluded.agent_type, agent_type), "
    "description = coalesce(description, excluded.description), "
    "parent_tool_use_id = coalesce(parent_tool_use_id, excluded.parent_tool_use_id), "
    "first_ts_ms = min(coalesce(first_ts_ms, excluded.first_ts_ms), coalesce(excluded.first_ts_ms, first_ts_ms)), "
    "last_ts_ms = max(coalesce(last_ts_ms, excluded.last_ts_ms), coalesce(excluded.last_ts_ms, last_ts_ms)), "
    "files = CASE WHEN excluded.files IS NULL THEN files WHEN files IS NULL THEN excluded.files "
    "WHEN EXISTS (SELECT 1 FROM json_each(files) WHERE value = json_extract(excluded.files, '$[0]')) THEN files "
    "ELSE json_insert(files, '$[#]', json_extract(excluded.files, '$[0]')) END"
)

INSERT_COMPACTION = (
    f"INSERT INTO compaction ({_cols(COMPACTION_COLUMNS)}) VALUES ({_placeholders(COMPACTION_COLUMNS)}) "
    "ON CONFLICT(uuid) DO NOTHING"
)
INSERT_SUMMARY = (
    f"INSERT INTO summary ({_cols(SUMMARY_COLUMNS)}) VALUES ({_placeholders(SUMMARY_COLUMNS)}) "
    "ON CONFLICT(leaf_uuid, summary) DO NOTHING"
)
INSERT_RAW = (
    f"INSERT INTO raw_entry ({_cols(RAW_COLUMNS)}) VALUES ({_placeholders(RAW_COLUMNS)}) "
    "ON CONFLICT(line_hash) DO NOTHING"
)

UPSERT_SESSION = (
    "INSERT INTO session (session_id, project_dir, cwd, cwd_ts_ms, git_branch, version, slug, first_ts_ms, "
    "last_ts_ms, custom_title, ai_title, first_prompt, first_prompt_ts_ms) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(session_id) DO UPDATE SET "
    "project_dir = coalesce(project_dir, excluded.project_dir), "
    "cwd = iif(excluded.cwd IS NOT NULL AND (cwd IS NULL OR coalesce(excluded.cwd_ts_ms, 9e18) < "
    "coalesce(cwd_ts_ms, 9e18)), excluded.cwd, cwd), "
    "cwd_ts_ms = iif(excluded.cwd IS NOT NULL AND (cwd IS NULL OR coalesce(excluded.cwd_ts_ms, 9e18) < "
    "coalesce(cwd_ts_ms, 9e18)), excluded.cwd_ts_ms, cwd_ts_ms), "
    "git_branch = iif(excluded.git_branch IS NOT NULL AND coalesce(excluded.last_ts_ms, 0) >= "
    "coalesce(last_ts_ms, 0), excluded.git_branch, git_branch), "
    "version = iif(excluded.version IS NOT NULL AND coalesce(excluded.last_ts_ms, 0) >= coalesce(last_ts_ms, 0), "
    "excluded.version, version), "
    "slug = coalesce(excluded.slug, slug), "
    "first_ts_ms = min(coalesce(first_ts_ms, excluded.first_ts_ms), coalesce(excluded.first_ts_ms, first_ts_ms)), "
    "last_ts_ms = max(coalesce(last_ts_ms, excluded.last_ts_ms), coalesce(excluded.last_ts_ms, last_ts_ms)), "
    "custom_title = coalesce(excluded.custom_title, custom_title), "
    "ai_title = coalesce(excluded.ai_title, ai_title), "
    "first_prompt = iif(excluded.first_prompt IS NOT NULL AND excluded.first_prompt_ts_ms < "
    "coalesce(first_prompt_ts_ms, 9e18), excluded.first_prompt, first_prompt), "
    "first_prompt_ts_ms = iif(excluded.first_prompt IS NOT NULL AND excluded.first_prompt_ts_ms < "
    "coalesce(first_prompt_ts_ms, 9e18), excluded.first_prompt_ts_ms, first_prompt_ts_ms)"
)
INSERT_PROJECT = "INSERT INTO project (path) VALUES (?) ON CONFLICT(path) DO NOTHING"
LINK_SESSION_PROJECT = (
    "UPDATE session SET project_id = (SELECT id FROM project WHERE path = session.cwd) WHERE session_id = ?"
)

# Subagent type known only from the spawning Task/Agent call's input.
LINK_SUBAGENT_TYPES = (
    "UPDATE subagent SET agent_type = (SELECT json_extract(t.input_json, '$.subagent_type') FROM tool_call t "
    "WHERE t.tool_use_id = subagent.parent_tool_use_id), "
    "description = coalesce(description, (SELECT json_extract(t.input_json, '$.description') FROM tool_call t "
    "WHERE t.tool_use_id = subagent.parent_tool_use_id)) "
    "WHERE agent_type IS NULL AND parent_tool_use_id IS NOT NULL"
)


def write_chunk(conn: sqlite3.Connection, chunk: ParsedChunk) -> None:
    """Write one parsed chunk's rows; the caller owns the transaction (rows and offset commit together).

    Sessions and their projects go first, so the rollup triggers file new requests under their project at once.
    """
    if chunk.sessions:
        conn.executemany(UPSERT_SESSION, (
            (sid, f.project_dir, f.cwd, f.cwd_ts_ms, f.git_branch, f.version, f.slug, f.first_ts_ms, f.last_ts_ms,
             f.custom_title, f.ai_title, f.first_prompt, f.first_prompt_ts_ms)
            for sid, f in chunk.sessions.items()
        ))
        cwds = {f.cwd for f in chunk.sessions.values() if f.cwd}
        conn.executemany(INSERT_PROJECT, ((c,) for c in cwds))
        conn.executemany(LINK_SESSION_PROJECT, ((sid,) for sid in chunk.sessions))
    if chunk.messages:
        conn.executemany(INSERT_MESSAGE, chunk.messages)
    if chunk.requests:
        conn.executemany(UPSERT_REQUEST, chunk.requests.values())
        message_ids = {row[1] for row in chunk.requests.values() if row[1]}
        conn.executemany(DROP_SIDECHAIN_REPLAYS, ((m,) for m in message_ids))
    if chunk.tool_calls:
        conn.executemany(UPSERT_TOOL_CALL, chunk.tool_calls.values())
    if chunk.tool_results:
        conn.executemany(UPSERT_TOOL_RESULT, chunk.tool_results.values())
    if chunk.subagents:
        # the file path is bound twice: once for the NULL test, once for json_array()
        conn.executemany(UPSERT_SUBAGENT, ((*row, row[8]) for row in chunk.subagents.values()))
    if chunk.compactions:
        conn.executemany(INSERT_COMPACTION, chunk.compactions)
    if chunk.summaries:
        conn.executemany(INSERT_SUMMARY, chunk.summaries)
    if chunk.raw:
        conn.executemany(INSERT_RAW, chunk.raw)


def max_rowids(conn: sqlite3.Connection, tables: Iterable[str]) -> dict[str, int]:
    """Highest rowid per table: rows above it after a write are the newly added ones (cheap counting)."""
    return {t: conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {t}").fetchone()[0] for t in tables}


def count_above(conn: sqlite3.Connection, table: str, rowid: int) -> int:
    return conn.execute(f"SELECT count(*) FROM {table} WHERE rowid > ?", (rowid,)).fetchone()[0]
