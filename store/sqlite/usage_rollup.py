"""``usage_rollup``: requests summed per 15-minute slot, project and model, kept exact by triggers on the
requests and sessions."""

from __future__ import annotations

import sqlite3

from store.pricing.cost import LONG_CONTEXT_THRESHOLD
from store.timezones import SLOT_MS

# ``usage_rollup`` (see ``store.models.rollups.UsageRollup``) is kept equal to a GROUP BY over ``api_request`` by
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
