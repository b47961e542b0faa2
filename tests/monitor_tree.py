"""Hand-written Claude Code transcripts for the monitor tests, and an archive of all real sample trees.

``Transcript`` writes lines the way Claude Code does (one JSON object per line, camelCase envelope, usage on
assistant lines, tool results as user lines), so the tests go through the real ingest.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from peewee import Database

from store.db import open_archive
from store.ingest.runner import run_ingest
from tests.samples import TREES, build_tree

VERSION = "2.1.39"


def ms(ts: str) -> int:
    return int(datetime.fromisoformat(ts).timestamp() * 1000)


class Transcript:
    """Lines of one transcript file; timestamps advance by one second unless given."""

    def __init__(self, session: str, cwd: str, start: str, *, agent: str | None = None, branch: str = "main"):
        self.session, self.cwd, self.agent, self.branch = session, cwd, agent, branch
        self.now = datetime.fromisoformat(start.replace("Z", "+00:00"))
        self.lines: list[dict[str, Any]] = []
        self.last_uuid: str | None = None
        self._n = 0

    def _envelope(self, kind: str, at: str | None) -> dict[str, Any]:
        self.now = datetime.fromisoformat(at.replace("Z", "+00:00")) if at else self.now + timedelta(seconds=1)
        self._n += 1
        uuid = f"{self.agent or self.session}-{self._n:04d}"
        entry = {"type": kind, "uuid": uuid, "parentUuid": self.last_uuid, "sessionId": self.session,
                 "timestamp": self.now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                 "cwd": self.cwd, "version": VERSION, "gitBranch": self.branch, "userType": "external",
                 "isSidechain": self.agent is not None}
        if self.agent:
            entry["agentId"] = self.agent
        self.last_uuid = uuid
        return entry

    def prompt(self, text: str, at: str | None = None, **extra: Any) -> str:
        entry = self._envelope("user", at) | {"message": {"role": "user", "content": text}} | extra
        self.lines.append(entry)
        return entry["uuid"]

    def reply(self, *, model: str = "claude-opus-4-6", inp: int = 100, out: int = 10, cw5: int = 0, cw1: int = 0,
              cr: int = 0, text: str | None = "ok", tools: list[tuple[str, dict]] = (), speed: str | None = None,
              at: str | None = None) -> list[str]:
        """One API response (text and tool_use blocks in one line); returns the tool_use ids."""
        entry = self._envelope("assistant", at)
        content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
        ids = []
        for i, (name, tool_input) in enumerate(tools):
            tid = f"toolu_{entry['uuid']}_{i}"
            ids.append(tid)
            content.append({"type": "tool_use", "id": tid, "name": name, "input": tool_input})
        usage: dict[str, Any] = {"input_tokens": inp, "output_tokens": out, "cache_creation_input_tokens": cw5 + cw1,
                                 "cache_read_input_tokens": cr,
                                 "cache_creation": {"ephemeral_5m_input_tokens": cw5, "ephemeral_1h_input_tokens": cw1}}
        if speed:
            usage["speed"] = speed
        entry["requestId"] = f"req_{entry['uuid']}"
        entry["message"] = {"id": f"msg_{entry['uuid']}", "type": "message", "role": "assistant", "model": model,
                            "content": content, "usage": usage}
        self.lines.append(entry)
        return ids

    def result(self, tool_id: str, text: str = "done", *, error: bool = False, at: str | None = None) -> None:
        entry = self._envelope("user", at)
        entry["message"] = {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": tool_id, "content": text, "is_error": error}]}
        entry["toolUseResult"] = f"Error: {text}" if error else {"stdout": text}
        self.lines.append(entry)

    def compact(self, at: str | None = None, pre_tokens: int = 150_000) -> None:
        entry = self._envelope("system", at) | {
            "subtype": "compact_boundary", "content": "Conversation compacted", "parentUuid": None,
            "compactMetadata": {"trigger": "auto", "preTokens": pre_tokens}}
        self.lines.append(entry)

    def write(self, root: Path, rel: str) -> Path:
        path = root / "projects" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in self.lines))
        return path


def ingest(root: Path, db_path: Path) -> Database:
    db = open_archive(db_path)
    run_ingest(db, [root], parallel=False)
    return db


def sample_archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """An archive of every real sample tree side by side (use it in a module-scoped fixture)."""
    tmp = tmp_path_factory.mktemp("monitor-samples")
    root = tmp / "claude"
    for name in TREES:
        build_tree(name, root)
    db = ingest(root, tmp / "a.db")
    yield db
    db.close()
