"""User settings stored as JSON in the data home (extra log roots, time zone, price overrides)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from store.paths import data_home

CONFIG_FILENAME = "config.json"


@dataclass
class Settings:
    """Settings a user may change; unknown keys in the file are kept untouched on save."""

    extra_roots: list[str] = field(default_factory=list)
    timezone: str | None = None
    start_of_week: int = 0  # 0 = Monday ... 6 = Sunday
    price_overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    model_aliases: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def config_path() -> Path:
    return data_home() / CONFIG_FILENAME


class ConfigError(ValueError):
    """The config file exists but cannot be used; the message says how to fix it."""


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
    known = {k: raw.pop(k) for k in list(raw) if k in Settings.__dataclass_fields__ and k != "extra"}
    try:
        return Settings(**known, extra=raw)
    except TypeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
