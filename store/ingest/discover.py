"""Find transcript files under the log roots and classify them by layout era."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from store.paths import projects_dir


@dataclass(frozen=True, slots=True)
class FileContext:
    """What the path alone says about a file; lines may override it (``sessionId``, ``agentId``)."""

    path: str
    kind: str  # session | agent | meta | other
    project_dir: str | None
    session_hint: str | None  # file stem for main files, companion folder for subagent files
    agent_hint: str | None  # agent id from an ``agent-<id>.jsonl`` / ``.meta.json`` name
    is_workflow: bool = False


def classify(path: str, projects: str) -> FileContext | None:
    """Classify one file below ``projects/`` (plain string work: this runs for every file on every refresh)."""
    name = path.rsplit(os.sep, 1)[-1]
    if name.endswith(".meta.json"):
        kind = "meta"
        stem = name[: -len(".meta.json")]
    elif name.endswith(".jsonl"):
        kind = "other"
        stem = name[: -len(".jsonl")]
    else:
        return None
    prefix = projects.rstrip(os.sep) + os.sep
    parts = path[len(prefix):].split(os.sep) if path.startswith(prefix) else [name]
    folders = parts[:-1]
    project_dir = parts[0] if folders else None
    agent_hint = stem[len("agent-") :] if stem.startswith("agent-") else None
    session_hint: str | None = None
    is_workflow = "workflows" in folders
    if "subagents" in folders:
        idx = folders.index("subagents")
        session_hint = folders[idx - 1] if idx >= 1 else None
        if kind != "meta":
            kind = "agent" if agent_hint else "other"
    elif kind != "meta":
        if agent_hint:
            kind = "agent"  # 2.0.x sibling agent file
        elif len(parts) == 2:
            kind = "session"
            session_hint = stem
    if kind == "meta" and agent_hint is None:
        return None
    return FileContext(path, kind, project_dir, session_hint, agent_hint, is_workflow)


def iter_transcript_files(roots: list[Path]) -> Iterator[tuple[str, str, os.stat_result]]:
    """Walk each root's ``projects/`` recursively with ``os.scandir``: ``(path, projects dir, stat)``.

    Strings only, one stat per file and no classification: a refresh stats thousands of unchanged files and
    only classifies the new or changed ones (:func:`classify`).
    """
    seen: set[str] = set()
    several = len(roots) > 1  # one root's walk meets each path once; several may overlap
    for root in roots:
        projects = projects_dir(root)
        if not projects.is_dir():
            continue
        top = str(projects)
        stack = [top]
        while stack:
            folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                        continue
                    if not (entry.name.endswith(".jsonl") or entry.name.endswith(".meta.json")):
                        continue
                    if several:
                        if entry.path in seen:
                            continue
                        seen.add(entry.path)
                    yield entry.path, top, entry.stat(follow_symlinks=True)
                except OSError:
                    continue  # vanished between listing and stat: next run will see it or not


def iter_given_files(paths: list[str], roots: list[Path]) -> Iterator[tuple[str, str, os.stat_result]]:
    """Like :func:`iter_transcript_files`, for just ``paths`` (what a file watcher reported changed).

    Paths outside every root's ``projects/`` or of other file types are ignored; vanished ones are skipped.
    """
    tops = [str(projects_dir(root)).rstrip(os.sep) + os.sep for root in roots]
    for path in dict.fromkeys(paths):
        if not (path.endswith(".jsonl") or path.endswith(".meta.json")):
            continue
        top = next((t for t in tops if path.startswith(t)), None)
        if top is None:
            continue
        try:
            st = os.stat(path)
        except OSError:
            continue
        yield path, top.rstrip(os.sep), st
