"""Sessions behind each error pattern, so the dashboard can link an error signature to where it happened."""

from __future__ import annotations

from peewee import Database

from store.monitor.error_filing import file_pending
from store.monitor.errors import error_signature
from store.monitor.params import Scope
from store.monitor.rollups import row_level_only
from store.monitor.sql import Where, chunks, marks, of_project, tool_calls_where

Examples = dict[str, list[dict[str, str | int | None]]]


def pattern_sessions(db: Database, scope: Scope, signatures: list[str], per_pattern: int = 3) -> Examples:
    """For each signature, the most recent failing calls in distinct sessions (session id, tool, time in ms;
    the latest first, ties by the later call id, undated calls last).

    From ``error_call`` (each pattern's errors through its (pattern, time) index) once queued errors are filed;
    from the tool calls otherwise, and when a model or text filter is set (``error_call`` knows neither)."""
    signatures = list(dict.fromkeys(signatures))
    if scope.model or scope.search or row_level_only() or not file_pending(db):
        return _row_sessions(db, scope, signatures, per_pattern)
    ids: dict[str, int] = {}
    for part in chunks(signatures):
        ids.update(db.execute_sql(f"SELECT signature, id FROM error_pattern WHERE signature IN ({marks(part)})",
                                  list(part)).fetchall())
    found: Examples = {s: [] for s in signatures}
    for signature in signatures:
        if signature not in ids:
            continue
        where = Where().add("e.pattern_id = ?", ids[signature])
        if scope.start_ms is not None:
            where.add("e.call_ts_ms >= ?", scope.start_ms)
        if scope.end_ms is not None:
            where.add("e.call_ts_ms < ?", scope.end_ms)
        if scope.project:  # checked per error in index order: the walk ends with the last example
            condition, params = of_project("e.session_id", scope.project)
            where.add(condition, *params)
        cursor = db.execute_sql(f"SELECT e.session_id, e.name, e.call_ts_ms FROM error_call e{where.sql} "
                                "ORDER BY e.call_ts_ms DESC, e.tool_use_id DESC", where.params)
        examples, seen = found[signature], set()
        for sid, name, ts in cursor:
            if sid not in seen:
                seen.add(sid)
                examples.append({"session_id": sid, "tool_name": name, "ts_ms": ts})
                if len(examples) == per_pattern:
                    break
        cursor.close()
    return found


def _row_sessions(db: Database, scope: Scope, signatures: list[str], per_pattern: int) -> Examples:
    """:func:`pattern_sessions` from the tool calls themselves."""
    wanted = set(signatures)
    where = tool_calls_where(scope).add("t.status = 'error'")
    found: Examples = {s: [] for s in signatures}
    seen: dict[str, set[str]] = {s: set() for s in signatures}
    missing = len(signatures)
    cursor = db.execute_sql(f"SELECT t.session_id, t.name, t.error_text, t.call_ts_ms FROM tool_call t{where.sql} "
                            "ORDER BY t.call_ts_ms DESC, t.tool_use_id DESC", where.params)
    for sid, name, text, ts in cursor:
        if not missing:
            break  # every pattern has its examples: the older errors need not be read
        signature = error_signature(text)
        if signature not in wanted or sid in seen[signature] or len(found[signature]) >= per_pattern:
            continue
        seen[signature].add(sid)
        found[signature].append({"session_id": sid, "tool_name": name, "ts_ms": ts})
        if len(found[signature]) == per_pattern:
            missing -= 1
    cursor.close()
    return found
