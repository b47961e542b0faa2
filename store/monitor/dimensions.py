"""Usage by dimension: tools, models, projects, skills and MCP servers (``/api/stats/{tools,models,...}``).

Each answers for the scope's project and range; lists are complete (one row per tool, model, project, skill
or server) and sorted by volume.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from peewee import Database

from store.monitor.fmt import iso, rate, usage_json
from store.monitor.params import Scope
from store.monitor.sessions import project_name
from store.monitor.sql import requests_where, sessions_where, tool_calls_where
from store.monitor.usage import KeyUsage, grouped_rows, price_rows, rekey_rows
from store.pricing import PriceTable
from store.reports.usage import Usage, display_model

_STATUS_SUMS = ("count(*), sum(t.status = 'ok'), sum(t.status = 'error'), sum(t.status = 'rejected'), "
                "sum(t.status = 'interrupted'), sum(t.status = 'pending')")


def _status_json(calls: int, ok: int, errors: int, rejected: int, interrupted: int, pending: int) -> dict[str, Any]:
    finished = calls - pending
    return {"calls": calls, "ok": ok, "errors": errors, "rejected": rejected, "interrupted": interrupted,
            "pending": pending, "success_rate": rate(ok, finished), "error_rate": rate(errors, finished)}


def tool_stats(db: Database, scope: Scope) -> dict[str, Any]:
    """Per tool: calls by outcome, success rate over finished calls, mean duration, sessions using it."""
    where = tool_calls_where(scope)
    rows = db.execute_sql(
        f"SELECT coalesce(t.name, '(unknown)'), t.mcp_server, {_STATUS_SUMS}, avg(t.duration_ms), "
        f"count(DISTINCT t.session_id) FROM tool_call t{where.sql} GROUP BY 1 ORDER BY 3 DESC, 1",
        where.params).fetchall()
    tools = [{"tool_name": name, "mcp_server": server, **_status_json(*counts),
              "avg_duration_ms": round(avg) if avg is not None else None, "sessions": sessions}
             for name, server, *counts, avg, sessions in rows]
    return {"tools": tools, "total_calls": sum(t["calls"] for t in tools)}


def _by_session(db: Database, scope: Scope) -> list[tuple]:
    """Request rows grouped by session and pricing group; callers re-key them before pricing."""
    return grouped_rows(db, requests_where(scope), "r.session_id")


def model_stats(db: Database, prices: PriceTable, scope: Scope) -> dict[str, Any]:
    """Per model (fast mode shown as ``<model>-fast``, like the reports): usage, cost and shares."""
    rows = _by_session(db, scope)
    sessions: dict[str, set[str]] = defaultdict(set)
    for sid, model, speed, *_ in rows:
        sessions[display_model(model, speed)].add(sid)
    entry = price_rows(rekey_rows(rows, lambda _: None), prices).get(None) or KeyUsage()
    total = entry.total
    models = [{"model": m, "sessions": len(sessions[m]), "priced": not u.unpriced, **usage_json(u),
               "share_of_cost": rate(float(u.cost), float(total.cost)),
               "share_of_tokens": rate(u.total_tokens, total.total_tokens)}
              for m, u in sorted(entry.models.items(), key=lambda kv: (-kv[1].cost, -kv[1].total_tokens, kv[0]))]
    return {"models": models, "total": usage_json(total), "unpriced_models": sorted(total.unpriced)}


def project_stats(db: Database, prices: PriceTable, scope: Scope) -> dict[str, Any]:
    """Per project (path, or folder name when no working directory is known): sessions, usage, tool calls.

    Requests and tool calls are grouped by session through the session_id indexes, then mapped to projects
    here (a session table lookup per request row would cost more than the whole scan).
    """
    where = sessions_where(Scope(scope.tz, scope.start_ms, scope.end_ms, scope.project))
    project_of = dict(db.execute_sql(
        "SELECT s.session_id, coalesce(p.path, s.project_dir) FROM session s "
        "LEFT JOIN project p ON p.id = s.project_id").fetchall())
    sessions: dict[str | None, list] = {}
    for sid, last in db.execute_sql(f"SELECT s.session_id, s.last_ts_ms FROM session s{where.sql}",
                                    where.params).fetchall():
        acc = sessions.setdefault(project_of.get(sid), [0, None])
        acc[0] += 1
        acc[1] = last if acc[1] is None or (last is not None and last > acc[1]) else acc[1]
    usage = price_rows(rekey_rows(_by_session(db, scope), project_of.get), prices)
    tools = tool_calls_where(scope)
    calls: dict[str | None, int] = defaultdict(int)
    for sid, n in db.execute_sql(f"SELECT t.session_id, count(*) FROM tool_call t{tools.sql} GROUP BY 1",
                                 tools.params).fetchall():
        calls[project_of.get(sid)] += n
    totals = {path: usage[path].total if path in usage else Usage() for path in set(sessions) | set(usage)}
    total = Usage()
    projects = []
    for path, u in sorted(totals.items(), key=lambda kv: (-kv[1].cost, -kv[1].total_tokens, str(kv[0]))):
        total.add(u)
        n, last = sessions.get(path, (0, None))
        projects.append({"project": path, "project_name": project_name(path), "sessions": n,
                         "last_activity": iso(last), "tool_calls": calls.get(path, 0), **usage_json(u)})
    return {"projects": projects, "total": usage_json(total)}


def skill_stats(db: Database, scope: Scope) -> dict[str, Any]:
    """Skills invoked through the Skill tool: calls, outcomes, sessions and last use."""
    where = tool_calls_where(scope).add("t.skill IS NOT NULL")
    rows = db.execute_sql(
        f"SELECT t.skill, {_STATUS_SUMS}, count(DISTINCT t.session_id), max(t.call_ts_ms) FROM tool_call t"
        f"{where.sql} GROUP BY 1 ORDER BY 2 DESC, 1", where.params).fetchall()
    skills = [{"skill": skill, **_status_json(*counts), "sessions": sessions, "last_used": iso(last)}
              for skill, *counts, sessions, last in rows]
    return {"skills": skills, "total_calls": sum(s["calls"] for s in skills)}


def mcp_stats(db: Database, scope: Scope) -> dict[str, Any]:
    """MCP servers (from ``mcp__<server>__<tool>`` names) with their tools, outcomes, sessions and last use."""
    where = tool_calls_where(scope).add("t.mcp_server IS NOT NULL")
    rows = db.execute_sql(
        f"SELECT t.mcp_server, t.name, {_STATUS_SUMS}, max(t.call_ts_ms) FROM tool_call t{where.sql} "
        "GROUP BY 1, 2", where.params).fetchall()
    session_counts = dict(db.execute_sql(
        f"SELECT t.mcp_server, count(DISTINCT t.session_id) FROM tool_call t{where.sql} GROUP BY 1",
        where.params).fetchall())
    servers: dict[str, dict[str, Any]] = {}
    for server, name, calls, ok, errors, rejected, interrupted, pending, last in rows:
        entry = servers.setdefault(server, {"server": server, "counts": [0] * 6, "tools": [], "last_used": None})
        for i, n in enumerate((calls, ok, errors, rejected, interrupted, pending)):
            entry["counts"][i] += n
        entry["last_used"] = max(filter(None, (entry["last_used"], last)), default=None)
        short = name.split("__", 2)[-1] if name else name
        entry["tools"].append({"tool": short, "tool_name": name, "calls": calls, "errors": errors})
    result = []
    for server, entry in servers.items():
        entry["tools"].sort(key=lambda t: (-t["calls"], t["tool_name"] or ""))
        result.append({"server": server, **_status_json(*entry.pop("counts")), "tools": entry["tools"],
                       "sessions": session_counts.get(server, 0), "last_used": iso(entry["last_used"])})
    result.sort(key=lambda s: (-s["calls"], s["server"]))
    return {"servers": result, "total_calls": sum(s["calls"] for s in result)}
