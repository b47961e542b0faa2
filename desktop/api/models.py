"""Response shapes of the analytics API, for the OpenAPI document (and a check that routes keep the contract).

Field names are the seed contract's; fields it did not have are additions, never renames. Times are UTC
ISO-8601 with milliseconds, durations in seconds unless named otherwise, money in US dollars.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    success: bool = True
    data: T


class ErrorDetail(BaseModel):
    message: str
    code: str = Field(description="VALIDATION_ERROR, NOT_FOUND, SYNC_IN_PROGRESS, DATABASE_ERROR, INTERNAL_ERROR, "
                                  "UNAUTHORIZED, INVALID_HOST, FORBIDDEN_ORIGIN, ...")
    details: Any = None


class ErrorEnvelope(BaseModel):
    success: bool = False
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorEnvelope, "description": "VALIDATION_ERROR (or INVALID_HOST)"},
    401: {"model": ErrorEnvelope, "description": "UNAUTHORIZED: missing or wrong API key"},
    500: {"model": ErrorEnvelope, "description": "DATABASE_ERROR or INTERNAL_ERROR"},
}


class ModelShare(BaseModel):
    model: str
    count: int = Field(description="API requests")
    percentage: float


class DateRange(BaseModel):
    from_: str | None = Field(alias="from")
    to: str | None


class Overview(BaseModel):
    totalSessions: int
    totalCost: float
    totalTokens: int = Field(description="input + output + cache creation + cache read, like `devhelion report`")
    inputTokens: int
    outputTokens: int
    cacheCreationTokens: int
    cacheReadTokens: int
    totalRequests: int
    avgSessionDuration: float
    topModels: list[ModelShare]
    unpricedModels: list[str] = Field(description="Models without a price: their tokens count, their cost is not "
                                                  "in totalCost")
    dateRange: DateRange


class SessionSummary(BaseModel):
    id: str
    projectPath: str | None
    projectDir: str | None
    title: str | None
    gitBranch: str | None
    startTime: str | None
    endTime: str | None
    duration: float
    inputTokens: int
    outputTokens: int
    cacheCreationTokens: int
    cacheReadTokens: int
    totalTokens: int
    requests: int
    cost: float
    model: str | None
    models: list[str]
    unpricedModels: list[str]


class Pagination(BaseModel):
    total: int
    limit: int
    offset: int
    hasMore: bool


class SessionList(BaseModel):
    sessions: list[SessionSummary]
    pagination: Pagination


class MessageOut(BaseModel):
    id: str
    sessionId: str
    timestamp: str | None
    role: str
    type: str
    content: str
    model: str | None
    inputTokens: int
    outputTokens: int
    cacheCreationTokens: int
    cacheReadTokens: int
    isSidechain: bool
    agentId: str | None


class SessionDetail(BaseModel):
    session: SessionSummary
    messages: list[MessageOut]


class DailyUsage(BaseModel):
    date: str
    sessions: int
    inputTokens: int
    outputTokens: int
    cacheCreationTokens: int
    cacheReadTokens: int
    totalTokens: int
    requests: int
    cost: float
    avgDuration: float


class ModelUsage(BaseModel):
    model: str
    count: int
    percentage: float
    totalCost: float
    totalTokens: int
    inputTokens: int
    outputTokens: int
    priced: bool


class ToolUsage(BaseModel):
    tool: str
    count: int
    percentage: float


class SyncStats(BaseModel):
    filesProcessed: int
    sessionsAdded: int
    messagesAdded: int
    requestsAdded: int
    errors: int


class SyncStatus(BaseModel):
    lastSync: str | None
    isRunning: bool
    currentSyncId: str | None
    lastSyncDuration: int | None = Field(description="Milliseconds")
    lastSyncStatus: str | None
    lastSyncError: str | None
    lastSyncStats: SyncStats | None


class PendingFile(BaseModel):
    path: str
    lastModified: str | None
    pendingBytes: int
    estimatedSessions: int
    estimatedMessages: int


class SyncPreview(BaseModel):
    pendingFiles: list[PendingFile]
    totalPendingFiles: int
    estimatedNewSessions: int
    estimatedNewMessages: int


class ArchiveStats(BaseModel):
    totalSessions: int
    totalMessages: int
    totalRequests: int
    sourceFiles: int
    oldestSession: str | None
    newestSession: str | None
    databaseSize: str
    databaseSizeBytes: int
    retentionDays: int | None = Field(description="null: everything is kept forever")


class SyncStarted(BaseModel):
    started: bool
    syncId: str | None
    message: str
    preview: SyncPreview | None = None


class SyncReset(BaseModel):
    message: str
    filesReset: int
