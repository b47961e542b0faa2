"""Distinct sessions per key over any range of days: ``key_sessions``, kept by triggers on ``session_key_day``."""

from __future__ import annotations

from store.sqlite.rollup_tables import ALL_PROJECTS, DAY_NO_PREV, SESSION_PROJECT

# Distinct sessions per key over any range of days: ``session_key_day`` holds which session had which key
# (tool, skill, MCP server, model, or any request) on which day; ``key_sessions`` counts, per key and day, the
# sessions present that day by the previous day each was present (``prev``, DAY_NO_PREV for its first day).
# The sessions present in days [lo, hi] are then the rows with lo <= day <= hi and prev < lo: each session is
# counted once, on its first day in the range.
_NEIGHBOUR = ("(SELECT {agg}(p.day) FROM session_key_day p WHERE p.session_id = {r}.session_id AND p.kind = {r}.kind "
              "AND p.key = {r}.key AND p.key2 = {r}.key2 AND p.day {op} {r}.day)")
KEY_SESSIONS = "key_sessions (project_id, kind, day, key, key2, prev, sessions)"
_KEY_SESSIONS_MERGE = ("ON CONFLICT (project_id, kind, day, key, key2, prev) DO UPDATE SET "
                       "sessions = sessions + excluded.sessions;")


def _prev(r: str) -> str:
    return f"coalesce({_NEIGHBOUR.format(agg='max', op='<', r=r)}, {DAY_NO_PREV})"


def _next(r: str) -> str:
    return _NEIGHBOUR.format(agg="min", op=">", r=r)


def _count_session(r: str, day: str, prev: str, sign: str) -> str:
    project = SESSION_PROJECT.format(r=r)
    return (f"INSERT INTO {KEY_SESSIONS} SELECT q.pid, {r}.kind, {day}, {r}.key, {r}.key2, {prev}, {sign}1 "
            f"FROM (SELECT {project} AS pid UNION ALL SELECT {ALL_PROJECTS}) q WHERE 1 {_KEY_SESSIONS_MERGE}")


def _drop_key_sessions(r: str, day: str, prev: str) -> str:
    return (f"DELETE FROM key_sessions WHERE project_id IN ({SESSION_PROJECT.format(r=r)}, {ALL_PROJECTS}) "
            f"AND kind = {r}.kind AND day = {day} AND key = {r}.key AND key2 = {r}.key2 AND prev = {prev} "
            "AND sessions = 0;")


def _sessions_of(sid: str, project: str, sign: str) -> str:
    return (f"INSERT INTO {KEY_SESSIONS} SELECT {project}, kind, day, key, key2, prev, {sign}count(*) FROM "
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
