"""Tool errors (``/api/stats/errors``): totals, rate, per tool, common patterns and a 30-day trend.

Patterns group error texts that differ only in specifics: numbers, paths, file names, URLs, ids and quoted
values become placeholders, and the signature is the line that says what went wrong (the exception line of a
Python traceback, the first line after Bash's ``Exit code N``), so "cat: a.txt: No such file" and
"cat: b.py: No such file" are one pattern.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache
from typing import Any

from peewee import Database

from store.monitor.days import SLOT_SQL, day_key, days_scope, end_date, last_days
from store.monitor.fmt import iso, rate
from store.monitor.params import Scope
from store.monitor.sessions import now_ms
from store.monitor.sql import requests_where, tool_calls_where

TREND_DAYS = 30
TOP_PATTERNS = 20
SIGNATURE_LIMIT = 160
LINE_LIMIT = 400
EXAMPLE_LIMIT = 300

_EXIT_CODE = re.compile(r"^exit code -?\d+$", re.IGNORECASE)
_TRACEBACK = "Traceback (most recent call last):"
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Warning)\b")
_SUBSTITUTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\"[^\"\n]*\"|(?<!\w)'[^'\n]*'(?!\w)|`[^`\n]*`"), "<str>"),
    (re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE), "<url>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.IGNORECASE), "<id>"),
    (re.compile(r"\b(?:toolu|msg|req|srvtoolu)_[A-Za-z0-9]+\b"), "<id>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b", re.IGNORECASE), "<id>"),
    (re.compile(r"(?:[A-Za-z]:\\|~[\\/]|\.{0,2}/)?(?:[\w.@+~-]+[\\/])+[\w.@+~-]*"), "<path>"),
    (re.compile(r"\b[\w-]+\.[A-Za-z][A-Za-z0-9]{0,5}\b"), "<path>"),
    (re.compile(r"(?<![\w<])-?\d+(?:[.,:]\d+)*[A-Za-z]{0,3}\b"), "<n>"),
)
_BANNER = re.compile(r"^[\W_]{3,}.*[\W_]{3,}$|^[\W_]+$")
_SPACES = re.compile(r"\s+")
_PLACEHOLDER = re.compile(r"<(?:str|url|id|path|n)>")
_WORDS = re.compile(r"[A-Za-z]{2,}")


def _candidates(text: str) -> list[str]:
    """Lines of an error text that may name the failure, best first (banners such as ``=== FAILURES ===``
    skipped; Bash's ``Exit code N`` joined to the line after it)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if "test session starts" in text:
        return ["pytest: test run failed"]
    if _TRACEBACK in text:
        exceptions = [line for line in reversed(lines) if _EXCEPTION_LINE.match(line)]
        if exceptions:
            return exceptions[:1]
    prefix = ""
    if lines and _EXIT_CODE.match(lines[0]):
        prefix, lines = lines[0] + ": ", lines[1:]
    return [prefix + line for line in lines if not _BANNER.match(line)] or [prefix.rstrip(": ")]


def _normalise(line: str) -> str:
    line = line[:LINE_LIMIT]  # bounds the regex work on one-line dumps
    for pattern, placeholder in _SUBSTITUTIONS:
        line = pattern.sub(placeholder, line)
    return _SPACES.sub(" ", line).strip()[:SIGNATURE_LIMIT]


@lru_cache(maxsize=8192)
def error_signature(text: str | None) -> str:
    """A normalised signature under which similar errors group: the first candidate line that still says
    something once specifics are replaced (a line that is only a path is skipped for the next one)."""
    if not text or not text.strip():
        return "(no error text)"
    first = None
    for candidate in _candidates(text)[:5]:
        line = _normalise(candidate)
        if _WORDS.search(_PLACEHOLDER.sub("", line)):
            return line
        first = line if first is None else first
    return first or "(no error text)"


def error_stats(db: Database, scope: Scope, now: int | None = None) -> dict[str, Any]:
    """Errors of the scope; the trend covers the 30 local days ending at ``to`` (or today)."""
    where = tool_calls_where(scope)
    calls, errors, rejected, interrupted = db.execute_sql(
        "SELECT count(*), coalesce(sum(t.status = 'error'), 0), coalesce(sum(t.status = 'rejected'), 0), "
        f"coalesce(sum(t.status = 'interrupted'), 0) FROM tool_call t{where.sql}", where.params).fetchone()
    by_tool = db.execute_sql(
        f"SELECT coalesce(t.name, '(unknown)'), count(*), sum(t.status = 'error') FROM tool_call t{where.sql} "
        "GROUP BY 1 HAVING sum(t.status = 'error') > 0 ORDER BY 3 DESC, 1", where.params).fetchall()
    requests = requests_where(scope)
    api_errors = db.execute_sql(f"SELECT count(*) FROM api_request r{requests.sql} AND r.is_api_error = 1",
                                requests.params).fetchone()[0]
    return {
        "total_errors": errors, "total_tool_calls": calls, "error_rate": rate(errors, calls),
        "rejected": rejected, "interrupted": interrupted, "api_errors": api_errors,
        "by_tool": [{"tool_name": name, "errors": n_err, "calls": n, "error_rate": rate(n_err, n)}
                    for name, n, n_err in by_tool],
        "patterns": error_patterns(db, scope),
        "trend": _trend(db, scope, now_ms() if now is None else now),
    }


def error_patterns(db: Database, scope: Scope, top: int = TOP_PATTERNS) -> list[dict[str, Any]]:
    """The most frequent error signatures with their tools, sessions, an example and the last occurrence."""
    where = tool_calls_where(scope).add("t.status = 'error'")
    groups: dict[str, dict[str, Any]] = {}
    for name, text, sid, ts in db.execute_sql(
            f"SELECT t.name, t.error_text, t.session_id, t.call_ts_ms FROM tool_call t{where.sql}",
            where.params).fetchall():
        signature = error_signature(text)
        group = groups.get(signature)
        if group is None:
            group = groups[signature] = {"count": 0, "tools": defaultdict(int), "sessions": set(), "last": None,
                                         "example": (text or "").strip()[:EXAMPLE_LIMIT]}
        group["count"] += 1
        group["tools"][name or "(unknown)"] += 1
        group["sessions"].add(sid)
        if ts is not None and (group["last"] is None or ts > group["last"]):
            group["last"] = ts
    ranked = sorted(groups.items(), key=lambda kv: (-kv[1]["count"], kv[0]))[:top]
    return [{"pattern": signature, "count": g["count"],
             "tools": [{"tool_name": t, "count": n}
                       for t, n in sorted(g["tools"].items(), key=lambda x: (-x[1], x[0]))],
             "sessions": len(g["sessions"]), "example": g["example"], "last_seen": iso(g["last"])}
            for signature, g in ranked]


def _trend(db: Database, scope: Scope, now: int) -> list[dict[str, Any]]:
    dates = last_days(scope.tz, TREND_DAYS, now, until=end_date(scope))
    rng = days_scope(scope, dates)
    where = tool_calls_where(rng)
    per_day: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for slot, n, errors in db.execute_sql(
            f"SELECT t.call_ts_ms {SLOT_SQL}, count(*), sum(t.status = 'error') FROM tool_call t{where.sql} "
            "GROUP BY 1", where.params).fetchall():
        acc = per_day[day_key(slot, rng.tz)]
        acc[0] += n
        acc[1] += errors
    result = []
    for d in dates:
        calls, errors = per_day.get(d.isoformat(), (0, 0))
        result.append({"date": d.isoformat(), "errors": errors, "tool_calls": calls, "error_rate": rate(errors, calls)})
    return result
