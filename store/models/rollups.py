"""Derived tables kept by triggers (``store/sqlite``): usage per 15-minute slot and per local day, sessions per
key and day, tool and file activity, and the error and prompt filings they are grouped by."""

from __future__ import annotations

from peewee import AutoField, BigIntegerField, BooleanField, CompositeKey, IntegerField, TextField

from store.models.base import BaseModel


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
