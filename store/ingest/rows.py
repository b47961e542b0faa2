"""Row shapes shared by the parser (which builds them) and the SQL writer (which stores them)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

# Column order of every tuple kind; the writer's SQL uses the same order.
MESSAGE_COLUMNS = ("uuid", "parent_uuid", "session_id", "type", "subtype", "role", "ts_ms", "is_sidechain",
                   "is_meta", "agent_id", "request_key", "model", "text", "thinking", "source_file_id")
REQUEST_COLUMNS = ("request_key", "message_id", "request_id", "session_id", "agent_id", "uuid", "model", "ts_ms",
                   "input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h", "cache_read",
                   "web_search_requests", "web_fetch_requests", "speed", "service_tier", "inference_geo",
                   "is_sidechain", "is_compaction", "is_api_error", "recorded_cost_usd", "version")
TOOL_CALL_COLUMNS = ("tool_use_id", "session_id", "agent_id", "message_uuid", "request_key", "name", "mcp_server",
                     "skill", "file_path", "input_json", "call_ts_ms", "is_sidechain")
TOOL_RESULT_COLUMNS = ("tool_use_id", "session_id", "result_ts_ms", "status", "error_text", "result_text")
SUBAGENT_COLUMNS = ("agent_id", "session_id", "kind", "agent_type", "description", "parent_tool_use_id",
                    "first_ts_ms", "last_ts_ms", "file")
COMPACTION_COLUMNS = ("uuid", "session_id", "ts_ms", "kind", "trigger", "pre_tokens", "post_tokens", "duration_ms",
                      "logical_parent_uuid")
SUMMARY_COLUMNS = ("leaf_uuid", "summary", "project_dir")
RAW_COLUMNS = ("line_hash", "type", "session_id", "ts_ms", "json")

# Request tuple indexes used when merging split lines.
_R_TS, _R_IN, _R_OUT, _R_CW5, _R_CW1, _R_CR = 7, 8, 9, 10, 11, 12


@dataclass(slots=True)
class SessionFacts:
    """What one chunk learned about a session; merged in SQL with what the archive knows."""

    first_ts_ms: int | None = None
    last_ts_ms: int | None = None
    cwd: str | None = None
    cwd_ts_ms: int | None = None
    git_branch: str | None = None
    version: str | None = None
    slug: str | None = None
    custom_title: str | None = None
    ai_title: str | None = None
    first_prompt: str | None = None
    first_prompt_ts_ms: int | None = None
    project_dir: str | None = None


@dataclass(slots=True)
class ParsedChunk:
    """Rows parsed from the complete lines of one byte range of one file."""

    path: str
    start_offset: int
    end_offset: int
    lines: int = 0
    malformed: int = 0
    first_malformed: str | None = None
    messages: list[tuple] = field(default_factory=list)
    requests: dict[str, tuple] = field(default_factory=dict)
    tool_calls: dict[str, tuple] = field(default_factory=dict)
    tool_results: dict[str, tuple] = field(default_factory=dict)
    subagents: dict[str, tuple] = field(default_factory=dict)
    compactions: list[tuple] = field(default_factory=list)
    summaries: list[tuple] = field(default_factory=list)
    raw: list[tuple] = field(default_factory=list)
    sessions: dict[str, SessionFacts] = field(default_factory=dict)


def request_key_for(message_id: Any, request_id: Any, uuid: Any, line: bytes) -> str:
    """Dedup key: ``message.id:requestId``, else ``message.id``, else the line's uuid, else its hash."""
    if isinstance(message_id, str) and message_id:
        if isinstance(request_id, str) and request_id:
            return f"{message_id}:{request_id}"
        return message_id
    if isinstance(uuid, str) and uuid:
        return f"uuid:{uuid}"
    return "line:" + hashlib.blake2b(line, digest_size=16).hexdigest()


def merge_request_rows(old: tuple, new: tuple) -> tuple:
    """Keep the copy with the larger usage (output first, then total), timestamp included; ties keep the earlier.

    Taking the winning line's time is ccusage's rule too, so a response streamed across midnight lands on the
    same day in both tools.
    """
    def rank(r: tuple) -> tuple[int, int]:
        return r[_R_OUT], r[_R_IN] + r[_R_OUT] + r[_R_CW5] + r[_R_CW1] + r[_R_CR]

    new_rank, old_rank = rank(new), rank(old)
    if new_rank > old_rank or (new_rank == old_rank and new[_R_TS] < old[_R_TS]):
        return new
    return old
