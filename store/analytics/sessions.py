"""Session list (newest first, paged in SQL) and one session with its messages.

A session is listed when its activity overlaps the range; its figures count only the requests inside the range,
so the listed costs add up to the overview's total for the same range.
"""

from __future__ import annotations

from typing import Any

from peewee import Database

from store.analytics.range import TimeRange, iso
from store.analytics.usage import KeyUsage, main_model, usage_by_session
from store.pricing import PriceTable
from store.reports.ccusage_json import money
from store.reports.sessions import TITLE_SQL

_SELECT = (
    f"SELECT s.session_id, coalesce(p.path, s.cwd), s.first_ts_ms, s.last_ts_ms, {TITLE_SQL}, s.git_branch, "
    "s.project_dir FROM session s LEFT JOIN project p ON p.id = s.project_id"
)


def _session_fields(row: tuple, usage: KeyUsage | None) -> dict[str, Any]:
    sid, path, first, last, title, branch, project_dir = row
    total = usage.total if usage else None
    models = usage.models if usage else {}
    return {
        "id": sid,
        "projectPath": path,
        "projectDir": project_dir,
        "title": title,
        "gitBranch": branch,
        "startTime": iso(first),
        "endTime": iso(last),
        "duration": round((last - first) / 1000, 1) if first is not None and last is not None else 0.0,
        "inputTokens": total.input_tokens if total else 0,
        "outputTokens": total.output_tokens if total else 0,
        "cacheCreationTokens": total.cache_creation_tokens if total else 0,
        "cacheReadTokens": total.cache_read if total else 0,
        "totalTokens": total.total_tokens if total else 0,
        "requests": total.requests if total else 0,
        "cost": money(total.cost) if total else 0.0,
        "model": main_model(models),
        "models": sorted(models),
        "unpricedModels": sorted(total.unpriced) if total else [],
    }


def list_sessions(db: Database, prices: PriceTable, rng: TimeRange, limit: int, offset: int) -> dict[str, Any]:
    where, params = rng.overlaps("s.first_ts_ms", "s.last_ts_ms")
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    total = db.execute_sql(f"SELECT count(*) FROM session s{clause}", params).fetchone()[0]
    # page the ids first: the title subquery then runs for the page's rows only, not for every sorted row
    rows = db.execute_sql(
        f"{_SELECT} JOIN (SELECT s.session_id AS id, s.first_ts_ms AS first FROM session s{clause} "
        "ORDER BY s.first_ts_ms DESC, s.session_id LIMIT ? OFFSET ?) page ON page.id = s.session_id "
        "ORDER BY page.first DESC, page.id",
        [*params, limit, offset],
    ).fetchall() if limit > 0 and offset < total else []
    usage = usage_by_session(db, prices, rng, [r[0] for r in rows])
    return {
        "sessions": [_session_fields(r, usage.get(r[0])) for r in rows],
        "pagination": {"total": total, "limit": limit, "offset": offset, "hasMore": offset + len(rows) < total},
    }


def session_detail(db: Database, prices: PriceTable, session_id: str) -> dict[str, Any] | None:
    """The session's whole-life figures and every message in order; ``None`` when the id is unknown."""
    row = db.execute_sql(f"{_SELECT} WHERE s.session_id = ?", [session_id]).fetchone()
    if row is None:
        return None
    usage = usage_by_session(db, prices, TimeRange(), [session_id]).get(session_id)
    return {"session": _session_fields(row, usage), "messages": _messages(db, session_id)}


def _messages(db: Database, session_id: str) -> list[dict[str, Any]]:
    """Messages in time order; an API response's tokens go on its last line (its lines repeat the usage)."""
    tokens = {
        key: (inp, out, cw, cr)
        for key, inp, out, cw, cr in db.execute_sql(
            "SELECT request_key, input_tokens, output_tokens, cache_write_5m + cache_write_1h, cache_read "
            "FROM api_request WHERE session_id = ?", [session_id]).fetchall()
    }
    rows = db.execute_sql(
        "SELECT uuid, ts_ms, coalesce(role, type), type, text, model, request_key, is_sidechain, agent_id "
        "FROM message WHERE session_id = ? ORDER BY ts_ms IS NULL, ts_ms, rowid", [session_id]).fetchall()
    last_line = {r[6]: i for i, r in enumerate(rows) if r[6] in tokens}
    messages = []
    for i, (uuid, ts, role, kind, text, model, request_key, sidechain, agent_id) in enumerate(rows):
        inp, out, cw, cr = tokens[request_key] if last_line.get(request_key) == i else (0, 0, 0, 0)
        messages.append({
            "id": uuid, "sessionId": session_id, "timestamp": iso(ts), "role": role, "type": kind,
            "content": text or "", "model": model, "inputTokens": inp, "outputTokens": out,
            "cacheCreationTokens": cw, "cacheReadTokens": cr, "isSidechain": bool(sidechain), "agentId": agent_id,
        })
    return messages
