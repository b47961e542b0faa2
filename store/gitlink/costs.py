"""Commits with what they cost, and cost per branch.

A commit's cost is that of the session's requests since the previous commit of the session (or its start) up to
the commit: the work that produced it. Requests after the last commit are the session's uncommitted cost.
A branch's cost is that of the requests of the sessions Claude Code recorded on it (``gitBranch``).
"""

from __future__ import annotations

from typing import Any

from peewee import Database

from store.monitor.fmt import iso, money, usage_json
from store.monitor.params import NotFound, Scope
from store.monitor.sessions import project_name, session_row
from store.monitor.sql import Where, chunks, marks, requests_where
from store.monitor.usage import KeyUsage, priced_usage
from store.pricing import PriceTable
from store.reports.usage import Usage

MAX_COMMITS = 1000  # per session: beyond this the rest of the session counts as uncommitted
_COMMIT_COLUMNS = ("sha, author_name, author_email, committed_ms, authored_ms, subject, body, files_changed, "
                   "insertions, deletions, repo_root")


def session_commits(db: Database, prices: PriceTable, session_id: str) -> dict[str, Any]:
    """A session's git link and its commits in time order, each with the cost of the work before it."""
    session_row(db, session_id)  # NotFound for an unknown session
    link = db.execute_sql("SELECT status, repo_root, branch, detail, synced_ms FROM git_link WHERE session_id = ?",
                          (session_id,)).fetchone()
    rows = db.execute_sql(f"SELECT {_COMMIT_COLUMNS} FROM git_commit WHERE session_id = ? "
                          f"ORDER BY committed_ms, sha LIMIT {MAX_COMMITS}", (session_id,)).fetchall()
    buckets = _cost_buckets(db, prices, session_id, [r[3] for r in rows])
    commits = []
    for i, (sha, name, email, committed, authored, subject, body, files, ins, dels, root) in enumerate(rows):
        usage = buckets.get(i, KeyUsage()).total
        commits.append({
            "sha": sha, "short_sha": sha[:10], "author": name, "author_email": email, "time": iso(committed),
            "authored_at": iso(authored), "message": subject, "body": body, "repo": root,
            "files_changed": files, "insertions": ins, "deletions": dels,
            "cost_usd": money(usage.cost), "requests": usage.requests, "total_tokens": usage.total_tokens,
            "unpriced_models": sorted(usage.unpriced),
        })
    total, after = Usage(), buckets.get(len(rows), KeyUsage()).total
    for entry in buckets.values():
        total.add(entry.total)
    status, root, branch, detail, synced = link or ("not_synced", None, None, None, None)
    return {"session_id": session_id, "status": status, "repo": root, "branch": branch, "detail": detail,
            "synced_at": iso(synced), "commits": commits, "session_cost_usd": money(total.cost),
            "uncommitted_cost_usd": money(after.cost)}


def _cost_buckets(db: Database, prices: PriceTable, session_id: str, times: list[int]) -> dict[Any, KeyUsage]:
    """Priced usage keyed by the index of the first commit at or after each request (len(times): none)."""
    cases = " ".join(f"WHEN r.ts_ms <= {int(t)} THEN {i}" for i, t in enumerate(times))
    key = f"CASE {cases} ELSE {len(times)} END" if times else "0"
    return priced_usage(db, prices, Where().add("r.model IS NOT NULL").add("r.session_id = ?", session_id), key)


def branch_stats(db: Database, prices: PriceTable, scope: Scope) -> dict[str, Any]:
    """Cost, tokens, sessions and commits per (project, branch) for the requests in scope, costliest first."""
    per_session = priced_usage(db, prices, requests_where(scope), "r.session_id")
    meta = _session_branches(db, list(per_session))
    branches: dict[tuple[str | None, str | None], dict[str, Any]] = {}
    for sid, usage in per_session.items():
        path, branch = meta.get(sid, (None, None))
        entry = branches.setdefault((path, branch), {"usage": Usage(), "sessions": []})
        entry["usage"].add(usage.total)
        entry["sessions"].append(sid)
    rows = []
    for (path, branch), entry in branches.items():
        commits = _commit_count(db, entry["sessions"], scope)
        usage: Usage = entry["usage"]
        rows.append({"project_path": path, "project_name": project_name(path), "branch": branch,
                     "sessions": len(entry["sessions"]), "commits": commits,
                     "cost_per_commit_usd": money(usage.cost / commits) if commits else None,
                     "usage": usage_json(usage)})
    rows.sort(key=lambda r: (-r["usage"]["cost_usd"], r["project_path"] or "", r["branch"] or ""))
    return {"timezone": str(scope.tz), "from": iso(scope.start_ms), "to": iso(scope.end_ms), "branches": rows}


def _session_branches(db: Database, ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
    out = {}
    for part in chunks(ids):
        for sid, path, branch in db.execute_sql(
                "SELECT s.session_id, coalesce(p.path, s.cwd), nullif(s.git_branch, '') FROM session s "
                f"LEFT JOIN project p ON p.id = s.project_id WHERE s.session_id IN ({marks(part)})",
                list(part)).fetchall():
            out[sid] = (path, branch)
    return out


def _commit_count(db: Database, session_ids: list[str], scope: Scope) -> int:
    """Distinct commits linked to these sessions (within the scope's time range)."""
    shas: set[str] = set()
    for part in chunks(session_ids):
        where = Where().add(f"session_id IN ({marks(part)})", *part)
        if scope.start_ms is not None:
            where.add("committed_ms >= ?", scope.start_ms)
        if scope.end_ms is not None:
            where.add("committed_ms < ?", scope.end_ms)
        shas.update(sha for (sha,) in db.execute_sql(f"SELECT DISTINCT sha FROM git_commit{where.sql}",
                                                     where.params).fetchall())
    return len(shas)


__all__ = ["NotFound", "branch_stats", "session_commits"]
