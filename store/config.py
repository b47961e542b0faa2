"""User settings stored as JSON in the data home (extra log roots, time zone, price overrides, retention).

Loading and saving share one validator, so a value the API accepts is a value the next start-up accepts.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import orjson

from store.paths import data_home

CONFIG_FILENAME = "config.json"
MAX_RETENTION_DAYS = 100 * 366


@dataclass(frozen=True)
class NotificationSettings:
    """When the desktop app may notify: master switch, a daily spend threshold (USD), failed syncs, and quiet hours
    (local ``"HH:MM-HH:MM"``, may span midnight) during which budget notifications wait."""

    enabled: bool = True
    daily_cost_limit_usd: str | None = None  # decimal string, kept exact
    sync_errors: bool = True
    quiet_hours: str | None = None


@dataclass(frozen=True)
class DataApiSettings:
    """The data API's limits (the reference's defaults), key lifetime and how often insights are recomputed."""

    rate_per_minute: int = 100  # per key
    rate_per_hour: int = 1_000  # per key
    team_rate_per_hour: int = 5_000  # across all keys of this install
    key_expiry_days: int = 90  # default lifetime of a new key
    insights_interval_minutes: int = 60  # the schedule; insights also run after each ingest


@dataclass
class Settings:
    """Settings a user may change; unknown keys in the file are kept untouched on save."""

    extra_roots: list[str] = field(default_factory=list)
    timezone: str | None = None
    start_of_week: int = 0  # 0 = Monday ... 6 = Sunday
    price_overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    model_aliases: dict[str, str] = field(default_factory=dict)
    retention_days: int | None = None  # None: keep everything forever
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    data_api: DataApiSettings = field(default_factory=DataApiSettings)
    extra: dict[str, Any] = field(default_factory=dict)


KNOWN_KEYS = frozenset(f.name for f in fields(Settings)) - {"extra"}


def config_path() -> Path:
    return data_home() / CONFIG_FILENAME


class ConfigError(ValueError):
    """The config file or a change to it cannot be used; the message says how to fix it."""

    def __init__(self, message: str, field_name: str | None = None) -> None:
        super().__init__(message)
        self.field_name = field_name


def load_settings(path: Path | None = None) -> Settings:
    path = path or config_path()
    if not path.exists():
        return Settings()
    try:
        raw = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); fix or delete it") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    extra = {k: v for k, v in raw.items() if k not in KNOWN_KEYS}
    try:
        return update_settings(Settings(extra=extra), {k: v for k, v in raw.items() if k in KNOWN_KEYS})
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}", exc.field_name) from exc


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write atomically (temp file + rename): a crash never leaves a half-written config behind."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {**settings.extra, **settings_to_json(settings)}
    fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def settings_to_json(settings: Settings) -> dict[str, Any]:
    """The known settings in the file's own (snake_case) shape."""
    n = settings.notifications
    return {
        "extra_roots": list(settings.extra_roots),
        "timezone": settings.timezone,
        "start_of_week": settings.start_of_week,
        "price_overrides": settings.price_overrides,
        "model_aliases": settings.model_aliases,
        "retention_days": settings.retention_days,
        "notifications": {"enabled": n.enabled, "daily_cost_limit_usd": n.daily_cost_limit_usd,
                          "sync_errors": n.sync_errors, "quiet_hours": n.quiet_hours},
        "data_api": dict(settings.data_api.__dict__),
    }


def update_settings(current: Settings, changes: Mapping[str, Any]) -> Settings:
    """A copy of ``current`` with ``changes`` (file keys) applied, every value checked; raises ConfigError."""
    unknown = set(changes) - KNOWN_KEYS
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}", sorted(unknown)[0])
    values: dict[str, Any] = {}
    for key, value in changes.items():
        values[key] = _VALIDATORS[key](value, current)
    updated = replace(current, **values)
    _check_prices(updated)
    return updated


def _roots(value: Any, _: Settings) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError("extra_roots must be a list of folder paths", "extra_roots")
    if any("\0" in v for v in value):
        raise ConfigError("extra_roots: a path cannot contain NUL characters", "extra_roots")
    relative = [v for v in value if not Path(v.strip()).expanduser().is_absolute()]
    if relative:
        raise ConfigError(f"extra_roots must be absolute paths (or start with ~), not {relative[0]!r}", "extra_roots")
    return list(dict.fromkeys(v.strip() for v in value))


def _timezone(value: Any, _: Settings) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ConfigError("timezone must be an IANA name such as 'Europe/Berlin', or null", "timezone")
    from store.timezones import resolve_timezone

    try:
        resolve_timezone(value)
    except ValueError as exc:
        raise ConfigError(str(exc), "timezone") from exc
    return value.strip()


def _start_of_week(value: Any, _: Settings) -> int:
    from store.timezones import parse_start_of_week

    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError("start_of_week must be 0 (Monday) … 6 (Sunday) or a weekday name", "start_of_week")
    try:
        return parse_start_of_week(value)
    except ValueError as exc:
        raise ConfigError(str(exc), "start_of_week") from exc


def _price_overrides(value: Any, _: Settings) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and k and isinstance(v, dict)
                                              for k, v in value.items()):
        raise ConfigError("price_overrides must map model ids to objects of per-MTok prices", "price_overrides")
    return value


def _model_aliases(value: Any, _: Settings) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and k and isinstance(v, str) and v
                                              for k, v in value.items()):
        raise ConfigError("model_aliases must map model ids to model ids", "model_aliases")
    return value


def _retention(value: Any, _: Settings) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RETENTION_DAYS:
        raise ConfigError(f"retention_days must be null (keep forever) or 1 … {MAX_RETENTION_DAYS} days",
                          "retention_days")
    return value


def _notifications(value: Any, current: Settings) -> NotificationSettings:
    if not isinstance(value, dict):
        raise ConfigError("notifications must be an object", "notifications")
    allowed = {f.name for f in fields(NotificationSettings)}
    unknown = set(value) - allowed
    if unknown:
        raise ConfigError(f"unknown notification setting(s): {', '.join(sorted(unknown))}", "notifications")
    merged = {**current.notifications.__dict__, **value}
    for flag in ("enabled", "sync_errors"):
        if not isinstance(merged[flag], bool):
            raise ConfigError(f"notifications.{flag} must be true or false", "notifications")
    limit = merged["daily_cost_limit_usd"]
    if limit is not None:
        merged["daily_cost_limit_usd"] = _positive_decimal(limit, "notifications.daily_cost_limit_usd")
    merged["quiet_hours"] = _quiet_hours(merged["quiet_hours"])
    return NotificationSettings(**merged)


def _quiet_hours(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    from store.quiet_hours import parse_quiet_hours

    try:
        start, end = parse_quiet_hours(value)
    except ValueError as exc:
        raise ConfigError(f"notifications.quiet_hours: {exc}", "notifications") from exc
    return f"{start:%H:%M}-{end:%H:%M}"


_DATA_API_LIMITS = {"rate_per_minute": 10**9, "rate_per_hour": 10**9, "team_rate_per_hour": 10**9,
                    "key_expiry_days": 100 * 366, "insights_interval_minutes": 7 * 24 * 60}


def _data_api(value: Any, current: Settings) -> DataApiSettings:
    if not isinstance(value, dict):
        raise ConfigError("data_api must be an object", "data_api")
    unknown = set(value) - set(_DATA_API_LIMITS)
    if unknown:
        raise ConfigError(f"unknown data_api setting(s): {', '.join(sorted(unknown))}", "data_api")
    merged = {**current.data_api.__dict__, **value}
    for name, most in _DATA_API_LIMITS.items():
        number = merged[name]
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= most:
            raise ConfigError(f"data_api.{name} must be a whole number from 1 to {most}", "data_api")
    return DataApiSettings(**merged)


def _positive_decimal(value: Any, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{name} must be a number of US dollars or null", "notifications")
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise ConfigError(f"{name} must be a number of US dollars or null", "notifications") from exc
    if not amount.is_finite() or amount <= 0 or amount > Decimal(10) ** 9:
        raise ConfigError(f"{name} must be a positive amount of US dollars", "notifications")
    return str(amount)


def _check_prices(settings: Settings) -> None:
    """Price overrides are checked by applying them to the bundled table, exactly as the archive will."""
    if not settings.price_overrides and not settings.model_aliases:
        return
    from store.pricing import PriceTable

    try:
        PriceTable.bundled().with_overrides(settings.price_overrides, settings.model_aliases)
    except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as exc:
        raise ConfigError(f"price_overrides: {exc}", "price_overrides") from exc


_VALIDATORS = {
    "extra_roots": _roots,
    "timezone": _timezone,
    "start_of_week": _start_of_week,
    "price_overrides": _price_overrides,
    "model_aliases": _model_aliases,
    "retention_days": _retention,
    "notifications": _notifications,
    "data_api": _data_api,
}
