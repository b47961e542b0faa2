"""Everything SQLite-specific lives here: pragmas, error translation and the bulk upserts of ingest.

The rest of ``store`` talks to Peewee models; a PostgreSQL backend would replace this module (its
``ON CONFLICT`` clauses are already standard SQL, ``iif`` and ``json_*`` would need equivalents).
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, tzinfo
from functools import lru_cache
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
from store.timezones import SLOT_MS, SLOTS_PER_DAY, local_day_start_utc_ms, offset_segments

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



# -- local-day rollups (dashboard APIs) ----------------------------------------------------------------
# The dashboard answers any range within milliseconds, so its figures come from aggregates per local day of one
# time zone (the "rollup zone", recorded in schema_meta), kept exact by triggers like ``usage_rollup``. A row's
# local day is looked up in ``zone_day`` (one row per local midnight), so the triggers stay the same when the
# zone changes: only that table and the day-keyed rollups are rebuilt. Text keys store NULL as the blob x'00'
# (a key cannot be NULL, and no text equals a blob). Rollups by project also count every row under project -1,
# "all projects", so unfiltered queries read one row per day and key.
ZONE_FIRST_DAY = date(2024, 1, 1)  # local days outside [first, end) fall into the EARLY / LATE buckets
ZONE_END_DAY = date(2064, 1, 1)
DAY_NO_PREV, DAY_UNDATED, DAY_EARLY, DAY_LATE = -3, -2, -1, 99_999
ALL_PROJECTS = -1
NULL_KEY = "x'00'"
KIND_REQUESTS, KIND_MODEL, KIND_TOOL, KIND_SKILL, KIND_MCP, KIND_PATTERN = 1, 2, 3, 4, 5, 6  # session_key_day.kind
FILE_TOOLS = ("Read", "NotebookRead", "Write", "Edit", "MultiEdit", "NotebookEdit")
ROLLUP_ZONE_KEY = "rollup_zone"


def day_of(ts: str) -> str:
    """SQL: the rollup zone's local day number of an epoch-ms expression (UNDATED for NULL, EARLY/LATE outside
    the covered days)."""
    return (f"(CASE WHEN {ts} IS NULL THEN {DAY_UNDATED} ELSE coalesce((SELECT z.day FROM zone_day z "
            f"WHERE z.start_ms <= {ts} ORDER BY z.start_ms DESC LIMIT 1), {DAY_EARLY}) END)")


def nullable(expr: str) -> str:
    """A nullable text key as stored (NULL becomes x'00')."""
    return f"ifnull({expr}, {NULL_KEY})"


SESSION_PROJECT = "coalesce((SELECT project_id FROM session WHERE session_id = {r}.session_id), 0)"


@dataclass(frozen=True)
class Presum:
    """For rebuilds of a big source: its rows already summed per session and 15-minute slot (``source``, a SELECT
    whose columns ``keys`` and ``sums`` read as ``{r}``). A slot lies within one local day of any zone whose days
    start on slots, so grouping those few rows per day gives the same table, several times faster."""

    source: str
    keys: tuple[str, ...]
    sums: dict[str, str]


@dataclass(frozen=True)
class Rollup:
    """How one source table feeds a rollup table; triggers keep the table equal to a GROUP BY over the source.

    Expressions read a source row as ``{r}``. ``key_columns`` are the source columns the keys and ``where`` read
    (a change moves the row between keys), ``sum_columns`` those only the sums read (a change adds the
    difference). ``follow_sessions``: the project is the session's, so a session's rows move when it changes.
    """

    name: str
    source: str
    keys: tuple[str, ...]  # one expression per key column of the table (after project_id)
    sums: dict[str, str]  # column -> expression summed; table columns not named here get 0
    key_columns: tuple[str, ...]
    sum_columns: tuple[str, ...] = ()
    where: str = "1"
    follow_sessions: bool = False
    maxes: dict[str, str] = field(default_factory=dict)
    presum: Presum | None = None


@dataclass(frozen=True)
class RollupTable:
    """A rollup table: key columns (``project_id`` first when ``project`` says how a row finds its project),
    summed and max columns, and the rollups (one per source) that feed it."""

    table: str
    keys: tuple[str, ...]
    sums: tuple[str, ...]
    feeds: tuple[Rollup, ...]
    project: str | None = None
    all_projects: bool = True
    maxes: tuple[str, ...] = ()

    @property
    def key_names(self) -> tuple[str, ...]:
        return (("project_id",) if self.project else ()) + self.keys

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.key_names, *self.sums, *self.maxes)

    @property
    def empty(self) -> str:
        return " AND ".join(f"{c} = 0" for c in self.sums)

    def upsert(self, select: str, adding: bool) -> str:
        sets = [f"{c} = {c} + excluded.{c}" for c in self.sums]
        if adding:
            sets += [f"{m} = CASE WHEN {m} IS NULL OR excluded.{m} > {m} THEN excluded.{m} ELSE {m} END"
                     for m in self.maxes]
        return (f"INSERT INTO {self.table} ({', '.join(self.columns)}) {select} "
                f"ON CONFLICT ({', '.join(self.key_names)}) DO UPDATE SET {', '.join(sets)};")

    def _projects(self, r: str) -> str:
        union = f" UNION ALL SELECT {ALL_PROJECTS}" if self.all_projects else ""
        return f" FROM (SELECT {self.project.format(r=r)} AS pid{union}) q"

    def _values(self, feed: Rollup, r: str, sign: str, maxes: bool) -> str:
        keys = [k.format(r=r) for k in feed.keys]
        sums = [f"{sign}({feed.sums[c].format(r=r)})" if c in feed.sums else "0" for c in self.sums]
        top = [feed.maxes[m].format(r=r) if maxes and m in feed.maxes else "NULL" for m in self.maxes]
        return ", ".join((["q.pid"] if self.project else []) + keys + sums + top)

    def change(self, feed: Rollup, r: str, sign: str) -> str:
        """Add (``+``) or remove (``-``) one source row ``r`` (NEW or OLD)."""
        source = self._projects(r) if self.project else ""
        select = f"SELECT {self._values(feed, r, sign, sign == '+')}{source} WHERE {feed.where.format(r=r)}"
        return self.upsert(select, sign == "+")

    def delta(self, feed: Rollup) -> str:
        """Add NEW minus OLD (no key column changed)."""
        keys = [k.format(r="NEW") for k in feed.keys]
        sums = [f"({feed.sums[c].format(r='NEW')}) - ({feed.sums[c].format(r='OLD')})" if c in feed.sums else "0"
                for c in self.sums]
        values = ", ".join((["q.pid"] if self.project else []) + keys + sums + ["NULL"] * len(self.maxes))
        source = self._projects("NEW") if self.project else ""
        return self.upsert(f"SELECT {values}{source} WHERE {feed.where.format(r='NEW')}", False)

    def _match(self, feed: Rollup, r: str) -> str:
        match = [f"{k} = {e.format(r=r)}" for k, e in zip(self.keys, feed.keys, strict=True)]
        if self.project:
            ids = self.project.format(r=r) + (f", {ALL_PROJECTS}" if self.all_projects else "")
            match.insert(0, f"project_id IN ({ids})")
        return " AND ".join(match)

    def drop_empty(self, feed: Rollup, r: str) -> str:
        return f"DELETE FROM {self.table} WHERE {self._match(feed, r)} AND {self.empty};"

    def _largest(self, feed: Rollup, column: str) -> str:
        """The largest value of a max column over the source rows of the rollup row being updated."""
        match = [f"{e.format(r='t')} = {self.table}.{k}" for k, e in zip(self.keys, feed.keys, strict=True)]
        if self.project:
            match.append(f"({self.project.format(r='t')} = {self.table}.project_id OR {self.table}.project_id = "
                         f"{ALL_PROJECTS})")
        return (f"(SELECT max({feed.maxes[column].format(r='t')}) FROM {feed.source} t "
                f"WHERE {feed.where.format(r='t')} AND {' AND '.join(match)})")

    def refresh_maxes(self, feed: Rollup, r: str) -> str:
        """Recompute the maxes the removed row ``r`` may have held."""
        return "".join(f"UPDATE {self.table} SET {m} = {self._largest(feed, m)} WHERE {self._match(feed, r)} "
                       f"AND {m} = {e.format(r=r)};" for m, e in feed.maxes.items())

    def grouped(self, feed: Rollup, project: str | None, sid: str | None = None, sign: str = "+",
                slotted: bool = False) -> str:
        """SELECT of the source rows (one session's, with ``sid``) summed per key under ``project``; ``slotted``
        reads the feed's :class:`Presum` instead (the zone's days start on slots)."""
        presum = feed.presum if slotted and sid is None else None
        key_exprs, sum_exprs = (presum.keys, presum.sums) if presum else (feed.keys, feed.sums)
        keys = [k.format(r="r") for k in key_exprs]
        sums = [f"{sign}sum({sum_exprs[c].format(r='r')})" if c in sum_exprs else "0" for c in self.sums]
        top = [f"max({feed.maxes[m].format(r='r')})" if sign == "+" and m in feed.maxes else "NULL"
               for m in self.maxes]
        values = ([project] if project else []) + keys + sums + top
        values = [f"{v} AS {c}" for v, c in zip(values, self.columns, strict=True)]
        only = f" AND r.session_id = {sid}" if sid else ""
        source = f"({presum.source}) r WHERE 1" if presum else f"{feed.source} r WHERE {feed.where.format(r='r')}"
        width = len(self.key_names)
        return f"SELECT {', '.join(values)} FROM {source}{only} GROUP BY {', '.join(str(i + 1) for i in range(width))}"

    def move(self, feed: Rollup, sid: str, old: str, new: str) -> str:
        """Move one session's rows from project ``old`` to ``new`` (the all-projects rows stay)."""
        keys = ", ".join(k.format(r="r") for k in feed.keys)
        refresh = "".join(
            f"UPDATE {self.table} SET {m} = {self._largest(feed, m)} WHERE project_id = {old} AND "
            f"({', '.join(self.keys)}) IN (SELECT {keys} FROM {feed.source} r WHERE r.session_id = {sid} AND "
            f"{feed.where.format(r='r')});" for m in feed.maxes)
        return (f"{self.upsert(self.grouped(feed, old, sid, '-'), False)} "
                f"{self.upsert(self.grouped(feed, new, sid), True)} "
                f"DELETE FROM {self.table} WHERE project_id = {old} AND {self.empty} AND EXISTS "
                f"(SELECT 1 FROM {feed.source} WHERE session_id = {sid});{refresh}")

    def triggers(self) -> list[str]:
        result = []
        for feed in self.feeds:
            t, s = f"dr_{feed.name}", feed.source
            new, old = feed.where.format(r="NEW"), feed.where.format(r="OLD")
            changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in feed.key_columns)
            result += [
                f"CREATE TRIGGER IF NOT EXISTS {t}_ins AFTER INSERT ON {s} WHEN {new} BEGIN "
                f"{self.change(feed, 'NEW', '+')} END",
                f"CREATE TRIGGER IF NOT EXISTS {t}_del AFTER DELETE ON {s} WHEN {old} BEGIN "
                f"{self.change(feed, 'OLD', '-')} {self.drop_empty(feed, 'OLD')} {self.refresh_maxes(feed, 'OLD')} "
                "END",
                f"CREATE TRIGGER IF NOT EXISTS {t}_key AFTER UPDATE ON {s} WHEN {changed} BEGIN "
                f"{self.change(feed, 'OLD', '-')} {self.change(feed, 'NEW', '+')} {self.drop_empty(feed, 'OLD')} "
                f"{self.refresh_maxes(feed, 'OLD')} END",
            ]
            if feed.sum_columns:
                same = " AND ".join(f"OLD.{c} IS NEW.{c}" for c in feed.key_columns)
                moved = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in feed.sum_columns)
                result.append(f"CREATE TRIGGER IF NOT EXISTS {t}_sum AFTER UPDATE ON {s} WHEN {same} AND "
                              f"({moved}) AND {new} BEGIN {self.delta(feed)} END")
            if feed.follow_sessions:
                relinked = self.move(feed, "NEW.session_id", "coalesce(OLD.project_id, 0)",
                                     "coalesce(NEW.project_id, 0)")
                result += [
                    f"CREATE TRIGGER IF NOT EXISTS {t}_sp AFTER UPDATE OF project_id ON session WHEN "
                    f"OLD.project_id IS NOT NEW.project_id BEGIN {relinked} END",
                    f"CREATE TRIGGER IF NOT EXISTS {t}_si AFTER INSERT ON session WHEN NEW.project_id IS NOT NULL "
                    f"BEGIN {self.move(feed, 'NEW.session_id', '0', 'NEW.project_id')} END",
                    f"CREATE TRIGGER IF NOT EXISTS {t}_sd AFTER DELETE ON session WHEN OLD.project_id IS NOT NULL "
                    f"BEGIN {self.move(feed, 'OLD.session_id', 'OLD.project_id', '0')} END",
                ]
        return result

    def expected(self, slotted: bool = False) -> str:
        """SELECT of the rows a rebuild makes (every column, in order)."""
        project = self.project.format(r="r") if self.project else None
        parts = " UNION ALL ".join(self.grouped(feed, project, slotted=slotted) for feed in self.feeds)
        width = len(self.key_names)
        merged = ", ".join([*self.key_names, *(f"sum({c}) AS {c}" for c in self.sums),
                            *(f"max({m}) AS {m}" for m in self.maxes)])
        rows = f"SELECT {merged} FROM ({parts}) GROUP BY {', '.join(str(i + 1) for i in range(width))}"
        if not (self.project and self.all_projects):
            return rows
        every = ", ".join([str(ALL_PROJECTS), *self.keys, *(f"sum({c})" for c in self.sums),
                           *(f"max({m})" for m in self.maxes)])
        return (f"WITH rows AS ({rows}) SELECT * FROM rows UNION ALL SELECT {every} FROM rows "
                f"GROUP BY {', '.join(str(i + 2) for i in range(len(self.keys)))}")

    def rebuild(self, conn: sqlite3.Connection, slotted: bool = False) -> None:
        conn.execute(f"DELETE FROM {self.table}")
        conn.execute(f"INSERT INTO {self.table} ({', '.join(self.columns)}) {self.expected(slotted)}")

    def differences(self, conn: sqlite3.Connection) -> list[tuple]:
        """Rows where the table and a rebuild disagree (empty when consistent)."""
        table = f"SELECT {', '.join(self.columns)} FROM {self.table} WHERE NOT ({self.empty})"
        expected = self.expected()
        return conn.execute(f"WITH e AS ({expected}) SELECT * FROM ({table} EXCEPT SELECT * FROM e) "
                            f"UNION ALL SELECT * FROM (SELECT * FROM e EXCEPT {table})").fetchall()


# Distinct sessions per key over any range of days: ``session_key_day`` holds which session had which key
# (tool, skill, MCP server, model, or any request) on which day; ``key_sessions`` counts, per key and day, the
# sessions present that day by the previous day each was present (``prev``, DAY_NO_PREV for its first day).
# The sessions present in days [lo, hi] are then the rows with lo <= day <= hi and prev < lo: each session is
# counted once, on its first day in the range.
_NEIGHBOUR = ("(SELECT {agg}(p.day) FROM session_key_day p WHERE p.session_id = {r}.session_id AND p.kind = {r}.kind "
              "AND p.key = {r}.key AND p.key2 = {r}.key2 AND p.day {op} {r}.day)")
_KEY_SESSIONS = "key_sessions (project_id, kind, day, key, key2, prev, sessions)"
_KEY_SESSIONS_MERGE = ("ON CONFLICT (project_id, kind, day, key, key2, prev) DO UPDATE SET "
                       "sessions = sessions + excluded.sessions;")


def _prev(r: str) -> str:
    return f"coalesce({_NEIGHBOUR.format(agg='max', op='<', r=r)}, {DAY_NO_PREV})"


def _next(r: str) -> str:
    return _NEIGHBOUR.format(agg="min", op=">", r=r)


def _count_session(r: str, day: str, prev: str, sign: str) -> str:
    project = SESSION_PROJECT.format(r=r)
    return (f"INSERT INTO {_KEY_SESSIONS} SELECT q.pid, {r}.kind, {day}, {r}.key, {r}.key2, {prev}, {sign}1 "
            f"FROM (SELECT {project} AS pid UNION ALL SELECT {ALL_PROJECTS}) q WHERE 1 {_KEY_SESSIONS_MERGE}")


def _drop_key_sessions(r: str, day: str, prev: str) -> str:
    return (f"DELETE FROM key_sessions WHERE project_id IN ({SESSION_PROJECT.format(r=r)}, {ALL_PROJECTS}) "
            f"AND kind = {r}.kind AND day = {day} AND key = {r}.key AND key2 = {r}.key2 AND prev = {prev} "
            "AND sessions = 0;")


def _sessions_of(sid: str, project: str, sign: str) -> str:
    return (f"INSERT INTO {_KEY_SESSIONS} SELECT {project}, kind, day, key, key2, prev, {sign}count(*) FROM "
            f"(SELECT kind, day, key, key2, coalesce(lag(day) OVER (PARTITION BY kind, key, key2 ORDER BY day), "
            f"{DAY_NO_PREV}) AS prev FROM session_key_day WHERE session_id = {sid}) WHERE 1 "
            f"GROUP BY 1, 2, 3, 4, 5, 6 {_KEY_SESSIONS_MERGE}")


def _move_key_sessions(sid: str, old: str, new: str) -> str:
    return (f"{_sessions_of(sid, old, '-')} {_sessions_of(sid, new, '+')} DELETE FROM key_sessions WHERE "
            f"project_id = {old} AND sessions = 0 AND EXISTS (SELECT 1 FROM session_key_day WHERE session_id = {sid});")


KEY_SESSION_TRIGGERS = (  # a day inserted or deleted before a session's later day re-links that day
    "CREATE TRIGGER IF NOT EXISTS dr_keys_ins AFTER INSERT ON session_key_day BEGIN "
    f"{_count_session('NEW', 'NEW.day', _prev('NEW'), '+')} END",
    f"CREATE TRIGGER IF NOT EXISTS dr_keys_ins_mid AFTER INSERT ON session_key_day WHEN {_next('NEW')} IS NOT NULL "
    f"BEGIN {_count_session('NEW', _next('NEW'), _prev('NEW'), '-')} "
    f"{_count_session('NEW', _next('NEW'), 'NEW.day', '+')} {_drop_key_sessions('NEW', _next('NEW'), _prev('NEW'))} "
    "END",
    "CREATE TRIGGER IF NOT EXISTS dr_keys_del AFTER DELETE ON session_key_day BEGIN "
    f"{_count_session('OLD', 'OLD.day', _prev('OLD'), '-')} {_drop_key_sessions('OLD', 'OLD.day', _prev('OLD'))} "
    "END",
    f"CREATE TRIGGER IF NOT EXISTS dr_keys_del_mid AFTER DELETE ON session_key_day WHEN {_next('OLD')} IS NOT NULL "
    f"BEGIN {_count_session('OLD', _next('OLD'), 'OLD.day', '-')} "
    f"{_count_session('OLD', _next('OLD'), _prev('OLD'), '+')} {_drop_key_sessions('OLD', _next('OLD'), 'OLD.day')} "
    "END",
    "CREATE TRIGGER IF NOT EXISTS dr_keys_sp AFTER UPDATE OF project_id ON session "
    "WHEN OLD.project_id IS NOT NEW.project_id BEGIN "
    f"{_move_key_sessions('NEW.session_id', 'coalesce(OLD.project_id, 0)', 'coalesce(NEW.project_id, 0)')} END",
    "CREATE TRIGGER IF NOT EXISTS dr_keys_si AFTER INSERT ON session WHEN NEW.project_id IS NOT NULL BEGIN "
    f"{_move_key_sessions('NEW.session_id', '0', 'NEW.project_id')} END",
    "CREATE TRIGGER IF NOT EXISTS dr_keys_sd AFTER DELETE ON session WHEN OLD.project_id IS NOT NULL BEGIN "
    f"{_move_key_sessions('OLD.session_id', 'OLD.project_id', '0')} END",
)
_KEY_SESSIONS_ROWS = (
    "SELECT pid, kind, day, key, key2, prev, count(*) AS sessions FROM (SELECT coalesce(s.project_id, 0) AS pid, "
    "p.kind, p.day, p.key, p.key2, coalesce(lag(p.day) OVER (PARTITION BY p.session_id, p.kind, p.key, p.key2 "
    f"ORDER BY p.day), {DAY_NO_PREV}) AS prev FROM session_key_day p LEFT JOIN session s "
    "ON s.session_id = p.session_id) GROUP BY 1, 2, 3, 4, 5, 6"
)
KEY_SESSIONS_EXPECTED = (
    f"WITH rows AS ({_KEY_SESSIONS_ROWS}) SELECT * FROM rows UNION ALL SELECT {ALL_PROJECTS}, kind, day, key, key2, "
    "prev, sum(sessions) FROM rows GROUP BY 2, 3, 4, 5, 6"
)


# -- the rollups -----------------------------------------------------------------------------------------
_TOKENS = ("input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h", "cache_read", "web_search_requests")
_LONG = (f"({{r}}.input_tokens + {{r}}.cache_write_5m + {{r}}.cache_write_1h + {{r}}.cache_read "
         f"> {LONG_CONTEXT_THRESHOLD})")
_USAGE_KEY_COLUMNS = ("session_id", "day", "model", "speed", "geo", "long_context")
_TOOL_DAY = day_of("{r}.call_ts_ms")
_STATUS = {"ok": "{r}.status = 'ok'", "errors": "{r}.status = 'error'", "rejected": "{r}.status = 'rejected'",
           "interrupted": "{r}.status = 'interrupted'", "pending": "{r}.status = 'pending'"}

USAGE_DAY = RollupTable(  # usage_rollup regrouped by local day (its triggers already follow sessions' projects)
    "usage_day", keys=("day", "model", "speed", "geo", "long_context"), sums=(*_TOKENS, "requests"),
    project="{r}.project_id",
    feeds=(Rollup("usage_day", "usage_rollup", keys=(day_of(f"{{r}}.slot * {SLOT_MS}"), "{r}.model", "{r}.speed",
                                                      "{r}.geo", "{r}.long_context"),
                  sums={c: f"{{r}}.{c}" for c in (*_TOKENS, "requests")},
                  key_columns=("slot", "project_id", "model", "speed", "geo", "long_context"),
                  sum_columns=(*_TOKENS, "requests")),))
SESSION_USAGE = RollupTable(  # per project, session and day: top sessions, and which sessions used which model when
    "session_usage", keys=_USAGE_KEY_COLUMNS, sums=(*_TOKENS, "requests"), project=SESSION_PROJECT,
    all_projects=False,
    feeds=(Rollup("session_usage", "api_request", where="{r}.model IS NOT NULL", follow_sessions=True,
                  keys=("{r}.session_id", day_of("{r}.ts_ms"), "{r}.model", "coalesce({r}.speed, '')",
                        "coalesce({r}.inference_geo, '')", _LONG),
                  sums={**{c: f"{{r}}.{c}" for c in _TOKENS}, "requests": "1"},
                  key_columns=("session_id", "ts_ms", "model", "speed", "inference_geo", "input_tokens",
                               "cache_write_5m", "cache_write_1h", "cache_read"),
                  sum_columns=("output_tokens", "web_search_requests")),))
ACTIVITY_DAY = RollupTable(  # lines and API errors per project and day (tool calls: see tool_day)
    "activity_day", keys=("day",), project=SESSION_PROJECT, sums=("messages", "api_errors"),
    feeds=(
        Rollup("activity_message", "message", keys=(day_of("{r}.ts_ms"),), sums={"messages": "1"},
               key_columns=("ts_ms", "session_id"), follow_sessions=True,
               presum=Presum(f"SELECT session_id, ts_ms / {SLOT_MS} * {SLOT_MS} AS ts_ms, count(*) AS n FROM message "
                             f"GROUP BY session_id, ts_ms / {SLOT_MS}", keys=(day_of("{r}.ts_ms"),),
                             sums={"messages": "{r}.n"})),
        Rollup("activity_request", "api_request", keys=(day_of("{r}.ts_ms"),), sums={"api_errors": "1"},
               where="{r}.model IS NOT NULL AND {r}.is_api_error = 1",
               key_columns=("ts_ms", "session_id", "model", "is_api_error"), follow_sessions=True),
    ))
TOOL_DAY = RollupTable(  # tool calls per project, day, tool, MCP server and skill
    "tool_day", keys=("day", "name", "mcp_server", "skill"), project=SESSION_PROJECT,
    sums=("calls", *_STATUS, "duration_sum", "durations"),
    feeds=(Rollup("tool_day", "tool_call", keys=(_TOOL_DAY, nullable("{r}.name"), nullable("{r}.mcp_server"),
                                                  nullable("{r}.skill")),
                  sums={"calls": "1", **_STATUS, "duration_sum": "coalesce({r}.duration_ms, 0)",
                        "durations": "{r}.duration_ms IS NOT NULL"},
                  key_columns=("call_ts_ms", "name", "mcp_server", "skill", "session_id"),
                  sum_columns=("status", "duration_ms"), follow_sessions=True),))
SESSION_START_DAY = RollupTable(  # sessions by the local day they started, with their summed durations
    "session_start_day", keys=("day",), sums=("sessions", "duration_sum", "durations"),
    feeds=(Rollup("session_start", "session", keys=(day_of("{r}.first_ts_ms"),), where="{r}.first_ts_ms IS NOT NULL",
                  sums={"sessions": "1", "duration_sum": "coalesce({r}.last_ts_ms - {r}.first_ts_ms, 0)",
                        "durations": "{r}.last_ts_ms IS NOT NULL"},
                  key_columns=("first_ts_ms",), sum_columns=("last_ts_ms",)),))
_FROM_SESSION_USAGE = dict(sums={"n": "1"}, key_columns=_USAGE_KEY_COLUMNS)
SESSION_KEYS = RollupTable(  # which session had which key on which day
    "session_key_day", keys=("session_id", "kind", "key", "key2", "day"), sums=("n",),
    feeds=(
        Rollup("key_requests", "session_usage", keys=("{r}.session_id", str(KIND_REQUESTS), "''", "''", "{r}.day"),
               **_FROM_SESSION_USAGE),
        Rollup("key_model", "session_usage",
               keys=("{r}.session_id", str(KIND_MODEL), "iif({r}.speed = 'fast', {r}.model || '-fast', {r}.model)",
                     "''", "{r}.day"), **_FROM_SESSION_USAGE),
        Rollup("key_tool", "tool_call", sums={"n": "1"},
               keys=("{r}.session_id", str(KIND_TOOL), nullable("{r}.name"), "''", _TOOL_DAY),
               key_columns=("session_id", "name", "call_ts_ms")),
        Rollup("key_skill", "tool_call", sums={"n": "1"}, where="{r}.skill IS NOT NULL",
               keys=("{r}.session_id", str(KIND_SKILL), "{r}.skill", "''", _TOOL_DAY),
               key_columns=("session_id", "skill", "call_ts_ms")),
        Rollup("key_mcp", "tool_call", sums={"n": "1"}, where="{r}.mcp_server IS NOT NULL",
               keys=("{r}.session_id", str(KIND_MCP), "{r}.mcp_server", "''", _TOOL_DAY),
               key_columns=("session_id", "mcp_server", "call_ts_ms")),
        Rollup("key_pattern", "error_call", sums={"n": "1"},
               keys=("{r}.session_id", str(KIND_PATTERN), "CAST({r}.pattern_id AS TEXT)", "''", _TOOL_DAY),
               key_columns=("session_id", "pattern_id", "call_ts_ms")),
    ))
ERROR_DAY = RollupTable(  # tool errors per project, day, error pattern and tool
    "error_day", keys=("day", "pattern_id", "name"), sums=("errors",), project=SESSION_PROJECT,
    feeds=(Rollup("error_day", "error_call", keys=(_TOOL_DAY, "{r}.pattern_id", nullable("{r}.name")),
                  sums={"errors": "1"}, key_columns=("pattern_id", "session_id", "call_ts_ms", "name"),
                  follow_sessions=True),))
FILE_TOUCH = RollupTable(  # file tool calls per project, file and tool (all time: the heatmap's default)
    "file_touch", keys=("file_path", "name"), sums=("calls", "errors"), maxes=("last_ms",), project=SESSION_PROJECT,
    all_projects=False,
    feeds=(Rollup("file_touch", "tool_call", keys=("{r}.file_path", "{r}.name"),
                  sums={"calls": "1", "errors": _STATUS["errors"]}, maxes={"last_ms": "{r}.call_ts_ms"},
                  where=f"{{r}}.file_path IS NOT NULL AND {{r}}.name IN ({', '.join(repr(n) for n in FILE_TOOLS)})",
                  key_columns=("file_path", "name", "session_id", "call_ts_ms"), sum_columns=("status",),
                  follow_sessions=True),))
PROMPT_DAY = RollupTable(  # prompts per project, day and category (see PROMPT_QUEUE_TRIGGERS)
    "prompt_day", keys=("day", "category"), sums=("prompts",), project=SESSION_PROJECT,
    feeds=(Rollup("prompt_day", "prompt_line", keys=(day_of("{r}.ts_ms"), "{r}.category"), sums={"prompts": "1"},
                  where="{r}.category IS NOT NULL", key_columns=("session_id", "ts_ms", "category"),
                  follow_sessions=True),))
DAY_ROLLUPS = (USAGE_DAY, SESSION_USAGE, ACTIVITY_DAY, TOOL_DAY, SESSION_START_DAY, ERROR_DAY, PROMPT_DAY,
               SESSION_KEYS)

# Error patterns are computed in Python (store/monitor/error_patterns.py) and filed in ``error_call`` per errored
# call, with the call's session, time and tool as they were; ``error_day`` and the pattern sessions follow that
# table. A call that becomes an error, or whose error changes, is queued in ``error_pending`` to be (re)filed.
# (Queue inserts use ON CONFLICT DO NOTHING: a trigger's INSERT OR IGNORE takes the conflict handling of the
# statement that fired it, and ingest's upserts abort on conflicts.)
_ERROR_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("status", "error_text", "call_ts_ms",
                                                                    "session_id", "name"))
ERROR_QUEUE_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS dq_error_ins AFTER INSERT ON tool_call WHEN NEW.status = 'error' BEGIN "
    "INSERT INTO error_pending (tool_use_id) VALUES (NEW.tool_use_id) ON CONFLICT DO NOTHING; END",
    f"CREATE TRIGGER IF NOT EXISTS dq_error_upd AFTER UPDATE ON tool_call WHEN {_ERROR_CHANGED} BEGIN "
    "DELETE FROM error_call WHERE tool_use_id = OLD.tool_use_id; "
    "INSERT INTO error_pending (tool_use_id) SELECT NEW.tool_use_id WHERE NEW.status = 'error' "
    "ON CONFLICT DO NOTHING; "
    "DELETE FROM error_pending WHERE tool_use_id = NEW.tool_use_id AND NEW.status IS NOT 'error'; END",
    "CREATE TRIGGER IF NOT EXISTS dq_error_del AFTER DELETE ON tool_call BEGIN "
    "DELETE FROM error_call WHERE tool_use_id = OLD.tool_use_id; "
    "DELETE FROM error_pending WHERE tool_use_id = OLD.tool_use_id; END",
)


# Prompt categories depend on the tool calls of the prompt's turn (up to the session's next prompt), so they are
# computed in Python (store/monitor/prompt_filing.py) and kept in ``prompt_line`` for every user line that may be a
# prompt (category NULL: not a prompt). Triggers queue lines to (re)compute in ``prompt_pending``: a new line, and
# the prompt whose turn a new line, or a tool call added, changed or deleted, falls into.
PROMPT_CANDIDATE = ("{r}.type = 'user' AND {r}.is_sidechain = 0 AND {r}.is_meta = 0 AND {r}.text IS NOT NULL "
                    "AND {r}.ts_ms IS NOT NULL")
_PROMPT_BEFORE = ("(SELECT pl.uuid FROM prompt_line pl WHERE pl.session_id = {sid} AND pl.category IS NOT NULL "
                  "AND {before} ORDER BY pl.ts_ms DESC, pl.uuid DESC LIMIT 1)")


def _requeue(owner: str) -> str:
    return (f"INSERT INTO prompt_pending (uuid) SELECT uuid FROM prompt_line WHERE uuid = {owner} "
            f"ON CONFLICT DO NOTHING; DELETE FROM prompt_line WHERE uuid = {owner};")


def _turn_owner(r: str) -> str:
    """The prompt whose turn a tool call ``r`` falls into (the session's last prompt at or before the call)."""
    return _PROMPT_BEFORE.format(sid=f"{r}.session_id", before=f"pl.ts_ms <= {r}.call_ts_ms")


def _previous_prompt(r: str) -> str:
    """The prompt before line ``r`` in its session (by time, then uuid): its turn ends at ``r`` if that is one."""
    return _PROMPT_BEFORE.format(sid=f"{r}.session_id", before=f"(pl.ts_ms < {r}.ts_ms OR (pl.ts_ms = {r}.ts_ms "
                                                              f"AND pl.uuid < {r}.uuid))")


_LINE_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("type", "is_sidechain", "is_meta", "text", "ts_ms",
                                                                   "session_id"))
_CALL_CHANGED = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("session_id", "call_ts_ms", "name", "input_json"))
PROMPT_QUEUE_TRIGGERS = (
    f"CREATE TRIGGER IF NOT EXISTS dq_prompt_ins AFTER INSERT ON message WHEN {PROMPT_CANDIDATE.format(r='NEW')} "
    f"BEGIN {_requeue(_previous_prompt('NEW'))} "
    "INSERT INTO prompt_pending (uuid) VALUES (NEW.uuid) ON CONFLICT DO NOTHING; END",
    f"CREATE TRIGGER IF NOT EXISTS dq_prompt_del AFTER DELETE ON message WHEN {PROMPT_CANDIDATE.format(r='OLD')} "
    "BEGIN DELETE FROM prompt_line WHERE uuid = OLD.uuid; DELETE FROM prompt_pending WHERE uuid = OLD.uuid; "
    f"{_requeue(_previous_prompt('OLD'))} END",
    f"CREATE TRIGGER IF NOT EXISTS dq_prompt_upd AFTER UPDATE ON message WHEN {_LINE_CHANGED} BEGIN "
    "DELETE FROM prompt_line WHERE uuid = OLD.uuid; DELETE FROM prompt_pending WHERE uuid = OLD.uuid; "
    f"{_requeue(_previous_prompt('OLD'))} {_requeue(_previous_prompt('NEW'))} "
    f"INSERT INTO prompt_pending (uuid) SELECT NEW.uuid WHERE {PROMPT_CANDIDATE.format(r='NEW')} "
    "ON CONFLICT DO NOTHING; END",
    "CREATE TRIGGER IF NOT EXISTS dq_turn_ins AFTER INSERT ON tool_call WHEN NEW.call_ts_ms IS NOT NULL BEGIN "
    f"{_requeue(_turn_owner('NEW'))} END",
    f"CREATE TRIGGER IF NOT EXISTS dq_turn_upd AFTER UPDATE ON tool_call WHEN {_CALL_CHANGED} BEGIN "
    f"{_requeue(_turn_owner('OLD'))} {_requeue(_turn_owner('NEW'))} END",
    "CREATE TRIGGER IF NOT EXISTS dq_turn_del AFTER DELETE ON tool_call WHEN OLD.call_ts_ms IS NOT NULL BEGIN "
    f"{_requeue(_turn_owner('OLD'))} END",
)


def queue_all_prompts(conn: sqlite3.Connection) -> None:
    """Queue every user line that may be a prompt (an archive written before prompt categories were kept)."""
    conn.execute(f"INSERT OR IGNORE INTO prompt_pending (uuid) SELECT m.uuid FROM message m "
                 f"WHERE {PROMPT_CANDIDATE.format(r='m')}")


def queue_all_errors(conn: sqlite3.Connection) -> None:
    """Queue every errored call to be filed (an archive written before error patterns were kept)."""
    conn.execute("INSERT OR IGNORE INTO error_pending (tool_use_id) SELECT tool_use_id FROM tool_call "
                 "WHERE status = 'error'")


ROLLUP_INDEXES = (
    # the exact max of file_touch.last_ms is recomputed through it when a call that held it goes
    "CREATE INDEX IF NOT EXISTS tool_call_file ON tool_call (file_path, name, call_ts_ms) "
    "WHERE file_path IS NOT NULL",
    # requests without a model are in no rollup: counted through it
    "CREATE INDEX IF NOT EXISTS api_request_no_model ON api_request (ts_ms) WHERE model IS NULL",
    # API errors (rare) without reading every request
    "CREATE INDEX IF NOT EXISTS api_request_error ON api_request (ts_ms) WHERE model IS NOT NULL AND is_api_error = 1",
    # a pattern's first and last error in a range, and the errors of a partial day
    "CREATE INDEX IF NOT EXISTS error_call_pattern ON error_call (pattern_id, call_ts_ms)",
    "CREATE INDEX IF NOT EXISTS error_call_time ON error_call (call_ts_ms)",
    # sessions active at an instant (a range's end cuts their last turn)
    "CREATE INDEX IF NOT EXISTS session_span ON session (last_ts_ms, first_ts_ms)",
)


def _day_rollup_statements() -> list[str]:
    statements = list(ROLLUP_INDEXES)
    for table in (*DAY_ROLLUPS, FILE_TOUCH):
        statements += table.triggers()
    return [*statements, *KEY_SESSION_TRIGGERS, *ERROR_QUEUE_TRIGGERS, *PROMPT_QUEUE_TRIGGERS]


def install_day_rollups(conn: sqlite3.Connection) -> None:
    """Create the triggers (and index) that keep the local-day rollups exact (idempotent)."""
    for statement in _day_rollup_statements():
        conn.execute(statement)


def installed_statements() -> list[str]:
    """Every CREATE ... IF NOT EXISTS that opening an archive runs besides the tables' own (indexes, triggers)."""
    return [*ROLLUP_TRIGGERS, *_day_rollup_statements()]


def zone_key(tz: tzinfo) -> str:
    """The name a time zone is recorded under (its IANA key when it has one)."""
    return getattr(tz, "key", None) or str(tz)


@lru_cache(maxsize=8)
def zone_days(tz: tzinfo) -> tuple[tuple[int, int], ...]:
    """``(first UTC ms, local day number)`` of every covered local day of ``tz``, then the LATE bucket's start.

    Midnights are computed from the zone's offset segments; days within two days of an offset change go
    through ``local_day_start_utc_ms`` (DST gaps and folds at midnight), so the result equals it for every day.
    """
    epoch = date(1970, 1, 1).toordinal()
    first, end = ZONE_FIRST_DAY.toordinal() - epoch, ZONE_END_DAY.toordinal() - epoch
    margin = 2 * SLOTS_PER_DAY
    segments = offset_segments(tz, first * SLOTS_PER_DAY - margin, end * SLOTS_PER_DAY + margin)
    starts = [start for start, _ in segments]
    rows = []
    for day in range(first, end + 1):
        midnight = day * SLOTS_PER_DAY
        i = max(bisect_right(starts, midnight - segments[0][1]) - 1, 0)
        slot = midnight - segments[i][1]
        i = max(bisect_right(starts, slot) - 1, 0)
        slot = midnight - segments[i][1]
        near = bisect_right(starts, slot - margin) != bisect_right(starts, slot + margin)
        start_ms = local_day_start_utc_ms(date.fromordinal(day + epoch), tz) if near else slot * SLOT_MS
        rows.append((start_ms, DAY_LATE if day == end else day))
    return tuple(rows)


def rollup_zone(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM schema_meta WHERE key = ?", (ROLLUP_ZONE_KEY,)).fetchone()
    return row[0] if row else None


def rebuild_day_rollups(conn: sqlite3.Connection, tz: tzinfo, with_files: bool = False) -> None:
    """Recompute the local-day rollups for zone ``tz`` from the archived rows (caller owns the transaction).

    Triggers are dropped meanwhile, so clearing one table does not feed the next; they come back at the end.
    """
    if not conn.execute("SELECT EXISTS (SELECT 1 FROM session) OR EXISTS (SELECT 1 FROM api_request) OR "
                        "EXISTS (SELECT 1 FROM message) OR EXISTS (SELECT 1 FROM tool_call)").fetchone()[0]:
        _set_zone(conn, tz)  # nothing archived yet: nothing to recompute
        install_day_rollups(conn)
        return
    drop_day_triggers(conn)
    _set_zone(conn, tz)
    slotted = not conn.execute(f"SELECT EXISTS (SELECT 1 FROM zone_day WHERE start_ms % {SLOT_MS} != 0)").fetchone()[0]
    for table in (*DAY_ROLLUPS, FILE_TOUCH) if with_files else DAY_ROLLUPS:
        table.rebuild(conn, slotted)
    conn.execute("DELETE FROM key_sessions")
    conn.execute(f"INSERT INTO {_KEY_SESSIONS} {KEY_SESSIONS_EXPECTED}")
    install_day_rollups(conn)


def drop_day_triggers(conn: sqlite3.Connection) -> None:
    """Stop maintaining the day rollups (bulk work that rebuilds them afterwards runs faster without)."""
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'dr\\_%' "
                                "ESCAPE '\\'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")


def _set_zone(conn: sqlite3.Connection, tz: tzinfo) -> None:
    conn.execute("DELETE FROM zone_day")
    conn.executemany("INSERT INTO zone_day (start_ms, day) VALUES (?, ?)", zone_days(tz))
    conn.execute("INSERT INTO schema_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                 "value = excluded.value", (ROLLUP_ZONE_KEY, zone_key(tz)))


def day_rollup_differences(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    """Per rollup table, the rows where it and a rebuild from the archived rows disagree (all empty when exact)."""
    result = {t.table: t.differences(conn) for t in (*DAY_ROLLUPS, FILE_TOUCH)}
    table = "SELECT project_id, kind, day, key, key2, prev, sessions FROM key_sessions WHERE sessions != 0"
    result["key_sessions"] = conn.execute(
        f"WITH e AS ({KEY_SESSIONS_EXPECTED}) SELECT * FROM ({table} EXCEPT SELECT * FROM e) "
        f"UNION ALL SELECT * FROM (SELECT * FROM e EXCEPT {table})").fetchall()
    return result


# -- full-text search (see store/search) ----------------------------------------------------------------
# External-content FTS5 tables over views of the archive's own rows: the text is stored once (in ``message``
# and ``tool_call``), the index holds only tokens. One table per source, so a tool result arriving after its
# call indexes only the result. Triggers queue new rows' rowids; whoever commits ``write_chunk``'s rows calls
# ``flush_search_queue`` before the commit, which indexes the queue in one statement per table. (SQLite before
# 3.44 flushes FTS5's pending terms at every statement once the index was written in a transaction: indexing row
# by row from triggers made cold ingest more than twice as slow, and flushing per chunk still cost ~50%.)
# Deletes and changes of rows already indexed go straight to the index (rare: retention, a replaced result).
# Rows are keyed by the source's rowid: a VACUUM may renumber those, so run ``rebuild_search_index`` after one.
SEARCH_TOKENIZER = "unicode61 remove_diacritics 2"  # words, case- and accent-insensitive; no stemming (code)
SEARCH_RESULT_CHARS = 2_000  # tool results are indexed (and snippeted) up to here: the start says what it was
_SEARCH_SOURCES = {  # fts table -> (source table, column, indexed expression of a row r)
    "search_message": ("message", "text", "{r}.text"),
    "search_tool_input": ("tool_call", "input_json", "{r}.input_json"),
    "search_tool_result": ("tool_call", "result_text", f"substr({{r}}.result_text, 1, {SEARCH_RESULT_CHARS})"),
}
SEARCH_TABLES = tuple(_SEARCH_SOURCES)


def _search_ddl(fts: str, table: str, column: str, expr: str) -> list[str]:
    new, old = expr.format(r="NEW"), expr.format(r="OLD")
    queue = f"INSERT OR IGNORE INTO {fts}_pending (rid) SELECT NEW.rowid WHERE NEW.{column} IS NOT NULL;"
    unindex = (f"INSERT INTO {fts} ({fts}, rowid, body) SELECT 'delete', OLD.rowid, {old} "
               f"WHERE OLD.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {fts}_pending WHERE rid = OLD.rowid); "
               f"DELETE FROM {fts}_pending WHERE rid = OLD.rowid;")
    return [
        f"CREATE TABLE IF NOT EXISTS {fts}_pending (rid INTEGER PRIMARY KEY)",
        f"CREATE VIEW IF NOT EXISTS {fts}_src AS SELECT rowid AS rid, {expr.format(r=table)} AS body FROM {table} "
        f"WHERE {column} IS NOT NULL",
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(body, content='{fts}_src', content_rowid='rid', "
        f"tokenize='{SEARCH_TOKENIZER}')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} WHEN NEW.{column} IS NOT NULL "
        f"BEGIN {queue} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} WHEN OLD.{column} IS NOT NULL "
        f"BEGIN {unindex} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {column} ON {table} WHEN {old} IS NOT {new} "
        f"BEGIN {unindex} {queue} END",
    ]


def install_search_index(conn: sqlite3.Connection) -> None:
    """Create the search tables, their source views, queues and triggers (idempotent)."""
    for fts, (table, column, expr) in _SEARCH_SOURCES.items():
        for statement in _search_ddl(fts, table, column, expr):
            conn.execute(statement)


def flush_search_queue(conn: sqlite3.Connection) -> None:
    """Index the rows queued by the triggers, one statement per table; the caller owns the transaction."""
    for fts in SEARCH_TABLES:
        if conn.execute(f"SELECT 1 FROM {fts}_pending LIMIT 1").fetchone() is None:
            continue
        conn.execute(f"INSERT INTO {fts} (rowid, body) SELECT rid, body FROM {fts}_src "
                     f"WHERE rid IN (SELECT rid FROM {fts}_pending)")
        conn.execute(f"DELETE FROM {fts}_pending")


def rebuild_search_index(conn: sqlite3.Connection) -> None:
    """Index every row already archived (migration of an older archive, or repair after a VACUUM)."""
    install_search_index(conn)
    for fts in SEARCH_TABLES:
        conn.execute(f"DELETE FROM {fts}_pending")
        conn.execute(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")


def search_index_problems(conn: sqlite3.Connection) -> list[str]:
    """FTS5's integrity check of each search table against its source rows, after indexing the queue (empty
    when consistent)."""
    flush_search_queue(conn)
    problems = []
    for fts in SEARCH_TABLES:
        try:
            conn.execute(f"INSERT INTO {fts} ({fts}, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as exc:
            problems.append(f"{fts}: {exc}")
    return problems


# -- bulk mode (see store/ingest/runner.py) -------------------------------------------------------------
# A large ingest runs without the per-row triggers of the derived tables (usage_rollup, the day rollups, the
# error and prompt queues, the search index) and rebuilds them set-based at the end, several times cheaper.
# All of it is one transaction: a process killed in the middle leaves the archive as it was before the run.
_DERIVED_TRIGGER_PREFIXES = ("rollup\\_", "dr\\_", "dq\\_", "search\\_")


def drop_derived_triggers(conn: sqlite3.Connection) -> None:
    """Stop maintaining every derived table row by row (caller owns the transaction; ``rebuild_derived`` ends it)."""
    where = " OR ".join(f"name LIKE '{p}%' ESCAPE '\\'" for p in _DERIVED_TRIGGER_PREFIXES)
    for (name,) in conn.execute(f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND ({where})").fetchall():
        conn.execute(f"DROP TRIGGER {name}")


def rebuild_derived(conn: sqlite3.Connection, tz: tzinfo) -> None:
    """Recompute every derived table from the archived rows and reinstall their triggers, all in the caller's
    transaction (so a reader sees either the old state or the finished one)."""
    from store.monitor.error_filing import file_queue  # pattern and prompt rules live with their statistics
    from store.monitor.prompt_filing import file_prompt_queue

    drop_derived_triggers(conn)
    rebuild_rollup(conn)
    install_rollup_triggers(conn)
    rebuild_search_index(conn)  # installs the search triggers again
    for table in ("error_pending", "error_call", "prompt_pending", "prompt_line"):
        conn.execute(f"DELETE FROM {table}")
    queue_all_errors(conn)
    file_queue(conn)
    queue_all_prompts(conn)
    file_prompt_queue(conn)
    rebuild_day_rollups(conn, tz, with_files=True)  # installs the day triggers again
