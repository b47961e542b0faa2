"""Tool errors (``/api/stats/errors``): totals, rate, per tool, common patterns and a 30-day trend.

Patterns group error texts that differ only in specifics: numbers, paths, file names, URLs, ids and quoted
values become placeholders, and the signature is the line that says what went wrong (the exception line of a
Python traceback, the first line after Bash's ``Exit code N``), so "cat: a.txt: No such file" and
"cat: b.py: No such file" are one pattern.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from functools import lru_cache
from typing import Any

from peewee import Database

from store.monitor.days import days_scope, end_date, last_days
from store.monitor.error_filing import file_pending
from store.monitor.figures import Activity, activity, key_sessions, tool_counts, total_activity
from store.monitor.fmt import iso, rate
from store.monitor.params import Scope
from store.monitor.rollups import plan
from store.monitor.sessions import now_ms
from store.monitor.sql import Where, chunks, marks, of_project, tool_calls_where
from store.sqlite.rollup_tables import KIND_PATTERN, NULL_KEY

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
    counts = total_activity(db, scope)
    per_tool: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (name, _, _), tool in tool_counts(db, scope).items():
        acc = per_tool[name or "(unknown)"]
        acc[0] += tool.calls
        acc[1] += tool.errors
    by_tool = sorted(((name, n, n_err) for name, (n, n_err) in per_tool.items() if n_err > 0),
                     key=lambda row: (-row[2], row[0]))
    calls, errors = counts.tool_calls, counts.tool_errors
    return {
        "total_errors": errors, "total_tool_calls": calls, "error_rate": rate(errors, calls),
        "rejected": counts.tool_rejected, "interrupted": counts.tool_interrupted, "api_errors": counts.api_errors,
        "by_tool": [{"tool_name": name, "errors": n_err, "calls": n, "error_rate": rate(n_err, n)}
                    for name, n, n_err in by_tool],
        "patterns": error_patterns(db, scope),
        "trend": _trend(db, scope, now_ms() if now is None else now),
    }


def error_patterns(db: Database, scope: Scope, top: int = TOP_PATTERNS) -> list[dict[str, Any]]:
    """The most frequent error signatures with their tools, sessions, an example (the first such error) and the
    last occurrence. From the error rollups once queued errors are filed; row by row otherwise."""
    p = plan(db, scope)
    if not p.pids or not file_pending(db):
        return _row_patterns(db, scope, top)
    counts: Counter = Counter()
    tools: dict[int, Counter] = defaultdict(Counter)
    if p.whole:
        clause, params = p.where()
        for pattern, name, n in db.execute_sql(
                f"SELECT pattern_id, nullif(name, {NULL_KEY}), sum(errors) FROM error_day WHERE {clause} "
                "GROUP BY pattern_id, name", params).fetchall():
            counts[pattern] += n
            tools[pattern][name or "(unknown)"] += n
    for edge in p.edges:
        where = tool_calls_where(edge, alias="e")
        for pattern, name, n in db.execute_sql(f"SELECT e.pattern_id, e.name, count(*) FROM error_call e{where.sql} "
                                               "GROUP BY 1, 2", where.params).fetchall():
            counts[pattern] += n
            tools[pattern][name or "(unknown)"] += n
    signatures: dict[int, str] = {}
    for part in chunks(sorted(counts)):
        signatures.update(db.execute_sql(f"SELECT id, signature FROM error_pattern WHERE id IN ({marks(part)})",
                                         list(part)).fetchall())
    sessions = key_sessions(db, scope, KIND_PATTERN)
    ranked = sorted((pid for pid, n in counts.items() if n), key=lambda pid: (-counts[pid], signatures[pid]))[:top]
    result = []
    for pid in ranked:
        example, last = _first_and_last(db, scope, pid)
        result.append({"pattern": signatures[pid], "count": counts[pid],
                       "tools": [{"tool_name": t, "count": n}
                                 for t, n in sorted(tools[pid].items(), key=lambda x: (-x[1], x[0])) if n],
                       "sessions": sessions[(str(pid), "")], "example": (example or "").strip()[:EXAMPLE_LIMIT],
                       "last_seen": iso(last)})
    return result


def _first_and_last(db: Database, scope: Scope, pattern: int) -> tuple[str | None, int | None]:
    """The text of the pattern's first error in the scope (by call time, then id; undated last) and the time of
    its last one, through the (pattern, time) index."""
    where = Where().add("e.pattern_id = ?", pattern)
    if scope.start_ms is not None:
        where.add("e.call_ts_ms >= ?", scope.start_ms)
    if scope.end_ms is not None:
        where.add("e.call_ts_ms < ?", scope.end_ms)
    if scope.project:  # checked per error in index order: the first match ends the walk
        condition, params = of_project("e.session_id", scope.project)
        where.add(condition, *params)
    first = db.execute_sql(f"SELECT e.tool_use_id FROM error_call e{where.sql} AND e.call_ts_ms IS NOT NULL "
                           "ORDER BY e.call_ts_ms, e.tool_use_id LIMIT 1", where.params).fetchone()
    if first is None and not scope.dated:
        first = db.execute_sql(f"SELECT e.tool_use_id FROM error_call e{where.sql} AND e.call_ts_ms IS NULL "
                               "ORDER BY e.tool_use_id LIMIT 1", where.params).fetchone()
    last = db.execute_sql(f"SELECT e.call_ts_ms FROM error_call e{where.sql} AND e.call_ts_ms IS NOT NULL "
                          "ORDER BY e.call_ts_ms DESC LIMIT 1", where.params).fetchone()
    last = last[0] if last else None
    text = None
    if first is not None:
        text = db.execute_sql("SELECT error_text FROM tool_call WHERE tool_use_id = ?", first).fetchone()[0]
    return text, last


def _row_patterns(db: Database, scope: Scope, top: int) -> list[dict[str, Any]]:
    """:func:`error_patterns` from the tool calls themselves."""
    where = tool_calls_where(scope).add("t.status = 'error'")
    groups: dict[str, dict[str, Any]] = {}
    for name, text, sid, ts in db.execute_sql(
            f"SELECT t.name, t.error_text, t.session_id, t.call_ts_ms FROM tool_call t{where.sql} "
            "ORDER BY t.call_ts_ms IS NULL, t.call_ts_ms, t.tool_use_id", where.params).fetchall():
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
    per_day = activity(db, days_scope(scope, dates), by_day=True)
    result = []
    for d in dates:
        day = per_day.get(d) or Activity()
        result.append({"date": d.isoformat(), "errors": day.tool_errors, "tool_calls": day.tool_calls,
                       "error_rate": rate(day.tool_errors, day.tool_calls)})
    return result
