"""Which day a budget week starts on: the configured ``start_of_week``, else the user's locale's first day.

Reports keep ccusage's Monday default for parity; budgets follow the locale (Sunday in the US, Saturday in much
of the Middle East) unless ``start_of_week`` is set in config.json. Python exposes no locale first weekday, so
the territory of the locale name is mapped with CLDR's week data.
"""

from __future__ import annotations

import locale
import os
import re

import orjson

from store.config import config_path
from store.timezones import MONDAY, SATURDAY, SUNDAY

# CLDR supplemental weekData firstDay (territories not listed start on Monday).
_SUNDAY_FIRST = frozenset(
    ("AG", "AS", "BD", "BR", "BS", "BT", "BW", "BZ", "CA", "CN", "CO", "DM", "DO", "ET", "GT", "GU", "HK", "HN", "ID",
     "IL", "IN", "JM", "JP", "KE", "KH", "KR", "LA", "MH", "MM", "MO", "MT", "MX", "MZ", "NI", "NP", "PA", "PE", "PH",
     "PK", "PR", "PT", "PY", "SA", "SG", "SV", "TH", "TT", "TW", "UM", "US", "VE", "VI", "WS", "YE", "ZA", "ZW")
)
_SATURDAY_FIRST = frozenset(("AE", "AF", "BH", "DJ", "DZ", "EG", "IQ", "IR", "JO", "KW", "LY", "OM", "QA", "SD", "SY"))
_FRIDAY_FIRST = frozenset({"MV"})
_TERRITORY = re.compile(r"^[A-Za-z]{2,3}[_-]([A-Za-z]{2})\b")


def first_weekday_of_territory(territory: str | None) -> int:
    code = (territory or "").upper()
    if code in _SUNDAY_FIRST:
        return SUNDAY
    if code in _SATURDAY_FIRST:
        return SATURDAY
    if code in _FRIDAY_FIRST:
        return 4
    return MONDAY


def locale_territory() -> str | None:
    """Territory of the time locale: ``LC_ALL``, ``LC_TIME``, ``LANG`` (POSIX precedence), else Python's."""
    name = next((os.environ[var] for var in ("LC_ALL", "LC_TIME", "LANG") if os.environ.get(var)), None)
    if name is None:
        try:
            name = locale.getlocale(locale.LC_TIME)[0]
        except (ValueError, AttributeError):
            name = None
    match = _TERRITORY.match(name or "")
    return match.group(1) if match else None


def configured_start_of_week() -> int | None:
    """``start_of_week`` when config.json sets it explicitly (a default value in memory does not count)."""
    try:
        raw = orjson.loads(config_path().read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    value = raw.get("start_of_week") if isinstance(raw, dict) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value <= 6:
        return value
    if isinstance(value, str):
        from store.timezones import parse_start_of_week

        try:
            return parse_start_of_week(value)
        except ValueError:
            return None
    return None


def budget_start_of_week() -> int:
    configured = configured_start_of_week()
    return configured if configured is not None else first_weekday_of_territory(locale_territory())
