"""Link sessions to the commits made during them, and run that in the background for the API.

A session's window is its first to last transcript line (plus ``SLACK_MS`` either side for clock skew). Its
branch is the ``gitBranch`` Claude Code recorded; when that is unknown, detached (``HEAD``) or deleted since,
every ref is searched and the link says so. Each run replaces a session's commits, so a rewritten history or
a commit made late in a resumed session is picked up by the next run.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from peewee import Database

from store.gitlink.git import GitFailed, GitUnavailable, commits_between, has_branch, repo_root
from store.monitor.fmt import iso
from store.sqlite.connection import transaction

log = logging.getLogger(__name__)
SLACK_MS = 60_000
_SESSIONS_SQL = "SELECT session_id, cwd, git_branch, first_ts_ms, last_ts_ms FROM session"


@dataclass(slots=True)
class Outcome:
    status: str  # linked | no_cwd | no_repo | no_git | error
    repo_root: str | None = None
    branch: str | None = None
    detail: str | None = None
    commits: list = field(default_factory=list)


def locate(cwd: str | None, branch: str | None, first_ms: int | None, last_ms: int | None,
           cache: dict[Any, Any]) -> Outcome:
    """The repository and ref to search for one session (status ``linked`` when there is one to search);
    ``cache`` keeps git's answers per directory and branch within a run."""
    if not cwd or first_ms is None or last_ms is None:
        return Outcome("no_cwd", detail="the transcript recorded no working directory or time")
    if cwd not in cache:
        try:
            cache[cwd] = repo_root(cwd)
        except NotADirectoryError:
            cache[cwd] = Outcome("no_repo", detail=f"{cwd} does not exist on this machine")
        except GitUnavailable as exc:
            cache[cwd] = Outcome("no_git", detail=str(exc))
        except GitFailed as exc:
            cache[cwd] = Outcome("no_repo", detail=f"not a git repository: {exc}")
    root = cache[cwd]
    if isinstance(root, Outcome):
        return Outcome(root.status, detail=root.detail)
    if not branch or branch == "HEAD":
        return Outcome("linked", root, None, "branch unknown or detached: searched every ref")
    if (root, branch) not in cache:
        cache[(root, branch)] = has_branch(root, branch)
    if not cache[(root, branch)]:
        return Outcome("linked", root, None, f"branch {branch} no longer exists: searched every ref")
    return Outcome("linked", root, branch)


def find_commits(cwd: str | None, branch: str | None, first_ms: int | None, last_ms: int | None,
                 cache: dict[Any, Any] | None = None) -> Outcome:
    """What git says about one session."""
    outcome = locate(cwd, branch, first_ms, last_ms, {} if cache is None else cache)
    if outcome.status == "linked" and outcome.repo_root is not None:
        assert first_ms is not None and last_ms is not None
        try:
            outcome.commits = commits_between(outcome.repo_root, outcome.branch, first_ms - SLACK_MS,
                                              last_ms + SLACK_MS)
        except GitFailed as exc:
            return Outcome("error", outcome.repo_root, outcome.branch, str(exc))
    return outcome


def link_sessions(db: Database, session_id: str | None = None, now_ms: int | None = None) -> dict[str, int]:
    """Look up the commits of one session (or all) and store them with the outcome; returns counts.

    Sessions on the same repository and ref share one ``git log`` over their joint window, so linking thousands
    of sessions costs a few git runs per repository, not several per session.
    """
    where, params = (" WHERE session_id = ?", [session_id]) if session_id else ("", [])
    sessions = db.execute_sql(_SESSIONS_SQL + where + " ORDER BY first_ts_ms", params).fetchall()
    cache: dict[Any, Any] = {}
    located = [(row, locate(row[1], row[2], row[3], row[4], cache)) for row in sessions]
    groups: dict[tuple[str, str | None], list[tuple]] = {}
    for row, outcome in located:
        if outcome.status == "linked" and outcome.repo_root is not None:
            groups.setdefault((outcome.repo_root, outcome.branch), []).append(row)
    logs: dict[tuple[str, str | None], Any] = {}
    for (root, ref), rows in groups.items():
        try:
            logs[(root, ref)] = commits_between(root, ref, min(r[3] for r in rows) - SLACK_MS,
                                                max(r[4] for r in rows) + SLACK_MS)
        except GitFailed as exc:
            logs[(root, ref)] = exc
    counts = {"sessions": 0, "linked": 0, "commits": 0}
    now_ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    for (sid, _, _, first, last), outcome in located:
        log_or_error = logs.get((outcome.repo_root, outcome.branch)) if outcome.status == "linked" else None
        if isinstance(log_or_error, GitFailed):
            outcome = Outcome("error", outcome.repo_root, outcome.branch, str(log_or_error))
        elif log_or_error is not None:
            outcome.commits = [c for c in log_or_error
                               if first - SLACK_MS <= c.committed_ms <= last + SLACK_MS]
        _store(db, sid, outcome, now_ms)
        counts["sessions"] += 1
        counts["linked"] += outcome.status == "linked"
        counts["commits"] += len(outcome.commits)
    return counts


def _store(db: Database, session_id: str, outcome: Outcome, now_ms: int) -> None:
    with transaction(db.connection()) as conn:
        conn.execute("INSERT INTO git_link (session_id, status, repo_root, branch, detail, synced_ms) "
                     "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(session_id) DO UPDATE SET status = excluded.status, "
                     "repo_root = excluded.repo_root, branch = excluded.branch, detail = excluded.detail, "
                     "synced_ms = excluded.synced_ms",
                     (session_id, outcome.status, outcome.repo_root, outcome.branch, outcome.detail, now_ms))
        conn.execute("DELETE FROM git_commit WHERE session_id = ?", (session_id,))
        conn.executemany(
            "INSERT INTO git_commit (session_id, sha, repo_root, author_name, author_email, committed_ms, "
            "authored_ms, subject, body, files_changed, insertions, deletions) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [(session_id, c.sha, outcome.repo_root, c.author_name, c.author_email, c.committed_ms, c.authored_ms,
              c.subject, c.body or None, c.files_changed, c.insertions, c.deletions) for c in outcome.commits])


class GitSyncRunner:
    """Runs look-ups on one worker thread; requests arriving meanwhile are queued (all sessions absorbs the
    rest), so ``POST /api/git-sync`` always answers at once."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._queue: list[str | None] = []
        self._thread: threading.Thread | None = None
        self.started_ms: int | None = None
        self.last: dict[str, Any] | None = None

    @property
    def is_running(self) -> bool:
        return self._thread is not None

    def request(self, session_id: str | None = None) -> None:
        with self._lock:
            if None not in self._queue and session_id not in self._queue:
                self._queue = [None] if session_id is None else [*self._queue, session_id]
            if self._thread is None:
                self.started_ms = time.time_ns() // 1_000_000
                self._thread = threading.Thread(target=self._work, name="devhelion-git-sync", daemon=True)
                self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self._thread is None

    def status(self) -> dict[str, Any]:
        return {"status": "syncing" if self.is_running else "idle", "started_at": iso(self.started_ms),
                "last": self.last}

    def _work(self) -> None:
        totals = {"sessions": 0, "linked": 0, "commits": 0}
        try:
            while True:
                with self._lock:  # checking the queue and finishing are one step: a request cannot slip between
                    if not self._queue:
                        self._finish(totals, None)
                        return
                    session_id = self._queue.pop(0)
                for key, n in link_sessions(self.db, session_id).items():
                    totals[key] += n
        except Exception as exc:  # reported on the status; the runner must always be free again
            log.exception("git sync failed")
            with self._lock:
                self._queue.clear()
                self._finish(totals, str(exc) or type(exc).__name__)
        finally:
            self.db.close()  # connections are per thread: release this one

    def _finish(self, totals: dict[str, int], error: str | None) -> None:
        self.last = {**totals, "error": error, "started_at": iso(self.started_ms),
                     "finished_at": iso(time.time_ns() // 1_000_000)}
        self._thread = None
