"""Git commits linked to sessions, on a real temporary repository: commits inside the session's window on its
branch are linked, those outside it or on another branch are not; cost per commit and per branch."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from store.gitlink.link import find_commits
from tests.api_server import ApiServer, error, start_server, stop_server, write_config
from tests.monitor_tree import Transcript, ms

BRANCH = "feature/login"


def git(repo: Path, *args: str, at: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com"}
    if at:
        env.update(GIT_AUTHOR_DATE=at, GIT_COMMITTER_DATE=at)
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def commit(repo: Path, at: str, message: str, files: dict[str, str]) -> str:
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, at=at)
    return git(repo, "rev-parse", "HEAD").strip()


def make_repo(repo: Path) -> dict[str, str]:
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    shas = {"before": commit(repo, "2026-05-01T08:00:00Z", "Initial commit", {"README.md": "hello\n"})}
    git(repo, "checkout", "-q", "-b", BRANCH)
    shas["a"] = commit(repo, "2026-05-01T10:20:00Z", "Add login form", {"login.py": "a\nb\nc\n"})
    shas["b"] = commit(repo, "2026-05-01T10:40:00Z", "Validate the password\n\nWith a test.",
                       {"login.py": "a\nB\nc\n", "test_login.py": "x\ny\n"})
    shas["after"] = commit(repo, "2026-05-01T12:30:00Z", "Later polish", {"login.py": "a\nB\nc\nd\n"})
    git(repo, "checkout", "-q", "-b", "other", "main")
    shas["other"] = commit(repo, "2026-05-01T10:30:00Z", "Unrelated work", {"other.txt": "1\n"})
    git(repo, "checkout", "-q", "main")
    shas["main-day2"] = commit(repo, "2026-05-02T09:10:00Z", "Hotfix on main", {"README.md": "hello!\n"})
    return shas


def write_sessions(root: Path, repo: Path) -> None:
    work = Transcript("s-git-work", str(repo / "src"), "2026-05-01T10:00:00Z", branch=BRANCH)
    work.prompt("Build the login form", at="2026-05-01T10:00:00Z")
    work.reply(inp=1000, out=100, at="2026-05-01T10:05:00Z")  # before commit a
    work.reply(inp=2000, out=300, at="2026-05-01T10:35:00Z")  # between a and b
    work.reply(inp=500, out=50, at="2026-05-01T10:55:00Z")  # after b: uncommitted
    work.prompt("thanks", at="2026-05-01T11:00:00Z")
    work.write(root, "repo/s-git-work.jsonl")
    gone = Transcript("s-git-gone", "/nonexistent/devhelion/project", "2026-05-01T10:00:00Z")
    gone.prompt("hello")
    gone.reply()
    gone.write(root, "gone/s-git-gone.jsonl")
    deleted = Transcript("s-git-deleted", str(repo), "2026-05-02T09:00:00Z", branch="merged-and-deleted")
    deleted.prompt("hotfix please")
    deleted.reply(inp=10, out=1, at="2026-05-02T09:20:00Z")
    deleted.write(root, "repo/s-git-deleted.jsonl")


@pytest.fixture(scope="module")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiServer, Path, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("git")
    repo = tmp / "repo"
    shas = make_repo(repo)
    (repo / "src").mkdir()
    write_sessions(tmp / "claude", repo)
    write_config(tmp / "home")
    server = start_server(tmp / "home", tmp / "claude", ("--no-watch",))
    yield server, repo, shas
    stop_server(server)


def _sync(http: httpx.Client, session_id: str | None = None) -> dict:
    started = time.monotonic()
    response = http.post("/api/git-sync", params={"session_id": session_id} if session_id else None)
    assert time.monotonic() - started < 2
    assert (response.status_code, response.json()) == (202, {"status": "syncing"})
    deadline = time.monotonic() + 60
    while True:
        status = http.get("/api/git-sync").json()
        if status["status"] == "idle" and status["last"] is not None:
            return status["last"]
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def _commits(http: httpx.Client, session_id: str) -> dict:
    response = http.get(f"/api/sessions/{quote(session_id, safe='')}/commits")
    assert response.status_code == 200, response.text
    return response.json()


def test_commits_inside_the_window_on_the_branch(git_server: tuple[ApiServer, Path, dict[str, str]]) -> None:
    server, repo, shas = git_server
    http = server.client()
    assert _commits(http, "s-git-work")["status"] == "not_synced"
    last = _sync(http, "s-git-work")
    assert (last["sessions"], last["linked"], last["commits"], last["error"]) == (1, 1, 2, None)
    body = _commits(http, "s-git-work")
    assert (body["status"], body["repo"], body["branch"], body["detail"]) == ("linked", str(repo), BRANCH, None)
    a, b = body["commits"]
    assert (a["sha"], b["sha"]) == (shas["a"], shas["b"])  # not "before", "after" (outside) nor "other" (branch)
    assert (a["message"], a["author"], a["author_email"], a["time"]) == (
        "Add login form", "Ada", "ada@example.com", "2026-05-01T10:20:00.000Z")
    assert (a["files_changed"], a["insertions"], a["deletions"]) == (1, 3, 0)
    assert (b["message"], b["body"]) == ("Validate the password", "With a test.")
    assert (b["files_changed"], b["insertions"], b["deletions"]) == (2, 3, 1)
    # the cost of each commit is the work since the previous one; what follows the last commit is uncommitted
    assert (a["requests"], b["requests"]) == (1, 1)
    assert a["cost_usd"] > 0 and b["cost_usd"] > a["cost_usd"] and body["uncommitted_cost_usd"] > 0
    assert a["cost_usd"] + b["cost_usd"] + body["uncommitted_cost_usd"] == pytest.approx(body["session_cost_usd"])
    session = http.get("/api/sessions/s-git-work").json()["session"]
    assert body["session_cost_usd"] == pytest.approx(session["usage"]["cost_usd"])


def test_missing_repository_and_deleted_branch_are_recorded(
        git_server: tuple[ApiServer, Path, dict[str, str]]) -> None:
    server, _, shas = git_server
    http = server.client()
    last = _sync(http)  # every session
    assert last["sessions"] == 3 and last["error"] is None
    gone = _commits(http, "s-git-gone")
    assert (gone["status"], gone["commits"]) == ("no_repo", []) and "does not exist" in gone["detail"]
    deleted = _commits(http, "s-git-deleted")
    assert deleted["status"] == "linked" and "no longer exists" in deleted["detail"]
    assert [c["sha"] for c in deleted["commits"]] == [shas["main-day2"]]
    error(http.post("/api/git-sync", params={"session_id": "nope"}), 404, "NOT_FOUND")
    error(http.get("/api/sessions/nope/commits"), 404, "NOT_FOUND")


def test_cost_per_branch(git_server: tuple[ApiServer, Path, dict[str, str]]) -> None:
    server, repo, _ = git_server
    http = server.client()
    _sync(http)
    rows = http.get("/api/stats/branches").json()["branches"]
    login = next(r for r in rows if r["branch"] == BRANCH)
    work = _commits(http, "s-git-work")
    assert (login["project_path"], login["sessions"], login["commits"]) == (str(repo / "src"), 1, 2)
    assert login["usage"]["cost_usd"] == pytest.approx(work["session_cost_usd"])
    assert login["cost_per_commit_usd"] == pytest.approx(work["session_cost_usd"] / 2, abs=1e-6)
    # a range that ends before the second commit counts only the first one, and only that day's requests
    early = http.get("/api/stats/branches", params={"from": "2026-05-01T10:00:00Z", "to": "2026-05-01T10:30:00Z"})
    (row,) = [r for r in early.json()["branches"] if r["branch"] == BRANCH]
    assert (row["commits"], row["usage"]["requests"]) == (1, 1)
    error(http.get("/api/stats/branches", params={"from": "yesterday"}), 400, "VALIDATION_ERROR")


def test_git_absent_is_an_outcome(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no git on PATH
    outcome = find_commits(str(tmp_path), "main", ms("2026-05-01T10:00:00+00:00"), ms("2026-05-01T11:00:00+00:00"))
    assert outcome.status == "no_git" and outcome.commits == []
    assert find_commits(None, "main", 0, 1).status == "no_cwd"
