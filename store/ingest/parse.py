"""Turn transcript lines into row tuples for the archive.

Runs in worker processes, so it only builds plain tuples (shapes in ``store/ingest/rows.py``); all
deduplication that needs global knowledge happens in SQL when the rows are written. Within one chunk the
split lines of one API response are merged already, which cuts the rows written 2-4x.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

import orjson

from store.ingest.discover import FileContext
from store.ingest.rows import ParsedChunk, SessionFacts, merge_request_rows, request_key_for

RESULT_TEXT_LIMIT = 16_384
ERROR_TEXT_LIMIT = 2_048
INPUT_JSON_LIMIT = 65_536
FIRST_PROMPT_LIMIT = 500

_FILE_HISTORY_PREFIX = b'{"type":"file-history-snapshot"'
_TYPE_MARK = b'"type":"'
_AGENT_LINK_RE = re.compile(rb'"agentId":"([^"]+)"')
_PARENT_TOOL_RE = re.compile(rb'"parentToolUseID":"([^"]+)"')
_SESSION_RE = re.compile(rb'"sessionId":"([^"]+)"')
_FILE_TOOLS_PATH_KEYS = ("file_path", "notebook_path", "path")
_REJECTION_MARKERS = ("User rejected tool use", "doesn't want to proceed with this tool use")
_INTERRUPT_MARKER = "[Request interrupted by user"

_MAX_TS_MS = 253_402_300_800_000  # year 10000
_MAX_COUNT = 1 << 53  # no real token count comes near; larger numbers would overflow SQLite's integers


def parse_timestamp_ms(value: Any) -> int | None:
    """ISO-8601 (``Z`` or offset, any fraction) or epoch number to UTC epoch ms; ``None`` if unusable."""
    if isinstance(value, str) and value:
        try:
            dt = datetime.fromisoformat(value)
        except ValueError:
            return None
        if dt.tzinfo is None:
            return None
        return int(dt.timestamp() * 1000 + (0.5 if dt.timestamp() >= 0 else -0.5))
    if isinstance(value, int | float) and not isinstance(value, bool):
        ms = value if value > 1e11 else value * 1000
        return int(ms) if 0 <= ms < _MAX_TS_MS else None
    return None


def _text_of(content: Any) -> str | None:
    """Concatenated text blocks of a message content (string or block list)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
        joined = "\n".join(p for p in parts if isinstance(p, str) and p)
        return joined or None
    return None


def _tool_result_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            b.get("text", "") for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)
        )
    return ""


def _trim(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[:limit] + f"\n… [{len(text) - limit} more characters trimmed]"


def _is_human_prompt(content: Any) -> bool:
    text = _text_of(content)
    if not text:
        return False
    if isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content):
        return False
    stripped = text.lstrip()
    return not (stripped.startswith(("<command-", "<local-command", "<bash-", "<task-notification", "Caveat:"))
                or stripped.startswith(_INTERRUPT_MARKER))


class ChunkParser:
    """Parses the lines of one file chunk into a :class:`ParsedChunk`."""

    def __init__(self, ctx: FileContext, source_file_id: int, chunk: ParsedChunk) -> None:
        self.ctx = ctx
        self.source_file_id = source_file_id
        self.out = chunk
        self.file_is_subagent = ctx.kind == "agent"

    # -- entry points -------------------------------------------------------------------------
    def feed(self, line: bytes) -> None:
        out = self.out
        out.lines += 1
        if not line.strip():
            out.lines -= 1
            return
        if line.startswith(_FILE_HISTORY_PREFIX):
            return  # large and holds no usage: skipped without parsing
        first = line.find(_TYPE_MARK)
        if first != -1 and line.startswith(b"progress", first + 8):
            self._progress(line)
            return
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            self._malformed(line)
            return
        if not isinstance(entry, dict):
            self._malformed(line)
            return
        try:
            self._entry(entry, line)
        except (TypeError, ValueError, AttributeError, KeyError):
            self._malformed(line)

    def feed_meta(self, data: bytes) -> None:
        """A subagent ``.meta.json``: type, description and the spawning tool call."""
        try:
            meta = orjson.loads(data)
        except orjson.JSONDecodeError:
            self._malformed(data)
            return
        if not isinstance(meta, dict) or not self.ctx.agent_hint:
            self._malformed(data)
            return
        self.out.lines += 1
        agent_id = self.ctx.agent_hint
        self._subagent(agent_id, self.ctx.session_hint, None, meta.get("agentType"), meta.get("description"),
                       meta.get("toolUseId"))

    # -- helpers ------------------------------------------------------------------------------
    def _malformed(self, line: bytes) -> None:
        self.out.malformed += 1
        if self.out.first_malformed is None:
            self.out.first_malformed = line[:200].decode("utf-8", "replace")

    def _session(self, sid: str) -> SessionFacts:
        facts = self.out.sessions.get(sid)
        if facts is None:
            facts = self.out.sessions[sid] = SessionFacts(project_dir=self.ctx.project_dir)
        return facts

    def _agent_kind(self, agent_id: str) -> str:
        if agent_id.startswith("acompact"):
            return "compaction"
        if self.ctx.is_workflow:
            return "workflow"
        return "subagent"

    def _subagent(self, agent_id: str, session_id: str | None, ts: int | None, agent_type: Any = None,
                  description: Any = None, parent_tool: Any = None, kind: str | None = None) -> None:
        """Merge what this line says about an agent into the chunk's row (string fields: first known wins)."""
        old = self.out.subagents.get(agent_id) or (agent_id, None, self._agent_kind(agent_id), None, None, None,
                                                   None, None, None)
        times = [t for t in (ts, old[6], old[7]) if t is not None]

        def text(value: Any, previous: str | None) -> str | None:
            return value if isinstance(value, str) else previous

        self.out.subagents[agent_id] = (
            agent_id, session_id or old[1], kind or old[2], text(agent_type, old[3]), text(description, old[4]),
            text(parent_tool, old[5]), min(times, default=None), max(times, default=None),
            self.ctx.path if self.ctx.kind in ("agent", "meta") else old[8],
        )

    def _progress(self, line: bytes) -> None:
        """Progress lines are never parsed fully: their embedded usage must not count (format §8)."""
        if b'"agent_progress"' not in line:
            return
        agent = _AGENT_LINK_RE.search(line)
        parent = _PARENT_TOOL_RE.search(line)
        session = _SESSION_RE.search(line)
        if agent and parent:
            self._subagent(agent.group(1).decode(), session.group(1).decode() if session else None, None,
                           parent_tool=parent.group(1).decode())

    # -- entries ------------------------------------------------------------------------------
    def _entry(self, e: dict, line: bytes) -> None:
        etype = e.get("type")
        message = e.get("message")
        if etype is None and isinstance(message, dict) and message.get("role") == "assistant":
            etype = "assistant"  # usage-only lines (older exports, ccusage fixtures) carry no type
        if etype in ("user", "assistant", "system", "attachment"):
            self._conversation(e, etype, message, line)
        elif etype == "summary":
            leaf, summary = e.get("leafUuid"), e.get("summary")
            if isinstance(leaf, str) and isinstance(summary, str):
                self.out.summaries.append((leaf, summary, self.ctx.project_dir))
        elif etype == "custom-title" and isinstance(e.get("sessionId"), str):
            title = e.get("customTitle") or e.get("title")
            if isinstance(title, str):
                self._session(e["sessionId"]).custom_title = title
        elif etype == "ai-title" and isinstance(e.get("sessionId"), str):
            title = e.get("aiTitle") or e.get("title")
            if isinstance(title, str):
                self._session(e["sessionId"]).ai_title = title
        elif etype == "file-history-snapshot" or etype == "progress":
            return
        else:
            self._raw(e, line)

    def _raw(self, e: dict, line: bytes) -> None:
        digest = hashlib.blake2b(line.rstrip(b"\r\n"), digest_size=16).hexdigest()
        sid = e.get("sessionId") if isinstance(e.get("sessionId"), str) else None
        etype = e.get("type") if isinstance(e.get("type"), str) else None
        ts = parse_timestamp_ms(e.get("timestamp"))
        self.out.raw.append((digest, etype, sid, ts, line.decode("utf-8", "replace")))

    def _conversation(self, e: dict, etype: str, message: Any, line: bytes) -> None:
        ctx = self.ctx
        sid = e.get("sessionId")
        if not isinstance(sid, str) or not sid:
            sid = ctx.session_hint
        if not sid:
            self._raw(e, line)
            return
        ts = parse_timestamp_ms(e.get("timestamp"))
        uuid = e.get("uuid") if isinstance(e.get("uuid"), str) else None
        is_sidechain = bool(e.get("isSidechain")) or self.file_is_subagent
        agent_id = e.get("agentId") if isinstance(e.get("agentId"), str) else None
        if agent_id is None and self.file_is_subagent:
            agent_id = ctx.agent_hint
        facts = self._session(sid)
        if ts is not None:
            if facts.first_ts_ms is None or ts < facts.first_ts_ms:
                facts.first_ts_ms = ts
            if facts.last_ts_ms is None or ts >= facts.last_ts_ms:
                facts.last_ts_ms = ts
                if not is_sidechain:
                    branch, version = e.get("gitBranch"), e.get("version")
                    if isinstance(branch, str) and branch:
                        facts.git_branch = branch
                    if isinstance(version, str) and version:
                        facts.version = version
            cwd = e.get("cwd")
            if (isinstance(cwd, str) and cwd and not is_sidechain
                    and (facts.cwd_ts_ms is None or ts < facts.cwd_ts_ms)):
                facts.cwd, facts.cwd_ts_ms = cwd, ts
        if facts.cwd is None and isinstance(e.get("cwd"), str) and e["cwd"]:
            facts.cwd = e["cwd"]  # subagent-only or untimed data: a weak guess, replaced by main-thread cwd
            facts.cwd_ts_ms = None if ts is None else ts + 10**12
        if isinstance(e.get("slug"), str):
            facts.slug = e["slug"]
        if agent_id:
            self._subagent(agent_id, sid, ts)

        role = message.get("role") if isinstance(message, dict) else None
        text = thinking = request_key = model = None
        subtype = e.get("subtype") if isinstance(e.get("subtype"), str) else None
        if etype == "assistant" and isinstance(message, dict):
            request_key, model, text, thinking = self._assistant(e, message, sid, uuid, ts, is_sidechain,
                                                                 agent_id, line)
        elif etype == "user" and isinstance(message, dict):
            text = self._user(e, message, sid, uuid, ts, is_sidechain, agent_id, facts)
        elif etype == "system":
            content = e.get("content")
            text = content if isinstance(content, str) else None
            if subtype in ("compact_boundary", "microcompact_boundary") and uuid:
                self._compaction(e, subtype, sid, uuid, ts)
        elif etype == "attachment":
            att = e.get("attachment")
            if isinstance(att, dict) and isinstance(att.get("type"), str):
                subtype = att["type"]
        if uuid:
            self.out.messages.append((
                uuid, e.get("parentUuid") if isinstance(e.get("parentUuid"), str) else None, sid, etype, subtype,
                role, ts, is_sidechain, bool(e.get("isMeta")), agent_id, request_key, model, text, thinking,
                self.source_file_id,
            ))

    def _assistant(self, e: dict, message: dict, sid: str, uuid: str | None, ts: int | None,
                   is_sidechain: bool, agent_id: str | None, line: bytes) -> tuple:
        model = message.get("model") if isinstance(message.get("model"), str) else None
        request_key = request_key_for(message.get("id"), e.get("requestId"), uuid, line)
        texts: list[str] = []
        thinking: list[str] = []
        content = message.get("content")
        if isinstance(content, list):
            for block in content:
                if not isinstance(block, dict):
                    continue
                btype = block.get("type")
                if btype == "text" and isinstance(block.get("text"), str):
                    texts.append(block["text"])
                elif btype == "thinking" and isinstance(block.get("thinking"), str) and block["thinking"]:
                    thinking.append(block["thinking"])
                elif btype == "tool_use" and isinstance(block.get("id"), str):
                    self._tool_use(block, sid, agent_id, uuid, request_key, ts, is_sidechain)
        elif isinstance(content, str):
            texts.append(content)
        usage = message.get("usage")
        if isinstance(usage, dict) and ts is not None:
            self._request(e, message, usage, request_key, model, sid, uuid, ts, is_sidechain, agent_id)
        return request_key, model, "\n".join(texts) or None, "\n".join(thinking) or None

    def _request(self, e: dict, message: dict, usage: dict, key: str, model: str | None, sid: str,
                 uuid: str | None, ts: int, is_sidechain: bool, agent_id: str | None) -> None:
        def num(v: Any) -> int:
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                return 0
            if v >= _MAX_COUNT:
                raise ValueError(f"implausible token count {v}")  # the line is counted as malformed
            return v

        cache_total = num(usage.get("cache_creation_input_tokens"))
        split = usage.get("cache_creation")
        if isinstance(split, dict):
            cw5, cw1 = num(split.get("ephemeral_5m_input_tokens")), num(split.get("ephemeral_1h_input_tokens"))
            if cw5 + cw1 != cache_total:  # keep the reported total; unsplit remainder counts as 5m writes
                cw5 = max(cache_total - cw1, 0)
        else:
            cw5, cw1 = cache_total, 0
        server = usage.get("server_tool_use")
        web_search = num(server.get("web_search_requests")) if isinstance(server, dict) else 0
        web_fetch = num(server.get("web_fetch_requests")) if isinstance(server, dict) else 0
        cost = e.get("costUSD")
        row = (
            key, message.get("id") if isinstance(message.get("id"), str) else None,
            e.get("requestId") if isinstance(e.get("requestId"), str) else None, sid, agent_id, uuid, model, ts,
            num(usage.get("input_tokens")), num(usage.get("output_tokens")), cw5, cw1,
            num(usage.get("cache_read_input_tokens")), web_search, web_fetch,
            usage.get("speed") if isinstance(usage.get("speed"), str) else None,
            usage.get("service_tier") if isinstance(usage.get("service_tier"), str) else None,
            usage.get("inference_geo") if isinstance(usage.get("inference_geo"), str) else None,
            is_sidechain, bool(agent_id and agent_id.startswith("acompact")), bool(e.get("isApiErrorMessage")),
            str(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None,
            e.get("version") if isinstance(e.get("version"), str) else None,
        )
        old = self.out.requests.get(key)
        if old is None:
            self.out.requests[key] = row
        else:
            self.out.requests[key] = merge_request_rows(old, row)

    def _tool_use(self, block: dict, sid: str, agent_id: str | None, uuid: str | None, request_key: str,
                  ts: int | None, is_sidechain: bool) -> None:
        name = block.get("name") if isinstance(block.get("name"), str) else None
        tool_input = block.get("input") if isinstance(block.get("input"), dict) else {}
        mcp_server = None
        if name and name.startswith("mcp__"):
            parts = name.split("__")
            mcp_server = parts[1] if len(parts) > 2 else None
        skill = None
        if name == "Skill":
            skill = tool_input.get("skill") or tool_input.get("command")
            skill = skill if isinstance(skill, str) else None
        file_path = None
        for key in _FILE_TOOLS_PATH_KEYS:
            value = tool_input.get(key)
            if isinstance(value, str) and value:
                file_path = value
                break
        input_json = _trim(orjson.dumps(tool_input).decode(), INPUT_JSON_LIMIT)
        self.out.tool_calls[block["id"]] = (block["id"], sid, agent_id, uuid, request_key, name, mcp_server, skill,
                                            file_path, input_json, ts, is_sidechain)

    def _user(self, e: dict, message: dict, sid: str, uuid: str | None, ts: int | None, is_sidechain: bool,
              agent_id: str | None, facts: SessionFacts) -> str | None:
        content = message.get("content")
        if isinstance(content, list):
            tool_use_result = e.get("toolUseResult")
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result" and isinstance(
                        block.get("tool_use_id"), str):
                    self._tool_result(block, tool_use_result, sid, ts, agent_id)
        text = _text_of(content)
        if (text and not is_sidechain and not e.get("isMeta") and not e.get("isCompactSummary")
                and _is_human_prompt(content) and ts is not None
                and (facts.first_prompt_ts_ms is None or ts < facts.first_prompt_ts_ms)):
            facts.first_prompt = text.strip()[:FIRST_PROMPT_LIMIT]
            facts.first_prompt_ts_ms = ts
        if agent_id and text and text.strip() == "Warmup":
            self._subagent(agent_id, sid, ts, kind="warmup")
        return text

    def _tool_result(self, block: dict, tool_use_result: Any, sid: str, ts: int | None,
                     agent_id: str | None) -> None:
        tool_use_id = block["tool_use_id"]
        text = _tool_result_text(block.get("content"))
        is_error = bool(block.get("is_error"))
        if isinstance(tool_use_result, str) and tool_use_result.startswith("Error:"):
            is_error = True
        status = "ok"
        if any(marker in text for marker in _REJECTION_MARKERS):
            status = "rejected"
        elif text.startswith(_INTERRUPT_MARKER) or (
                isinstance(tool_use_result, dict) and tool_use_result.get("interrupted") is True):
            status = "interrupted"
        elif is_error:
            status = "error"
        error_text = None
        if status != "ok":
            error_text = _trim(text.replace("<tool_use_error>", "").replace("</tool_use_error>", "").strip(),
                               ERROR_TEXT_LIMIT)
        self.out.tool_results[tool_use_id] = (tool_use_id, sid, ts, status, error_text, _trim(text, RESULT_TEXT_LIMIT))
        if isinstance(tool_use_result, dict) and isinstance(tool_use_result.get("agentId"), str):
            self._subagent(tool_use_result["agentId"], sid, None, tool_use_result.get("agentType"),
                           tool_use_result.get("description"), tool_use_id)

    def _compaction(self, e: dict, subtype: str, sid: str, uuid: str, ts: int | None) -> None:
        meta = e.get("compactMetadata") if subtype == "compact_boundary" else e.get("microcompactMetadata")
        meta = meta if isinstance(meta, dict) else {}

        def opt_int(v: Any) -> int | None:
            return v if isinstance(v, int) and not isinstance(v, bool) and abs(v) < _MAX_COUNT else None

        post = opt_int(meta.get("postTokens"))
        if post is None and subtype == "microcompact_boundary":
            pre, saved = opt_int(meta.get("preTokens")), opt_int(meta.get("tokensSaved"))
            post = pre - saved if pre is not None and saved is not None else None
        self.out.compactions.append((
            uuid, sid, ts, "compact" if subtype == "compact_boundary" else "microcompact",
            meta.get("trigger") if isinstance(meta.get("trigger"), str) else None,
            opt_int(meta.get("preTokens")), post, opt_int(meta.get("durationMs")),
            e.get("logicalParentUuid") if isinstance(e.get("logicalParentUuid"), str) else None,
        ))
