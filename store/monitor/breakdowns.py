"""Where one session's or one project's money and tokens went: per model, per token class (with dollars),
per agent, per tool, and for a project its most expensive sessions and branches."""

from __future__ import annotations

from collections import Counter
from typing import Any

from peewee import Database

from store.monitor.dimensions import tool_stats
from store.monitor.fmt import iso, usage_json
from store.monitor.heatmap import ACTIONS
from store.monitor.lookup import project_paths
from store.monitor.params import Scope, require
from store.monitor.session_counts import indexed_sessions_where
from store.monitor.sessions import project_name, session_row
from store.monitor.sql import Where, chunks, marks
from store.monitor.top_sessions import top_sessions
from store.monitor.usage import KeyUsage, price_rows, priced_usage, rekey_rows, scope_rows, token_classes_json
from store.pricing import PriceTable
from store.reports.sessions import TITLE_SQL
from store.reports.usage import Usage

TOP_SESSIONS = 10
TOP_FILES = 10


def _usage_parts(entry: KeyUsage) -> dict[str, Any]:
    return {"usage": usage_json(entry.total), "token_classes": token_classes_json(entry),
            "models": [{"model": m, **usage_json(u)}
                       for m, u in sorted(entry.models.items(), key=lambda kv: (-kv[1].cost, kv[0]))]}


def session_breakdown(db: Database, prices: PriceTable, session_id: str | None) -> dict[str, Any]:
    """A session's usage by model, token class and agent (main thread, each subagent, compactions), its tools
    and the files it touched most."""
    sid = require(session_id, "session_id")
    row = session_row(db, sid, parameter="session_id")
    where = Where().add("r.model IS NOT NULL").add("r.session_id = ?", sid)
    entry = priced_usage(db, prices, where, with_classes=True).get(None) or KeyUsage()
    kinds = {aid: (kind, agent_type, description) for aid, kind, agent_type, description in db.execute_sql(
        "SELECT agent_id, kind, agent_type, description FROM subagent WHERE session_id = ?", (sid,)).fetchall()}
    agents = []
    for aid, usage in priced_usage(db, prices, where, "r.agent_id").items():
        kind, agent_type, description = kinds.get(aid, ("subagent", None, None)) if aid else ("main", None, None)
        agents.append({"agent_id": aid, "kind": kind, "agent_type": agent_type, "description": description,
                       **usage_json(usage.total)})
    agents.sort(key=lambda a: (a["agent_id"] is not None, -a["cost_usd"], a["agent_id"] or ""))
    tools = db.execute_sql(
        "SELECT coalesce(name, '(unknown)'), count(*), sum(status = 'error'), avg(duration_ms) FROM tool_call "
        "WHERE session_id = ? GROUP BY 1 ORDER BY 2 DESC, 1", (sid,)).fetchall()
    files = db.execute_sql(
        f"SELECT file_path, name, count(*) FROM tool_call WHERE session_id = ? AND file_path IS NOT NULL "
        f"AND name IN ({marks(ACTIONS)}) GROUP BY 1, 2", (sid, *ACTIONS)).fetchall()
    per_file: dict[str, dict[str, int]] = {}
    for path, name, n in files:
        counts = per_file.setdefault(path, {"reads": 0, "writes": 0, "edits": 0})
        counts[ACTIONS[name]] += n
    top_files = sorted(per_file.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))[:TOP_FILES]
    first, last = row[8], row[9]
    return {
        "session_id": sid, "title": row[1], "project_path": row[2] or row[4], "started_at": iso(first),
        "ended_at": iso(last), "duration_ms": last - first if first is not None and last is not None else None,
        **_usage_parts(entry), "agents": agents,
        "tools": [{"tool_name": name, "calls": n, "errors": errors,
                   "avg_duration_ms": round(avg) if avg is not None else None} for name, n, errors, avg in tools],
        "files": [{"path": p, **c, "total": sum(c.values())} for p, c in top_files],
    }


def project_breakdown(db: Database, prices: PriceTable, scope: Scope) -> dict[str, Any]:
    """A project's usage (in the scope's range, if any) by model and token class, its most expensive sessions,
    tools and branches."""
    project = require(scope.project, "project")
    roots = project_paths(db, project)
    rows = rekey_rows(scope_rows(db, scope), lambda _: None)
    entry = price_rows(rows, prices, with_classes=True).get(None) or KeyUsage()
    swhere = indexed_sessions_where(db, Scope(scope.tz, scope.start_ms, scope.end_ms, project))
    per_branch = db.execute_sql(  # one pass over the project's sessions for the counts, span and branches
        f"SELECT s.git_branch, count(*), min(s.first_ts_ms), max(s.last_ts_ms) FROM session s{swhere.sql} "
        "GROUP BY s.git_branch", swhere.params).fetchall()
    count = sum(n for _, n, _, _ in per_branch)
    first = min((f for _, _, f, _ in per_branch if f is not None), default=None)
    last = max((la for _, _, _, la in per_branch if la is not None), default=None)
    by_branch: Counter[str] = Counter()
    for branch, n, _, _ in per_branch:
        by_branch[branch or "(none)"] += n  # no branch and an empty one read the same
    branches = sorted(by_branch.items(), key=lambda bn: (-bn[1], bn[0]))
    return {
        "project": project, "project_paths": roots, "project_name": project_name(roots[0]) if roots else None,
        "sessions": count, "first_activity": iso(first), "last_activity": iso(last), **_usage_parts(entry),
        "top_sessions": _top_sessions(db, prices, scope), "tools": tool_stats(db, scope)["tools"],
        "branches": [{"branch": b, "sessions": n} for b, n in branches],
    }


def _top_sessions(db: Database, prices: PriceTable, scope: Scope) -> list[dict[str, Any]]:
    top = top_sessions(db, prices, scope, TOP_SESSIONS)
    titles: dict[str, tuple] = {}
    ids = [sid for sid, _ in top]
    for part in chunks(ids):
        for sid, title, first, last in db.execute_sql(
                f"SELECT s.session_id, {TITLE_SQL}, s.first_ts_ms, s.last_ts_ms FROM session s "
                f"WHERE s.session_id IN ({marks(part)})", list(part)).fetchall():
            titles[sid] = (title, first, last)
    result = []
    for sid, usage in top:
        title, first, last = titles.get(sid, (None, None, None))
        result.append({"session_id": sid, "title": title, "started_at": iso(first), "ended_at": iso(last),
                       **usage_json(usage.total if usage else Usage())})
    return result
