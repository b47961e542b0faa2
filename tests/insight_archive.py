"""Crafted archives for the insight rules: a real archive (``open_archive``) filled row by row, so each test states
exactly the history a rule sees. Times are relative to ``NOW``, a fixed Monday noon (UTC)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

from store.db import open_archive
from store.insights.base import Context
from store.pricing import PriceTable

NOW = int(datetime(2026, 3, 16, 12, 0, tzinfo=UTC).timestamp() * 1000)  # a Monday
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
SONNET = "claude-sonnet-4-5-20250929"

_ids = itertools.count(1)


def _id(prefix: str) -> str:
    return f"{prefix}{next(_ids):06d}"


class Crafted:
    def __init__(self, tmp: Path) -> None:
        self.db = open_archive(tmp / "crafted.db")
        self.conn = self.db.connection()
        self.prices = PriceTable.bundled()

    def context(self, now_ms: int = NOW) -> Context:
        return Context(self.conn, now_ms, self.prices, UTC, 0)

    def session(self, cwd: str = "/work/shop", start_ms: int = NOW - DAY) -> str:
        sid = _id("sess-")
        self.conn.execute("INSERT INTO project (path) VALUES (?) ON CONFLICT (path) DO NOTHING", (cwd,))
        self.conn.execute("INSERT INTO session (session_id, cwd, project_id, first_ts_ms, last_ts_ms) VALUES "
                          "(?, ?, (SELECT id FROM project WHERE path = ?), ?, ?)", (sid, cwd, cwd, start_ms, start_ms))
        return sid

    def request(self, sid: str, ts_ms: int, model: str = SONNET, input_tokens: int = 10, output: int = 100,
                cw5: int = 0, cw1: int = 0, read: int = 0, agent_id: str | None = None) -> str:
        key = _id("req-")
        self.conn.execute(
            "INSERT INTO api_request (request_key, session_id, agent_id, model, ts_ms, input_tokens, output_tokens, "
            "cache_write_5m, cache_write_1h, cache_read, is_sidechain, web_search_requests, web_fetch_requests, "
            "is_compaction, is_api_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0)",
            (key, sid, agent_id, model, ts_ms, input_tokens, output, cw5, cw1, read, int(agent_id is not None)))
        return key

    def tool(self, sid: str, ts_ms: int, name: str = "Bash", status: str = "ok", agent_id: str | None = None) -> str:
        tid = _id("toolu_")
        self.conn.execute("INSERT INTO tool_call (tool_use_id, session_id, agent_id, name, call_ts_ms, status, "
                          "is_sidechain) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (tid, sid, agent_id, name, ts_ms, status, int(agent_id is not None)))
        return tid

    def subagent(self, sid: str, first_ts_ms: int, spawned_by: str | None = None, kind: str = "subagent") -> str:
        """An agent started by a Task call of ``spawned_by`` (another agent) or of the main thread."""
        agent = _id("agent-")
        task = self.tool(sid, first_ts_ms - 1_000, "Task", agent_id=spawned_by)
        self.conn.execute("INSERT INTO subagent (agent_id, session_id, kind, parent_tool_use_id, first_ts_ms, "
                          "last_ts_ms) VALUES (?, ?, ?, ?, ?, ?)", (agent, sid, kind, task, first_ts_ms, first_ts_ms))
        return agent

    def compaction(self, sid: str, ts_ms: int, kind: str = "compact") -> None:
        self.conn.execute("INSERT INTO compaction (uuid, session_id, ts_ms, kind) VALUES (?, ?, ?, ?)",
                          (_id("cmp-"), sid, ts_ms, kind))

    def close(self) -> None:
        self.db.close()
