"""The global filter every page honours: a date range (a preset such as the last 30 days, or custom dates) and an
optional project, kept in the URL's query parameters so a view can be bookmarked, shared with yourself, reloaded.

Presets are stored by name, not as dates: "last 30 days" in a bookmark still means the last 30 days next week.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from urllib.parse import urlencode

PRESETS: dict[str, str] = {
    "today": "Today",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "mtd": "This month",
    "12m": "Last 12 months",
    "all": "All time",
}
CUSTOM = "custom"
DEFAULT_RANGE = "30d"
_DAYS = {"7d": 7, "30d": 30, "90d": 90}


@dataclass(frozen=True, slots=True)
class DashFilter:
    """``range`` is a preset name or ``custom`` (then ``since``/``until`` are inclusive local dates)."""

    range: str = DEFAULT_RANGE
    since: date | None = None
    until: date | None = None
    project: str | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> DashFilter:
        """Lenient: an unknown preset or a malformed date falls back to the default rather than failing."""
        project = (params.get("project") or "").strip() or None
        since, until = _date(params.get("from")), _date(params.get("to"))
        if since or until:
            if since and until and since > until:
                since, until = until, since
            return cls(CUSTOM, since, until, project)
        preset = params.get("range") or DEFAULT_RANGE
        return cls(preset if preset in PRESETS else DEFAULT_RANGE, None, None, project)

    def query(self) -> dict[str, str]:
        """Query parameters for the URL (the default range is left out)."""
        params: dict[str, str] = {}
        if self.range == CUSTOM:
            if self.since:
                params["from"] = self.since.isoformat()
            if self.until:
                params["to"] = self.until.isoformat()
        elif self.range != DEFAULT_RANGE:
            params["range"] = self.range
        if self.project:
            params["project"] = self.project
        return params

    def query_string(self) -> str:
        params = self.query()
        return "?" + urlencode(params) if params else ""

    def url(self, path: str) -> str:
        return path + self.query_string()

    def with_range(self, preset: str) -> DashFilter:
        return replace(self, range=preset, since=None, until=None)

    def with_dates(self, since: date | None, until: date | None) -> DashFilter:
        return replace(self, range=CUSTOM, since=since, until=until)

    def with_project(self, project: str | None) -> DashFilter:
        return replace(self, project=project or None)

    def dates(self, today: date) -> tuple[date | None, date | None]:
        """Inclusive local ``(since, until)``; ``None`` is open (all time)."""
        if self.range == CUSTOM:
            return self.since, self.until
        if self.range == "today":
            return today, today
        if self.range in _DAYS:
            return today - timedelta(days=_DAYS[self.range] - 1), today
        if self.range == "mtd":
            return today.replace(day=1), today
        if self.range == "12m":
            return _months_back(today, 12) + timedelta(days=1), today
        return None, None

    def label(self, today: date) -> str:
        if self.range != CUSTOM:
            return PRESETS.get(self.range, self.range)
        since, until = self.dates(today)
        if since and until:
            return f"{since:%d %b %Y} – {until:%d %b %Y}"
        return f"from {since:%d %b %Y}" if since else f"until {until:%d %b %Y}" if until else "All time"

    def api_query(self, today: date) -> dict[str, str]:
        """The same filter as the monitor API's ``from``/``to``/``project`` parameters."""
        since, until = self.dates(today)
        params = {}
        if since:
            params["from"] = since.isoformat()
        if until:
            params["to"] = until.isoformat()
        if self.project:
            params["project"] = self.project
        return params


def _date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def _months_back(d: date, months: int) -> date:
    month = d.month - months
    year = d.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    day = min(d.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31,
                      30, 31, 30, 31][month - 1])
    return date(year, month, day)
