"""Filing prompt categories, so prompt statistics come from rollups instead of re-reading every prompt.

Triggers queue in ``prompt_pending`` each new user line that may be a prompt and each prompt whose turn changed
(a line or a tool call arrived in it, or left it). Filing computes the category of each queued line over its
whole turn, exactly like ``prompts.prompt_patterns`` does row by row, and stores it in ``prompt_line`` (which the
rollups follow), all in one write transaction that also reads the queue.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Sequence

from peewee import Database, OperationalError

from store.monitor.sql import chunks, marks
from store.sqlite.queues import PROMPT_CANDIDATE

BULK = 20_000


def file_prompts(db: Database) -> bool:
    """File the queued lines; False when the archive cannot be written now (callers then read the rows)."""
    if db.execute_sql("SELECT NOT EXISTS (SELECT 1 FROM prompt_pending)").fetchone()[0]:
        return True
    try:
        with db.atomic("IMMEDIATE"):
            file_prompt_queue(db.connection())
    except (sqlite3.OperationalError, OperationalError):
        return False
    return True


def file_prompt_queue(conn: sqlite3.Connection) -> int:
    """Categorise every queued line (the caller holds the write transaction); returns how many were filed."""
    from store.monitor.prompts import TEXT_LIMIT, categorize, is_prompt  # the rules live with the statistics

    columns = f"m.uuid, m.session_id, m.ts_ms, substr(m.text, 1, {TEXT_LIMIT})"
    candidate = PROMPT_CANDIDATE.format(r="m")
    if conn.execute("SELECT count(*) FROM prompt_pending").fetchone()[0] > BULK:
        # most lines (a migration): one pass over the lines beats a lookup per queued line
        sql = f"SELECT {columns} FROM message m WHERE {candidate} AND +m.uuid IN (SELECT uuid FROM prompt_pending)"
    else:
        sql = f"SELECT {columns} FROM prompt_pending p JOIN message m ON m.uuid = p.uuid WHERE {candidate}"
    lines = conn.execute(sql).fetchall()
    pending: dict[str, list[tuple]] = defaultdict(list)
    for uuid, sid, ts, text in lines:
        pending[sid].append((ts, uuid, text, is_prompt(text)))
    filed = []
    for part in chunks(sorted(pending)):
        starts: dict[str, list[int]] = defaultdict(list)
        for sid, ts in conn.execute(f"SELECT session_id, ts_ms FROM prompt_line WHERE session_id IN ({marks(part)}) "
                                    "AND category IS NOT NULL", list(part)).fetchall():
            starts[sid].append(ts)
        calls = session_calls(conn, part)
        for sid in part:
            prompts = sorted([*starts[sid], *(ts for ts, _, _, is_one in pending[sid] if is_one)])
            times = [ts for ts, *_ in calls[sid]]
            for ts, uuid, text, is_one in pending[sid]:
                category = None
                if is_one:  # its turn: its calls up to the session's next prompt (prompts at one instant share it)
                    i = bisect_right(prompts, ts)
                    turn = turn_calls(calls[sid], times, ts, prompts[i] if i < len(prompts) else None)
                    category = categorize(text, turn)
                filed.append((uuid, sid, ts, category))
    conn.executemany("DELETE FROM prompt_line WHERE uuid = ?", ((f[0],) for f in filed))
    conn.executemany("INSERT INTO prompt_line (uuid, session_id, ts_ms, category) VALUES (?, ?, ?, ?)", filed)
    conn.execute("DELETE FROM prompt_pending")
    return len(filed)


def session_calls(conn: sqlite3.Connection, sids: Sequence[str], start: int | None = None,
                  end: int | None = None) -> dict[str, list[tuple]]:
    """``(time, tool, Bash command)`` of the sessions' dated calls (within ``[start, end)``), in time order."""
    bounds = "".join(f" AND call_ts_ms {op} ?" for op, v in ((">=", start), ("<", end)) if v is not None)
    calls: dict[str, list[tuple]] = defaultdict(list)
    for sid, ts, name, command in conn.execute(
            "SELECT session_id, call_ts_ms, name, CASE WHEN name = 'Bash' AND json_valid(input_json) "
            f"THEN json_extract(input_json, '$.command') END FROM tool_call WHERE session_id IN ({marks(sids)}) "
            f"AND call_ts_ms IS NOT NULL{bounds} ORDER BY session_id, call_ts_ms",
            [*sids, *(v for v in (start, end) if v is not None)]).fetchall():
        calls[sid].append((ts, name, command if isinstance(command, str) else None))
    return calls


def turn_calls(calls: list[tuple], times: list[int], start: int, end: int | None) -> list[tuple[str | None, ...]]:
    """``(tool, command)`` of the calls in ``[start, end)`` (``times``: the calls' times, sorted)."""
    last = len(times) if end is None else bisect_left(times, end)
    return [(name, command) for _, name, command in calls[bisect_left(times, start):last]]
