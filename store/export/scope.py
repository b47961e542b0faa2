"""What an export covers (time range, project, session) and the file name that says so."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import tzinfo

from store.monitor.params import Scope, make_scope
from store.timezones import local_date

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class ExportScope:
    """Requests and tool calls by their time in ``[start_ms, end_ms)``; sessions active in it."""

    scope: Scope
    session_id: str | None = None

    @property
    def tz(self) -> tzinfo:
        return self.scope.tz


def make_export_scope(tz: tzinfo, date_from: str | None = None, date_to: str | None = None,
                      project: str | None = None, session_id: str | None = None) -> ExportScope:
    """A validated scope (``from``/``to`` as the monitor API takes them); raises ParamError naming the parameter."""
    session_id = session_id.strip() if session_id and session_id.strip() else None
    return ExportScope(make_scope(tz, date_from=date_from, date_to=date_to, project=project), session_id)


def range_label(es: ExportScope) -> str:
    """``2026-05-01_to_2026-05-31`` (local dates, inclusive), ``since-…``, ``until-…`` or ``all-time``."""
    s = es.scope
    first = local_date(s.start_ms, s.tz).isoformat() if s.start_ms is not None else None
    last = local_date(s.end_ms - 1, s.tz).isoformat() if s.end_ms is not None else None
    if first and last:
        return first if first == last else f"{first}_to_{last}"
    if first:
        return f"since-{first}"
    return f"until-{last}" if last else "all-time"


def file_name(es: ExportScope, extension: str, kind: str = "export") -> str:
    """``devhelion-export_<project>_<session>_<range>.<ext>``, safe on every file system."""
    parts = [f"devhelion-{kind}"]
    if es.scope.project:
        parts.append(es.scope.project.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1])
    if es.session_id:
        parts.append(f"session-{es.session_id[:8]}")
    parts.append(range_label(es))
    return "_".join(_UNSAFE.sub("-", p).strip("-") or "x" for p in parts) + f".{extension}"
