"""Sessions behind each error pattern, so the dashboard can link an error signature to where it happened."""

from __future__ import annotations

from peewee import Database

from store.monitor.errors import error_signature
from store.monitor.params import Scope
from store.monitor.sql import tool_calls_where


def pattern_sessions(db: Database, scope: Scope, signatures: list[str], per_pattern: int = 3
                     ) -> dict[str, list[dict[str, str | int | None]]]:
    """For each signature, the most recent failing calls in distinct sessions (session id, tool, time in ms)."""
    wanted = set(signatures)
    where = tool_calls_where(scope).add("t.status = 'error'")
    signatures = list(dict.fromkeys(signatures))
    found: dict[str, list[dict[str, str | int | None]]] = {s: [] for s in signatures}
    seen: dict[str, set[str]] = {s: set() for s in signatures}
    missing = len(signatures)
    cursor = db.execute_sql(f"SELECT t.session_id, t.name, t.error_text, t.call_ts_ms FROM tool_call t{where.sql} "
                            "ORDER BY t.call_ts_ms DESC", where.params)
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
    return found
