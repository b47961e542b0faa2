"""GET/POST /api/config: the user's settings, validated by ``store.config``, saved to config.json, live at once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from desktop.api.deps import ArchiveDep, RunnerDep, archive_tz, ok
from desktop.api.errors import validation_error
from desktop.api.models import ERROR_RESPONSES
from store.archive import Archive
from store.config import ConfigError, load_settings, save_settings, update_settings
from store.paths import default_config_dirs
from store.sync_runner import SyncInProgress

router = APIRouter(prefix="/api/config", tags=["config"], responses=ERROR_RESPONSES)

# API name -> config.json name
_FIELDS = {"logRoots": "extra_roots", "timezone": "timezone", "startOfWeek": "start_of_week",
           "priceOverrides": "price_overrides", "modelAliases": "model_aliases", "retentionDays": "retention_days",
           "notifications": "notifications"}
_NOTIFICATION_FIELDS = {"enabled": "enabled", "dailyCostLimitUsd": "daily_cost_limit_usd",
                        "syncErrors": "sync_errors", "quietHours": "quiet_hours"}


class NotificationsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool | None = None
    dailyCostLimitUsd: float | str | None = Field(default=None, description="Daily spend (USD) that triggers a "
                                                                             "notification; null for none")
    syncErrors: StrictBool | None = None
    quietHours: str | None = Field(default=None, description="Local 'HH:MM-HH:MM' during which budget "
                                                             "notifications wait; null for none")


class ConfigUpdate(BaseModel):
    """Only the fields present change; ``null`` resets timezone (machine zone) and retentionDays (keep forever)."""

    model_config = ConfigDict(extra="forbid")

    logRoots: list[str] | None = Field(default=None, description="Extra Claude Code config dirs to read")
    timezone: str | None = Field(default=None, description="IANA name; null for this machine's zone")
    startOfWeek: StrictInt | str | None = Field(default=None, description="0 (Monday) … 6 (Sunday) or a name")
    priceOverrides: dict[str, dict[str, Any]] | None = Field(default=None, description="Per-MTok USD prices")
    modelAliases: dict[str, str] | None = None
    retentionDays: StrictInt | None = Field(default=None, description="Delete sessions idle this long; null: never")
    notifications: NotificationsIn | None = None


class ConfigOut(BaseModel):
    logRoots: list[str]
    defaultLogRoots: list[str]
    effectiveLogRoots: list[str]
    timezone: str | None
    effectiveTimezone: str
    startOfWeek: int
    priceOverrides: dict[str, Any]
    modelAliases: dict[str, str]
    retentionDays: int | None
    notifications: dict[str, Any]
    priceTable: str


class ConfigEnvelope(BaseModel):
    success: bool = True
    data: ConfigOut


class ConfigSaved(ConfigOut):
    syncStarted: bool = Field(description="A sync was started because the log roots or the retention changed")


class ConfigSavedEnvelope(BaseModel):
    success: bool = True
    data: ConfigSaved


def config_view(archive: Archive) -> dict[str, Any]:
    s = archive.settings
    return {
        "logRoots": list(s.extra_roots),
        "defaultLogRoots": [str(p) for p in default_config_dirs()],
        "effectiveLogRoots": [str(p) for p in archive.roots],
        "timezone": s.timezone,
        "effectiveTimezone": getattr(archive_tz(archive), "key", "UTC"),
        "startOfWeek": s.start_of_week,
        "priceOverrides": s.price_overrides,
        "modelAliases": s.model_aliases,
        "retentionDays": s.retention_days,
        "notifications": {"enabled": s.notifications.enabled,
                          "dailyCostLimitUsd": s.notifications.daily_cost_limit_usd,
                          "syncErrors": s.notifications.sync_errors,
                          "quietHours": s.notifications.quiet_hours},
        "priceTable": archive.prices.version,
    }


@router.get("", response_model=ConfigEnvelope)
def get_config(archive: ArchiveDep) -> dict[str, Any]:
    return ok(config_view(archive))


@router.post("", response_model=ConfigSavedEnvelope)
def post_config(request: Request, archive: ArchiveDep, runner: RunnerDep, update: ConfigUpdate) -> dict[str, Any]:
    """Validate, save to config.json and apply without a restart (new roots and retention act at once)."""
    changes = _file_changes(update)
    try:
        current = load_settings()  # the file, not memory: keeps edits made by hand since start-up
        new = update_settings(current, changes)
    except ConfigError as exc:
        raise validation_error(str(exc), {"field": _api_name(exc.field_name)}) from exc
    save_settings(new)
    needs_sync = (new.extra_roots, new.retention_days) != (archive.settings.extra_roots,
                                                           archive.settings.retention_days)
    old_roots = list(archive.roots)
    archive.apply_settings(new)
    live = getattr(request.app.state, "live", None)
    if live is not None and archive.roots != old_roots:
        live.roots_changed()  # watch the new roots (the watcher rescans them)
    return ok({**config_view(archive), "syncStarted": needs_sync and _start_sync(runner)})


def _file_changes(update: ConfigUpdate) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name in update.model_fields_set:
        value = getattr(update, name)
        if name == "notifications" and value is not None:
            value = {_NOTIFICATION_FIELDS[k]: getattr(value, k) for k in value.model_fields_set}
        changes[_FIELDS[name]] = value
    return changes


def _api_name(field_name: str | None) -> str | None:
    return next((api for api, file in _FIELDS.items() if file == field_name), field_name)


def _start_sync(runner: Any) -> bool:
    try:
        runner.start()
    except SyncInProgress:
        return False
    return True

