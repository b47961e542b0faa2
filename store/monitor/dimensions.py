"""Usage by dimension: tools, models, projects, skills and MCP servers (``/api/stats/{tools,models,...}``).

Each answers for the scope's project and range; lists are complete (one row per tool, model, project, skill
or server) and sorted by volume.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from peewee import Database

from store.monitor.by_project import project_figures
from store.monitor.figures import ToolCounts, key_sessions, tool_counts
from store.monitor.fmt import iso, rate, usage_json
from store.monitor.params import Scope
from store.monitor.rollups import day_bounds, plan
from store.monitor.session_counts import sessions_by_project
from store.monitor.sessions import project_name
from store.monitor.sql import chunks, marks, tool_calls_where
from store.monitor.usage import KeyUsage, price_rows, rekey_rows, scope_rows
from store.pricing import PriceTable
from store.reports.usage import Usage
from store.sqlite.rollup_tables import DAY_UNDATED, KIND_MCP, KIND_MODEL, KIND_SKILL, KIND_TOOL, NULL_KEY


def _status_json(calls: int, ok: int, errors: int, rejected: int, interrupted: int, pending: int) -> dict[str, Any]:
    finished = calls - pending
    return {"calls": calls, "ok": ok, "errors": errors, "rejected": rejected, "interrupted": interrupted,
            "pending": pending, "success_rate": rate(ok, finished), "error_rate": rate(errors, finished)}


def _outcomes(counts: ToolCounts) -> dict[str, Any]:
    return _status_json(counts.calls, counts.ok, counts.errors, counts.rejected, counts.interrupted, counts.pending)


def tool_stats(db: Database, scope: Scope) -> dict[str, Any]:
    """Per tool: calls by outcome, success rate over finished calls, mean duration, sessions using it."""
    per_tool: dict[str | None, ToolCounts] = defaultdict(ToolCounts)
    servers: dict[str | None, str | None] = {}
    for (name, server, _), counts in tool_counts(db, scope).items():
        per_tool[name].add(counts.as_tuple())
        if servers.get(name) is None:
            servers[name] = server
    sessions = key_sessions(db, scope, KIND_TOOL)
    tools = [{"tool_name": name or "(unknown)", "mcp_server": servers[name], **_outcomes(counts),
              "avg_duration_ms": round(counts.avg_duration) if counts.avg_duration is not None else None,
              "sessions": sessions[(name, "")]}
             for name, counts in per_tool.items() if counts.calls]
    tools.sort(key=lambda t: (-t["calls"], t["tool_name"]))
    return {"tools": tools, "total_calls": sum(t["calls"] for t in tools)}


def last_calls(db: Database, scope: Scope, column: str) -> dict[str, int]:
    """The last call time per value of a ``tool_call`` column (``skill`` or ``mcp_server``) in the scope."""
    p = plan(db, scope)
    last: dict[str, int] = {}

    def read(sub: Scope, values: list[str] | None = None) -> None:
        where = tool_calls_where(sub).add(f"t.{column} IS NOT NULL")
        if values is not None:
            where.add(f"t.{column} IN ({marks(values)})", *values)
        for value, ts in db.execute_sql(f"SELECT t.{column}, max(t.call_ts_ms) FROM tool_call t{where.sql} "
                                        "GROUP BY 1", where.params).fetchall():
            if ts is not None and (value not in last or ts > last[value]):
                last[value] = ts

    if p.whole:  # the day each value was last used, then the exact time from that day's calls
        clause, params = p.where()
        latest: dict[int, list[str]] = defaultdict(list)
        for value, day in db.execute_sql(
                f"SELECT {column}, max(day) FROM tool_day WHERE {clause} AND {column} != {NULL_KEY} "
                f"AND day != {DAY_UNDATED} AND calls > 0 GROUP BY 1", params).fetchall():
            latest[day].append(value)
        for day, values in latest.items():
            start, end = day_bounds(db, day)
            for part in chunks(values):
                read(Scope(scope.tz, start, end, scope.project), list(part))
    for edge in p.edges:
        read(edge)
    return last


def model_stats(db: Database, prices: PriceTable, scope: Scope) -> dict[str, Any]:
    """Per model (fast mode shown as ``<model>-fast``, like the reports): usage, cost and shares."""
    sessions = key_sessions(db, scope, KIND_MODEL)
    entry = price_rows(rekey_rows(scope_rows(db, scope), lambda _: None), prices).get(None) or KeyUsage()
    total = entry.total
    models = [{"model": m, "sessions": sessions[(m, "")], "priced": not u.unpriced, **usage_json(u),
               "share_of_cost": rate(float(u.cost), float(total.cost)),
               "share_of_tokens": rate(u.total_tokens, total.total_tokens)}
              for m, u in sorted(entry.models.items(), key=lambda kv: (-kv[1].cost, -kv[1].total_tokens, kv[0]))]
    return {"models": models, "total": usage_json(total), "unpriced_models": sorted(total.unpriced)}


def project_stats(db: Database, prices: PriceTable, scope: Scope) -> dict[str, Any]:
    """Per project (path, or folder name when no working directory is known): sessions, usage, tool calls."""
    sessions = sessions_by_project(db, scope)
    rows, calls = project_figures(db, scope)
    usage = price_rows([r for r in rekey_rows(rows, lambda path: path) if r[-1]], prices)  # drop emptied rows
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
    per_skill: dict[str, ToolCounts] = defaultdict(ToolCounts)
    for (_, _, skill), counts in tool_counts(db, scope, f"skill != {NULL_KEY}", "t.skill IS NOT NULL").items():
        per_skill[skill].add(counts.as_tuple())
    sessions = key_sessions(db, scope, KIND_SKILL)
    last = last_calls(db, scope, "skill")
    skills = [{"skill": skill, **_outcomes(counts), "sessions": sessions[(skill, "")],
               "last_used": iso(last.get(skill))} for skill, counts in per_skill.items() if counts.calls]
    skills.sort(key=lambda s: (-s["calls"], s["skill"]))
    return {"skills": skills, "total_calls": sum(s["calls"] for s in skills)}


def mcp_stats(db: Database, scope: Scope) -> dict[str, Any]:
    """MCP servers (from ``mcp__<server>__<tool>`` names) with their tools, outcomes, sessions and last use."""
    per_tool: dict[tuple[str, str | None], ToolCounts] = defaultdict(ToolCounts)
    for (name, server, _), counts in tool_counts(db, scope, f"mcp_server != {NULL_KEY}",
                                                 "t.mcp_server IS NOT NULL").items():
        per_tool[(server, name)].add(counts.as_tuple())
    servers: dict[str, tuple[ToolCounts, list]] = {}
    for (server, name), counts in per_tool.items():
        total, tools = servers.setdefault(server, (ToolCounts(), []))
        total.add(counts.as_tuple())
        short = name.split("__", 2)[-1] if name else name
        tools.append({"tool": short, "tool_name": name, "calls": counts.calls, "errors": counts.errors})
    sessions = key_sessions(db, scope, KIND_MCP)
    last = last_calls(db, scope, "mcp_server")
    result = []
    for server, (total, tools) in servers.items():
        tools.sort(key=lambda t: (-t["calls"], t["tool_name"] or ""))
        result.append({"server": server, **_outcomes(total), "tools": tools, "sessions": sessions[(server, "")],
                       "last_used": iso(last.get(server))})
    result.sort(key=lambda s: (-s["calls"], s["server"]))
    return {"servers": result, "total_calls": sum(s["calls"] for s in result)}
