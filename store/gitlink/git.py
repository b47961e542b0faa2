"""The ``git`` command line, read-only: the repository holding a directory, whether a branch exists, and the
commits made between two instants (with their numstat)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

GIT_TIMEOUT_S = 30
_RECORD, _FIELD, _END = "\x1e", "\x1f", "\x1d"
_FORMAT = f"{_RECORD}%H{_FIELD}%an{_FIELD}%ae{_FIELD}%ct{_FIELD}%at{_FIELD}%s{_FIELD}%b{_END}"


class GitUnavailable(RuntimeError):
    """The ``git`` program is not installed (or not on PATH)."""


class GitFailed(RuntimeError):
    """git ran and refused (not a repository, unknown revision, ...); the message is git's."""


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    author_name: str
    author_email: str
    committed_ms: int
    authored_ms: int
    subject: str
    body: str
    files_changed: int
    insertions: int
    deletions: int


def run_git(cwd: str, *args: str) -> str:
    """git's stdout, in ``cwd``, never prompting and independent of the user's pager or locale."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}
    try:
        done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, timeout=GIT_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        if not os.path.isdir(cwd):
            raise NotADirectoryError(cwd) from exc
        raise GitUnavailable("git is not installed or not on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitFailed(f"git {args[0]} took more than {GIT_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        raise GitFailed(done.stderr.decode(errors="replace").strip() or f"git {args[0]} failed")
    return done.stdout.decode(errors="replace")


def repo_root(directory: str) -> str:
    """The top of the work tree holding ``directory``; raises NotADirectoryError, GitUnavailable or GitFailed."""
    if not os.path.isdir(directory):
        raise NotADirectoryError(directory)
    return run_git(directory, "rev-parse", "--show-toplevel").strip()


def has_branch(root: str, branch: str) -> bool:
    try:
        run_git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
    except GitFailed:
        return False
    return True


def commits_between(root: str, branch: str | None, since_ms: int, until_ms: int) -> list[Commit]:
    """Commits reachable from ``branch`` (every ref when None) whose committer time is within [since, until]."""
    since_s, until_s = since_ms // 1000, -(-until_ms // 1000)
    out = run_git(root, "log", f"--since=@{since_s}", f"--until=@{until_s}", f"--format={_FORMAT}", "--numstat",
                  "--no-color", "--no-renames", f"refs/heads/{branch}" if branch else "--all", "--")
    commits = []
    for record in out.split(_RECORD)[1:]:
        header, _, stats = record.partition(_END)
        sha, name, email, committed, authored, subject, body = header.split(_FIELD, 6)
        committed_ms = int(committed) * 1000
        if not since_s * 1000 <= committed_ms <= until_s * 1000:
            continue  # --since stops at the first older commit only approximately; the window is exact here
        files = insertions = deletions = 0
        for line in stats.strip().splitlines():
            added, removed = [*line.split("\t", 2), "", ""][:2]
            files += 1
            insertions += int(added) if added.isdigit() else 0  # "-" for binary files
            deletions += int(removed) if removed.isdigit() else 0
        commits.append(Commit(sha, name, email, committed_ms, int(authored) * 1000, subject, body.strip(), files,
                              insertions, deletions))
    return commits
