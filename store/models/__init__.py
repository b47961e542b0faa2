"""Peewee models of the archive: normalised, unpriced facts read from Claude Code transcripts.

Costs are never stored: they are computed at query time from token counts and a versioned price
table, so a price fix reaches all of history. Times are integer UTC epoch milliseconds.

One module per kind of table: ``archive`` (what the transcripts say), ``rollups`` (derived, kept by triggers),
``app`` (what the app records itself); ``base`` holds the database proxy. ``ALL_MODELS`` lists them all in the
order the tables are created.
"""

from __future__ import annotations

from store.models.app import (
    ApiKey,
    Budget,
    BudgetAlert,
    GitCommit,
    GitLink,
    HookEvent,
    Insight,
    QuotaSample,
    SessionNote,
    SessionTag,
)
from store.models.archive import (
    ApiRequest,
    Compaction,
    IngestRun,
    Message,
    Project,
    RawEntry,
    Session,
    SourceFile,
    Subagent,
    Summary,
    ToolCall,
)
from store.models.base import BaseModel, SchemaMeta
from store.models.rollups import (
    ActivityDay,
    ErrorCall,
    ErrorDay,
    ErrorPattern,
    ErrorPending,
    FileDay,
    FileTouch,
    KeySessions,
    PromptDay,
    PromptLine,
    PromptPending,
    SessionKeyDay,
    SessionStartDay,
    SessionUsage,
    ToolDay,
    UsageDay,
    UsageRollup,
    ZoneDay,
)

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
