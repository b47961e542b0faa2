"""Triggers that queue errored tool calls and possible prompts for filing in Python (error patterns, prompt
categories), and queueing everything at once for an archive written before those were kept."""

from __future__ import annotations

import sqlite3

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
