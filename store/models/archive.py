"""Rows read from the transcripts: projects, sessions, messages, API requests, tool calls, subagents,
compactions, titles, unknown entries, and the bookkeeping of source files and ingest runs."""

from __future__ import annotations

from peewee import AutoField, BigIntegerField, BooleanField, IntegerField, TextField

from store.models.base import BaseModel


class Project(BaseModel):
    """A working directory Claude Code ran in, taken from the entries' ``cwd`` (never the folder name)."""

    id = AutoField()
    path = TextField(unique=True)


class Session(BaseModel):
    session_id = TextField(primary_key=True)
    project_id = IntegerField(null=True)  # indexed first in the (project_id, last_ts_ms, ...) index below
    project_dir = TextField(null=True, index=True)  # encoded folder name: an opaque key, never decoded
    cwd = TextField(null=True)
    cwd_ts_ms = BigIntegerField(null=True)  # time of the line the cwd came from (earliest wins)
    git_branch = TextField(null=True)
    version = TextField(null=True)
    slug = TextField(null=True)
    first_ts_ms = BigIntegerField(null=True, index=True)
    last_ts_ms = BigIntegerField(null=True, index=True)
    custom_title = TextField(null=True)
    ai_title = TextField(null=True)
    first_prompt = TextField(null=True)
    first_prompt_ts_ms = BigIntegerField(null=True)

    class Meta:
        # a project's sessions active in a range (counts, branches, ids) read from the index alone
        indexes = ((("project_id", "last_ts_ms", "first_ts_ms", "git_branch", "session_id"), False),)


class Message(BaseModel):
    """One transcript line with a ``uuid`` (user, assistant block, system, attachment)."""

    uuid = TextField(primary_key=True)
    parent_uuid = TextField(null=True)
    session_id = TextField()  # indexed first in the (session_id, ts_ms) index below
    type = TextField()
    subtype = TextField(null=True)
    role = TextField(null=True)
    ts_ms = BigIntegerField(null=True, index=True)  # newest-first pages across sessions (monitor API)
    is_sidechain = BooleanField(default=False)
    is_meta = BooleanField(default=False)
    agent_id = TextField(null=True)
    request_key = TextField(null=True)
    model = TextField(null=True)
    text = TextField(null=True)  # searchable text of the line
    thinking = TextField(null=True)
    source_file_id = IntegerField(null=True)

    class Meta:
        indexes = ((("session_id", "ts_ms"), False),)


class ApiRequest(BaseModel):
    """One deduplicated API response (``message.id`` + ``requestId``), with the largest usage seen."""

    request_key = TextField(primary_key=True)
    message_id = TextField(null=True, index=True)
    request_id = TextField(null=True)
    session_id = TextField(index=True)
    agent_id = TextField(null=True)
    uuid = TextField(null=True)
    model = TextField(null=True)
    ts_ms = BigIntegerField(index=True)
    input_tokens = BigIntegerField(default=0)
    output_tokens = BigIntegerField(default=0)
    cache_write_5m = BigIntegerField(default=0)
    cache_write_1h = BigIntegerField(default=0)
    cache_read = BigIntegerField(default=0)
    web_search_requests = IntegerField(default=0)
    web_fetch_requests = IntegerField(default=0)
    speed = TextField(null=True)
    service_tier = TextField(null=True)
    inference_geo = TextField(null=True)
    is_sidechain = BooleanField(default=False)
    is_compaction = BooleanField(default=False)
    is_api_error = BooleanField(default=False)
    recorded_cost_usd = TextField(null=True)  # legacy ``costUSD`` as written, for audits only
    version = TextField(null=True)


class ToolCall(BaseModel):
    """A ``tool_use`` block joined with its ``tool_result`` by ``tool_use_id``; either may arrive first."""

    tool_use_id = TextField(primary_key=True)
    session_id = TextField(index=True)
    agent_id = TextField(null=True)
    message_uuid = TextField(null=True)
    request_key = TextField(null=True)
    name = TextField(null=True, index=True)
    mcp_server = TextField(null=True)
    skill = TextField(null=True)
    file_path = TextField(null=True)
    input_json = TextField(null=True)
    call_ts_ms = BigIntegerField(null=True, index=True)
    result_ts_ms = BigIntegerField(null=True)
    duration_ms = BigIntegerField(null=True)
    status = TextField(default="pending")  # pending | ok | error | rejected | interrupted
    error_text = TextField(null=True)
    result_text = TextField(null=True)  # trimmed
    is_sidechain = BooleanField(default=False)


class Subagent(BaseModel):
    agent_id = TextField(primary_key=True)
    session_id = TextField(null=True, index=True)
    kind = TextField(default="subagent")  # subagent | compaction | warmup | workflow
    agent_type = TextField(null=True)
    description = TextField(null=True)
    parent_tool_use_id = TextField(null=True)
    first_ts_ms = BigIntegerField(null=True)
    last_ts_ms = BigIntegerField(null=True)
    files = TextField(null=True)  # JSON list of transcript / meta paths


class Compaction(BaseModel):
    uuid = TextField(primary_key=True)
    session_id = TextField(index=True)
    ts_ms = BigIntegerField(null=True)
    kind = TextField(default="compact")  # compact | microcompact
    trigger = TextField(null=True)
    pre_tokens = BigIntegerField(null=True)
    post_tokens = BigIntegerField(null=True)
    duration_ms = BigIntegerField(null=True)
    logical_parent_uuid = TextField(null=True)


class Summary(BaseModel):
    """Old-style ``summary`` titles; attached to a session through ``leaf_uuid`` at query time."""

    id = AutoField()
    leaf_uuid = TextField()  # indexed first in the unique (leaf_uuid, summary) index below
    summary = TextField()
    project_dir = TextField(null=True)

    class Meta:
        indexes = ((("leaf_uuid", "summary"), True),)


class RawEntry(BaseModel):
    """Entries we do not model (unknown or metadata types), kept verbatim so nothing is lost."""

    line_hash = TextField(primary_key=True)
    type = TextField(null=True, index=True)
    session_id = TextField(null=True)
    ts_ms = BigIntegerField(null=True)
    json = TextField()


class SourceFile(BaseModel):
    id = AutoField()
    path = TextField(unique=True)
    kind = TextField()  # session | agent | meta | other
    project_dir = TextField(null=True)
    device = BigIntegerField(null=True)
    inode = BigIntegerField(null=True)
    size = BigIntegerField(default=0)
    mtime_ns = BigIntegerField(default=0)
    committed_offset = BigIntegerField(default=0)
    head_hash = TextField(null=True)
    lines = BigIntegerField(default=0)
    malformed_lines = IntegerField(default=0)
    last_error = TextField(null=True)
    missing = BooleanField(default=False)
    rereads = IntegerField(default=0)


class IngestRun(BaseModel):
    id = AutoField()
    started_ms = BigIntegerField()
    finished_ms = BigIntegerField(null=True)
    status = TextField(default="running")  # running | ok | failed
    files_seen = IntegerField(default=0)
    files_changed = IntegerField(default=0)
    bytes_read = BigIntegerField(default=0)
    lines = BigIntegerField(default=0)
    malformed_lines = IntegerField(default=0)
    requests_added = IntegerField(default=0)
    messages_added = IntegerField(default=0)
    sessions_added = IntegerField(default=0)
    error = TextField(null=True)
