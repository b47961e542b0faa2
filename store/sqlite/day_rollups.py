"""The dashboard's local-day rollups: their tables and the sources feeding them, the triggers and indexes that
keep them exact, and their rebuild for a rollup zone."""

from __future__ import annotations

import sqlite3
from bisect import bisect_right
from datetime import date, tzinfo
from functools import lru_cache

from store.pricing.cost import LONG_CONTEXT_THRESHOLD
from store.sqlite.key_sessions import KEY_SESSION_TRIGGERS, KEY_SESSIONS, KEY_SESSIONS_EXPECTED
from store.sqlite.queues import ERROR_QUEUE_TRIGGERS, PROMPT_QUEUE_TRIGGERS
from store.sqlite.rollup_tables import (
    DAY_LATE,
    KIND_MCP,
    KIND_MODEL,
    KIND_PATTERN,
    KIND_REQUESTS,
    KIND_SKILL,
    KIND_TOOL,
    SESSION_PROJECT,
    ZONE_END_DAY,
    ZONE_FIRST_DAY,
    Presum,
    Rollup,
    RollupTable,
    day_of,
    nullable,
)
from store.sqlite.usage_rollup import ROLLUP_TRIGGERS
from store.timezones import SLOT_MS, SLOTS_PER_DAY, local_day_start_utc_ms, offset_segments

FILE_TOOLS = ("Read", "NotebookRead", "Write", "Edit", "MultiEdit", "NotebookEdit")
ROLLUP_ZONE_KEY = "rollup_zone"

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
_FILE_CALL = f"{{r}}.file_path IS NOT NULL AND {{r}}.name IN ({', '.join(repr(n) for n in FILE_TOOLS)})"
FILE_TOUCH = RollupTable(  # file tool calls per project, file and tool (all time: the heatmap's default)
    "file_touch", keys=("file_path", "name"), sums=("calls", "errors"), maxes=("last_ms",), project=SESSION_PROJECT,
    all_projects=False,
    feeds=(Rollup("file_touch", "tool_call", keys=("{r}.file_path", "{r}.name"),
                  sums={"calls": "1", "errors": _STATUS["errors"]}, maxes={"last_ms": "{r}.call_ts_ms"},
                  where=_FILE_CALL, key_columns=("file_path", "name", "session_id", "call_ts_ms"),
                  sum_columns=("status",), follow_sessions=True),))
FILE_DAY = RollupTable(  # the same per local day (the heatmap of a date range)
    "file_day", keys=("day", "file_path", "name"), sums=("calls", "errors"), maxes=("last_ms",),
    project=SESSION_PROJECT, all_projects=False,
    feeds=(Rollup("file_day", "tool_call", keys=(_TOOL_DAY, "{r}.file_path", "{r}.name"),
                  sums={"calls": "1", "errors": _STATUS["errors"]}, maxes={"last_ms": "{r}.call_ts_ms"},
                  where=_FILE_CALL, key_columns=("file_path", "name", "session_id", "call_ts_ms"),
                  sum_columns=("status",), follow_sessions=True),))
PROMPT_DAY = RollupTable(  # prompts per project, day and category (see PROMPT_QUEUE_TRIGGERS)
    "prompt_day", keys=("day", "category"), sums=("prompts",), project=SESSION_PROJECT,
    feeds=(Rollup("prompt_day", "prompt_line", keys=(day_of("{r}.ts_ms"), "{r}.category"), sums={"prompts": "1"},
                  where="{r}.category IS NOT NULL", key_columns=("session_id", "ts_ms", "category"),
                  follow_sessions=True),))
DAY_ROLLUPS = (USAGE_DAY, SESSION_USAGE, ACTIVITY_DAY, TOOL_DAY, SESSION_START_DAY, ERROR_DAY, PROMPT_DAY,
               FILE_DAY, SESSION_KEYS)


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
    conn.execute(f"INSERT INTO {KEY_SESSIONS} {KEY_SESSIONS_EXPECTED}")
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
