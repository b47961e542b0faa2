"""Peewee models of the archive: normalised, unpriced facts read from Claude Code transcripts.

Costs are never stored: they are computed at query time from token counts and a versioned price
table, so a price fix reaches all of history. Times are integer UTC epoch milliseconds.
"""

from __future__ import annotations

from peewee import (
    AutoField,
    BigIntegerField,
    BooleanField,
    CompositeKey,
    DatabaseProxy,
    FloatField,
    IntegerField,
    Model,
    TextField,
)

database = DatabaseProxy()


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class SchemaMeta(BaseModel):
    """Key/value bookkeeping: schema version, local API key id and similar."""

    key = TextField(primary_key=True)
    value = TextField()


class Project(BaseModel):
    """A working directory Claude Code ran in, taken from the entries' ``cwd`` (never the folder name)."""

    id = AutoField()
    path = TextField(unique=True)


class Session(BaseModel):
    session_id = TextField(primary_key=True)
    project_id = IntegerField(null=True, index=True)
    project_dir = TextField(null=True)  # encoded folder name: an opaque key, never decoded
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


class Message(BaseModel):
    """One transcript line with a ``uuid`` (user, assistant block, system, attachment)."""

    uuid = TextField(primary_key=True)
    parent_uuid = TextField(null=True)
    session_id = TextField(index=True)
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


class UsageRollup(BaseModel):
    """Token sums per 15-minute UTC slot, project and pricing group, kept exact by triggers on every change to
    ``api_request`` (and to a session's project), so reports never scan individual requests.

    Slots map exactly to local days in any time zone (see ``store/timezones.py``). Empty ``speed``/``geo``
    stand for none (keys cannot be NULL); project 0 = not known yet.
    """

    slot = BigIntegerField()
    project_id = IntegerField()
    model = TextField()
    speed = TextField()
    geo = TextField()
    long_context = BooleanField()
    input_tokens = BigIntegerField(default=0)
    output_tokens = BigIntegerField(default=0)
    cache_write_5m = BigIntegerField(default=0)
    cache_write_1h = BigIntegerField(default=0)
    cache_read = BigIntegerField(default=0)
    web_search_requests = BigIntegerField(default=0)
    requests = BigIntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("slot", "project_id", "model", "speed", "geo", "long_context")
        without_rowid = True


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
    leaf_uuid = TextField(index=True)
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


class HookEvent(BaseModel):
    """A Claude Code hook payload as received (HTTP hook or the ``devhelion hook`` relay), kept verbatim in ``raw``.

    ``event_name`` is Claude Code's ``hook_event_name``, whatever it is: new events need no schema change.
    """

    id = AutoField()
    received_ms = BigIntegerField(index=True)
    session_id = TextField(null=True, index=True)
    event_name = TextField(index=True)
    tool_name = TextField(null=True)
    cwd = TextField(null=True)
    transcript_path = TextField(null=True)
    raw = TextField()  # the payload as JSON text


class QuotaSample(BaseModel):
    """Plan quota seen by the statusline relay: one rate-limit window (``five_hour`` | ``seven_day``) at one time.

    The statusline JSON is the only credential-free source of the real quota, so every change is kept as history.
    """

    id = AutoField()
    ts_ms = BigIntegerField()
    session_id = TextField(null=True)
    window = TextField()
    used_percentage = FloatField(null=True)
    resets_at_ms = BigIntegerField(null=True)
    total_cost_usd = TextField(null=True)  # the session's cost as Claude Code reported it, as written
    model = TextField(null=True)

    class Meta:
        indexes = ((("window", "ts_ms"), False),)


ALL_MODELS: tuple[type[BaseModel], ...] = (
    SchemaMeta,
    Project,
    Session,
    Message,
    ApiRequest,
    UsageRollup,
    ToolCall,
    Subagent,
    Compaction,
    Summary,
    RawEntry,
    SourceFile,
    IngestRun,
    HookEvent,
    QuotaSample,
)
