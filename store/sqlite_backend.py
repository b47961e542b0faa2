"""Everything SQLite-specific lives here: pragmas, error translation and the bulk upserts of ingest.

The rest of ``store`` talks to Peewee models; a PostgreSQL backend would replace this module (its
``ON CONFLICT`` clauses are already standard SQL, ``iif`` and ``json_*`` would need equivalents).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from peewee import SqliteDatabase

from store.ingest.rows import (
    COMPACTION_COLUMNS,
    MESSAGE_COLUMNS,
    RAW_COLUMNS,
    REQUEST_COLUMNS,
    SUMMARY_COLUMNS,
    TOOL_CALL_COLUMNS,
    ParsedChunk,
)
from store.pricing.cost import LONG_CONTEXT_THRESHOLD
from store.timezones import SLOT_MS

PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "normal",  # WAL + NORMAL: a crash loses at most the last commits, never consistency
    "foreign_keys": 1,
    "cache_size": -64_000,  # 64 MB page cache
    "temp_store": "memory",
    "busy_timeout": 5_000,
}


class ArchiveError(RuntimeError):
    """The archive cannot be used; the message says why in words a user can act on."""


def explain_sqlite_error(exc: sqlite3.Error, path: str | Path) -> ArchiveError:
    """Translate SQLite errors into messages that name the file and the fix."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        msg = f"The archive {path} is locked by another process (is Devhelion already ingesting?). Try again."
    elif "full" in text:
        msg = f"The disk holding the archive {path} is full. Free some space and run again; nothing was lost."
    elif "readonly" in text or "read-only" in text:
        msg = f"The archive {path} is read-only. Check its permissions (or the DEVHELION_HOME folder)."
    elif "unable to open" in text:
        msg = f"Cannot open the archive {path}. Check that the folder exists and is writable."
    elif "malformed" in text or "not a database" in text:
        msg = f"The archive {path} is damaged ({exc}). Move it aside and run `devhelion ingest` to rebuild."
    else:
        msg = f"Archive error on {path}: {exc}"
    return ArchiveError(msg)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """An explicit write transaction. Peewee opens connections in autocommit mode, where ``with conn:`` would
    commit every statement on its own; rows and the offsets that produced them must commit together."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # SQLite may already have rolled back (e.g. on a full disk)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def make_database(path: str | Path) -> SqliteDatabase:
    return SqliteDatabase(str(path), pragmas=PRAGMAS, check_same_thread=False, timeout=5)


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


# -- usage rollup --------------------------------------------------------------------------------------
# ``usage_rollup`` (see ``store.models.UsageRollup``) is kept equal to a GROUP BY over ``api_request`` by
# triggers, so it stays exact under every upsert, dedup deletion and late session-to-project link.
_ROLLUP_SUMS = ("input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h", "cache_read",
                "web_search_requests")
_ROLLUP_KEY = "slot, project_id, model, speed, geo, long_context"
_ROLLUP_COLUMNS = f"{_ROLLUP_KEY}, {', '.join(_ROLLUP_SUMS)}, requests"
_ROLLUP_MERGE = (f"ON CONFLICT ({_ROLLUP_KEY}) DO UPDATE SET "
                 + ", ".join(f"{c} = {c} + excluded.{c}" for c in (*_ROLLUP_SUMS, "requests")))


def _rollup_key(r: str, project: str) -> str:
    return (f"{r}.ts_ms / {SLOT_MS}, {project}, {r}.model, coalesce({r}.speed, ''), coalesce({r}.inference_geo, ''), "
            f"({r}.input_tokens + {r}.cache_write_5m + {r}.cache_write_1h + {r}.cache_read > {LONG_CONTEXT_THRESHOLD})")


def _rollup_row_change(r: str, sign: str) -> str:
    """Add (sign ``+``) or remove (``-``) one request row ``r`` (NEW or OLD) from the rollup."""
    project = f"coalesce((SELECT project_id FROM session WHERE session_id = {r}.session_id), 0)"
    sums = ", ".join(f"{sign}{r}.{c}" for c in _ROLLUP_SUMS)
    return (f"INSERT INTO usage_rollup ({_ROLLUP_COLUMNS}) SELECT {_rollup_key(r, project)}, {sums}, {sign}1 "
            f"WHERE {r}.model IS NOT NULL {_ROLLUP_MERGE};")


def _rollup_session_move(sid: str, project: str, sign: str) -> str:
    """Add or remove all of a session's requests under ``project`` (when the session's project changes)."""
    sums = ", ".join(f"{sign}sum(r.{c})" for c in _ROLLUP_SUMS)
    return (f"INSERT INTO usage_rollup ({_ROLLUP_COLUMNS}) SELECT {_rollup_key('r', project)}, {sums}, "
            f"{sign}count(*) FROM api_request r WHERE r.session_id = {sid} AND r.model IS NOT NULL "
            f"GROUP BY 1, 2, 3, 4, 5, 6 {_ROLLUP_MERGE};")


_ROLLUP_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in (
    "ts_ms", "session_id", "model", "speed", "inference_geo", "input_tokens", "output_tokens", "cache_write_5m",
    "cache_write_1h", "cache_read", "web_search_requests"))
_DROP_EMPTY_SLOT = f"DELETE FROM usage_rollup WHERE slot = OLD.ts_ms / {SLOT_MS} AND requests = 0;"
_DROP_EMPTY_SESSION = (f"DELETE FROM usage_rollup WHERE requests = 0 AND slot IN "
                       f"(SELECT ts_ms / {SLOT_MS} FROM api_request WHERE session_id = NEW.session_id);")

ROLLUP_TRIGGERS = (
    f"CREATE TRIGGER IF NOT EXISTS rollup_request_insert AFTER INSERT ON api_request BEGIN "
    f"{_rollup_row_change('NEW', '+')} END",
    f"CREATE TRIGGER IF NOT EXISTS rollup_request_update AFTER UPDATE ON api_request WHEN {_ROLLUP_CHANGED} BEGIN "
    f"{_rollup_row_change('OLD', '-')} {_rollup_row_change('NEW', '+')} {_DROP_EMPTY_SLOT} END",
    f"CREATE TRIGGER IF NOT EXISTS rollup_request_delete AFTER DELETE ON api_request BEGIN "
    f"{_rollup_row_change('OLD', '-')} {_DROP_EMPTY_SLOT} END",
    "CREATE TRIGGER IF NOT EXISTS rollup_session_project AFTER UPDATE OF project_id ON session "
    "WHEN OLD.project_id IS NOT NEW.project_id BEGIN "
    f"{_rollup_session_move('NEW.session_id', 'coalesce(OLD.project_id, 0)', '-')} "
    f"{_rollup_session_move('NEW.session_id', 'coalesce(NEW.project_id, 0)', '+')} {_DROP_EMPTY_SESSION} END",
    "CREATE TRIGGER IF NOT EXISTS rollup_session_insert AFTER INSERT ON session "
    "WHEN NEW.project_id IS NOT NULL BEGIN "
    f"{_rollup_session_move('NEW.session_id', '0', '-')} "
    f"{_rollup_session_move('NEW.session_id', 'NEW.project_id', '+')} {_DROP_EMPTY_SESSION} END",
)

ROLLUP_FROM_REQUESTS = (
    f"SELECT {_rollup_key('r', 'coalesce(s.project_id, 0)')}, "
    + ", ".join(f"sum(r.{c})" for c in _ROLLUP_SUMS)
    + ", count(*) FROM api_request r LEFT JOIN session s ON s.session_id = r.session_id "
    "WHERE r.model IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6"
)


def install_rollup_triggers(conn: sqlite3.Connection) -> None:
    for statement in ROLLUP_TRIGGERS:
        conn.execute(statement)


def rebuild_rollup(conn: sqlite3.Connection) -> None:
    """Recompute the rollup from the requests (migration of an archive written before it existed)."""
    conn.execute("DELETE FROM usage_rollup")
    conn.execute(f"INSERT INTO usage_rollup ({_ROLLUP_COLUMNS}) {ROLLUP_FROM_REQUESTS}")


def rollup_differences(conn: sqlite3.Connection) -> list[tuple]:
    """Rows where the rollup and a fresh GROUP BY over the requests disagree (empty when consistent)."""
    return conn.execute(
        f"SELECT * FROM (SELECT {_ROLLUP_COLUMNS} FROM usage_rollup EXCEPT {ROLLUP_FROM_REQUESTS}) "
        f"UNION ALL SELECT * FROM ({ROLLUP_FROM_REQUESTS} EXCEPT SELECT {_ROLLUP_COLUMNS} FROM usage_rollup)"
    ).fetchall()
