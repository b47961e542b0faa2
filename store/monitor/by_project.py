"""Usage rows and tool calls per project path (or folder name, for sessions without a known working directory).

Whole days come from the project rollups. Their project 0 ("not known") is split by the sessions' folder names
from the per-session rows (what is left belongs to no session row, like before); partial days at the ends are
read per session from the archived rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from peewee import Database

from store.monitor.params import Scope
from store.monitor.rollups import plan, whole_scope
from store.monitor.sql import chunks, marks, requests_where, tool_calls_where
from store.monitor.usage import grouped_rows, session_rows
from store.sqlite.rollup_tables import ALL_PROJECTS


def _paths(db: Database, sids: Sequence[str]) -> dict[str, str | None]:
    paths: dict[str, str | None] = {}
    for part in chunks(list(sids)):
        paths.update(db.execute_sql(
            f"SELECT s.session_id, coalesce(p.path, s.project_dir) FROM session s LEFT JOIN project p "
            f"ON p.id = s.project_id WHERE s.session_id IN ({marks(part)})", list(part)).fetchall())
    return paths


def project_figures(db: Database, scope: Scope) -> tuple[list[tuple], dict[str | None, int]]:
    """Usage rows keyed by project path (as :func:`grouped_rows`) and tool calls per path, in the scope."""
    p = plan(db, scope)
    rows: list[tuple] = []
    calls: dict[str | None, int] = defaultdict(int)
    if p.whole:
        _whole_days(db, scope, p, rows, calls)
    for edge in p.edges:
        by_session = grouped_rows(db, requests_where(edge), "r.session_id")
        tools = tool_calls_where(edge)
        counted = db.execute_sql(f"SELECT t.session_id, count(*) FROM tool_call t{tools.sql} GROUP BY 1",
                                 tools.params).fetchall()
        paths = _paths(db, sorted({r[0] for r in by_session} | {sid for sid, _ in counted}))
        rows += [(paths.get(sid), *rest) for sid, *rest in by_session]
        for sid, n in counted:
            calls[paths.get(sid)] += n
    return rows, calls


def _whole_days(db: Database, scope: Scope, p, rows: list[tuple], calls: dict[str | None, int]) -> None:
    ids = "project_id >= 0" if p.pids == (ALL_PROJECTS,) else f"project_id IN ({marks(p.pids)})"
    params = [] if p.pids == (ALL_PROJECTS,) else list(p.pids)
    paths = dict(db.execute_sql("SELECT id, path FROM project").fetchall())
    rows += [(paths.get(pid), *rest) for pid, *rest in db.execute_sql(
        "SELECT project_id, model, nullif(speed, ''), nullif(geo, ''), long_context, sum(input_tokens), "
        "sum(output_tokens), sum(cache_write_5m), sum(cache_write_1h), sum(cache_read), sum(web_search_requests), "
        f"sum(requests) FROM usage_day WHERE {ids} AND day BETWEEN ? AND ? "
        "GROUP BY project_id, model, speed, geo, long_context",
        [*params, p.lo, p.hi]).fetchall()]
    for pid, n in db.execute_sql(f"SELECT project_id, sum(calls) FROM tool_day WHERE {ids} AND day "
                                 "BETWEEN ? AND ? GROUP BY 1", [*params, p.lo, p.hi]).fetchall():
        calls[paths.get(pid)] += n
    if 0 not in p.pids and p.pids != (ALL_PROJECTS,):
        return
    # project 0 was filed under None above; move what belongs to a session's folder name there
    folders = dict(db.execute_sql("SELECT session_id, project_dir FROM session WHERE project_id IS NULL "
                                  "AND project_dir IS NOT NULL").fetchall())
    if not folders:
        return
    for sid, *rest in session_rows(db, list(folders), p.lo, p.hi):
        rows.append((folders[sid], *rest))
        rows.append((None, *rest[:4], *(-n for n in rest[4:])))
    tools = tool_calls_where(whole_scope(db, p, scope))
    for part in chunks(sorted(folders)):
        where = f"{tools.sql} AND" if tools.parts else " WHERE"
        for sid, n in db.execute_sql(f"SELECT t.session_id, count(*) FROM tool_call t{where} t.session_id IN "
                                     f"({marks(part)}) GROUP BY 1", [*tools.params, *part]).fetchall():
            calls[folders[sid]] += n
            calls[None] -= n
