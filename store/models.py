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


class ZoneDay(BaseModel):
    """The local midnights of the rollup zone (see ``store/sqlite/day_rollups.py``): a timestamp's local day is the
    ``day`` of the last row starting at or before it. Rebuilt, with the day rollups, when the zone changes."""

    start_ms = BigIntegerField(primary_key=True)
    day = IntegerField(index=True)


class UsageDay(BaseModel):
    """``usage_rollup`` summed per local day of the rollup zone; project -1 holds every project.

    Like the other day rollups, the day comes last in the key: sums over any range of days then group in key
    order, without the sort that costs SQLite several times the read.
    """

    project_id = IntegerField()
    day = IntegerField()
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
        primary_key = CompositeKey("project_id", "model", "speed", "geo", "long_context", "day")
        without_rowid = True


class SessionUsage(BaseModel):
    """Request token sums per session, local day and pricing group (for top sessions and per-model sessions).

    Keyed by the session's project first, so a project's sessions are one range of the table: ranking the
    sessions of a project by cost reads just them, without a lookup per session."""

    project_id = IntegerField()
    session_id = TextField()
    day = IntegerField()
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
        primary_key = CompositeKey("project_id", "session_id", "model", "speed", "geo", "long_context", "day")
        without_rowid = True
        indexes = ((("session_id", "day"), False),)


class ActivityDay(BaseModel):
    """Transcript lines and API errors per project (-1: all) and local day (tool calls are in ``tool_day``)."""

    project_id = IntegerField()
    day = IntegerField()
    messages = BigIntegerField(default=0)
    api_errors = BigIntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("project_id", "day")
        without_rowid = True


class ToolDay(BaseModel):
    """Tool calls by outcome, with summed durations, per project (-1: all), local day, tool, MCP server and skill
    (NULL names are stored as the blob x'00')."""

    project_id = IntegerField()
    day = IntegerField()
    name = TextField()
    mcp_server = TextField()
    skill = TextField()
    calls = BigIntegerField(default=0)
    ok = BigIntegerField(default=0)
    errors = BigIntegerField(default=0)
    rejected = BigIntegerField(default=0)
    interrupted = BigIntegerField(default=0)
    pending = BigIntegerField(default=0)
    duration_sum = BigIntegerField(default=0)
    durations = BigIntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("project_id", "name", "mcp_server", "skill", "day")
        without_rowid = True


class SessionStartDay(BaseModel):
    """Sessions per local day they started on, with the sum and count of their known durations."""

    day = IntegerField(primary_key=True)
    sessions = BigIntegerField(default=0)
    duration_sum = BigIntegerField(default=0)
    durations = BigIntegerField(default=0)


class SessionKeyDay(BaseModel):
    """Which session had which key (``kind``: requests, model, tool, skill, MCP server) on which local day."""

    session_id = TextField()
    kind = IntegerField()
    key = TextField()
    key2 = TextField()
    day = IntegerField()
    n = BigIntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("session_id", "kind", "key", "key2", "day")
        without_rowid = True


class KeySessions(BaseModel):
    """Sessions present per project (-1: all), key and local day, by the previous day each was present: counts
    distinct sessions over any range of days (see ``store/sqlite/key_sessions.py``)."""

    project_id = IntegerField()
    kind = IntegerField()
    day = IntegerField()
    key = TextField()
    key2 = TextField()
    prev = IntegerField()
    sessions = BigIntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("project_id", "kind", "key", "key2", "day", "prev")
        without_rowid = True


class FileTouch(BaseModel):
    """Read/write/edit calls per project, file and tool over all time, with failures and the last call."""

    project_id = IntegerField()
    file_path = TextField()
    name = TextField()
    calls = BigIntegerField(default=0)
    errors = BigIntegerField(default=0)
    last_ms = BigIntegerField(null=True)

    class Meta:
        primary_key = CompositeKey("project_id", "file_path", "name")
        without_rowid = True


class FileDay(BaseModel):
    """Read/write/edit calls per project, local day, file and tool, with failures and the last call (the
    heatmap of a date range)."""

    project_id = IntegerField()
    day = IntegerField()
    file_path = TextField()
    name = TextField()
    calls = BigIntegerField(default=0)
    errors = BigIntegerField(default=0)
    last_ms = BigIntegerField(null=True)

    class Meta:
        primary_key = CompositeKey("project_id", "day", "file_path", "name")
        without_rowid = True


class ErrorPattern(BaseModel):
    """A normalised error signature (see ``store/monitor/errors.py``) under which similar tool errors group."""

    id = AutoField()
    signature = TextField(unique=True)


class ErrorCall(BaseModel):
    """An errored tool call filed under its pattern, with the call's session, time and tool as they were filed
    (the error rollups are kept from this table; a changed call is filed again)."""

    tool_use_id = TextField(primary_key=True)
    pattern_id = IntegerField()
    session_id = TextField(index=True)
    call_ts_ms = BigIntegerField(null=True)
    name = TextField(null=True)


class ErrorPending(BaseModel):
    """Errored calls waiting to be filed under a pattern (filled by triggers, emptied by the next query)."""

    tool_use_id = TextField(primary_key=True)


class ErrorDay(BaseModel):
    """Tool errors per project (-1: all), local day, pattern and tool (NULL names as the blob x'00')."""

    project_id = IntegerField()
    day = IntegerField()
    pattern_id = IntegerField()
    name = TextField()
    errors = BigIntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("project_id", "pattern_id", "name", "day")
        without_rowid = True


class PromptLine(BaseModel):
    """A user line that may be a prompt, with its category over its whole turn (NULL: not a prompt); computed in
    ``store/monitor/prompt_filing.py``, recomputed when its turn changes."""

    uuid = TextField(primary_key=True)
    session_id = TextField()
    ts_ms = BigIntegerField(index=True)
    category = TextField(null=True)

    class Meta:
        indexes = ((("session_id", "ts_ms"), False),)


class PromptPending(BaseModel):
    """User lines whose prompt category must be (re)computed (filled by triggers, emptied by the next query)."""

    uuid = TextField(primary_key=True)


class PromptDay(BaseModel):
    """Prompts per project (-1: all), local day and category."""

    project_id = IntegerField()
    day = IntegerField()
    category = TextField()
    prompts = BigIntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("project_id", "day", "category")
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


class ApiKey(BaseModel):
    """A key of the data API: only its SHA-256 is stored (the full key is shown once, at creation).

    ``sk_live_`` keys (mode ``live``) read the archive, ``sk_test_`` keys (mode ``test``) the built-in demo
    archive. The local key (``$DEVHELION_HOME/api-key``) is a live key with ``is_local`` set and no expiry.
    """

    id = AutoField()
    public_id = TextField(unique=True)  # key_<hex>: a stable handle that is not the secret
    name = TextField()
    mode = TextField()  # live | test
    key_hash = TextField(unique=True)  # sha256 hex of the full key
    prefix = TextField()  # the key's first characters, for lists and `keys revoke PREFIX`
    created_ms = BigIntegerField()
    expires_ms = BigIntegerField(null=True)  # None: never (the local key)
    last_used_ms = BigIntegerField(null=True)
    revoked_ms = BigIntegerField(null=True)
    is_local = BooleanField(default=False)


class Insight(BaseModel):
    """A finding of the local insights engine; its id is derived from (rule, subject, period), so each rule
    creates at most one insight per subject and period, whatever the number of runs."""

    id = TextField(primary_key=True)  # ins_<hex>
    rule = TextField()
    subject = TextField()
    period = TextField()
    title = TextField()
    description = TextField()
    value = TextField()
    type = TextField()  # trend | anomaly | tip
    category = TextField()  # cost | performance | quality | usage
    created_ms = BigIntegerField(index=True)
    read_ms = BigIntegerField(null=True)
    data = TextField(null=True)  # the numbers behind the text, as JSON


class Budget(BaseModel):
    """A spending limit over a local day, week or month, optionally scoped to a project and a model.

    ``amount`` is a decimal string (money stays exact); ``warning_threshold`` is the fraction of it that warns.
    """

    id = AutoField()
    name = TextField()
    amount = TextField()
    period = TextField()  # daily | weekly | monthly
    warning_threshold = FloatField(default=0.8)
    project = TextField(null=True)  # full path or last path component, as the reports' --project
    model = TextField(null=True)  # model id, or a part of it ("opus")
    warn_on_forecast = BooleanField(default=False)
    muted = BooleanField(default=False)
    created_ms = BigIntegerField()
    updated_ms = BigIntegerField()


class BudgetAlert(BaseModel):
    """One level (forecast | warning | exceeded) a budget reached in one period, and what its notification did.

    Kept in the archive so a restart never notifies twice; ``outcome`` says whether the notification was sent,
    deferred (quiet hours, no notification service yet) or deliberately not sent (muted, disabled, superseded).
    """

    id = AutoField()
    budget_id = IntegerField()
    period_key = TextField()  # "<period>:<first local date>"
    level = TextField()
    first_ms = BigIntegerField()
    notified_ms = BigIntegerField(null=True)
    outcome = TextField(default="pending")
    attempts = IntegerField(default=0)

    class Meta:
        indexes = ((("budget_id", "period_key", "level"), True),)


class SessionNote(BaseModel):
    """The user's own note on a session. Ingest, sync reset and retention never touch it (nor ``SessionTag``):
    it is kept even while its session is absent, and shows again when the session is re-read."""

    session_id = TextField(primary_key=True)
    notes = TextField()
    updated_ms = BigIntegerField()


class SessionTag(BaseModel):
    """A tag the user put on a session (lower case, trimmed); the user's own data like ``SessionNote``."""

    session_id = TextField()
    tag = TextField(index=True)
    created_ms = BigIntegerField()

    class Meta:
        primary_key = CompositeKey("session_id", "tag")


class GitLink(BaseModel):
    """Outcome of the last git look-up for a session: ``linked``, ``no_cwd``, ``no_repo``, ``no_git`` or ``error``
    (an absent repository or git is a recorded outcome, not a failure)."""

    session_id = TextField(primary_key=True)
    status = TextField()
    repo_root = TextField(null=True)
    branch = TextField(null=True)  # the branch searched; None: every ref (unknown or detached branch)
    detail = TextField(null=True)
    synced_ms = BigIntegerField()


class GitCommit(BaseModel):
    """A commit made in a session's repository during the session, on its branch (found by ``git log``)."""

    session_id = TextField()
    sha = TextField()
    repo_root = TextField()
    author_name = TextField(null=True)
    author_email = TextField(null=True)
    committed_ms = BigIntegerField()  # committer date: when the commit was made in this repository
    authored_ms = BigIntegerField(null=True)
    subject = TextField()
    body = TextField(null=True)
    files_changed = IntegerField(default=0)
    insertions = IntegerField(default=0)
    deletions = IntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("session_id", "sha")


ALL_MODELS: tuple[type[BaseModel], ...] = (
    SchemaMeta,
    Project,
    Session,
    Message,
    ApiRequest,
    UsageRollup,
    ZoneDay,
    UsageDay,
    SessionUsage,
    ActivityDay,
    ToolDay,
    SessionStartDay,
    SessionKeyDay,
    KeySessions,
    FileTouch,
    FileDay,
    ErrorPattern,
    ErrorCall,
    ErrorPending,
    ErrorDay,
    PromptLine,
    PromptPending,
    PromptDay,
    ToolCall,
    Subagent,
    Compaction,
    Summary,
    RawEntry,
    SourceFile,
    IngestRun,
    HookEvent,
    QuotaSample,
    ApiKey,
    Insight,
    Budget,
    BudgetAlert,
    SessionNote,
    SessionTag,
    GitLink,
    GitCommit,
)
