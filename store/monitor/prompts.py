"""Prompt patterns (``/api/stats/prompt-patterns``): what users ask for, by category, with a daily trend.

A prompt is a human-typed user line of a main thread (not tool results, command echoes, caveats, compaction
summaries or interrupts). It is categorised by whole words and phrases only ("ci" never matches "decision",
"add" never matches "address") plus evidence from the tool calls of its turn (a test runner run, a git commit,
files edited or only read). Each prompt gets the category with the highest score; ties go to the category listed
first in ``CATEGORIES``; a prompt with no evidence at all is ``other``.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from itertools import pairwise
from typing import Any

from peewee import Database

from store.monitor.days import last_days
from store.monitor.fmt import iso, rate
from store.monitor.params import MAX_DAYS, Scope
from store.monitor.prompt_filing import file_prompts, session_calls, turn_calls
from store.monitor.rollups import Plan, day_date, plan
from store.monitor.session_counts import indexed_sessions_where
from store.monitor.sessions import now_ms
from store.monitor.sql import Where, chunks, in_project, is_short, marks, of_project
from store.timezones import local_date, local_day_start_utc_ms

DEFAULT_DAYS = 30
TEXT_LIMIT = 2000  # what is asked is said up front; pasted logs further down would only add noise


def _terms(text: str) -> frozenset[str]:
    """Keywords written as one string; ``a_b`` is the two-word phrase "a b"."""
    return frozenset(text.split())


CATEGORIES: dict[str, frozenset[str]] = {
    "debugging": _terms(
        "fix fixes fixed fixing bug bugs buggy debug debugging error errors broken crash crashes crashed crashing "
        "fail fails failed failing failure failures exception exceptions traceback stacktrace regression wrong "
        "issue issues doesn't_work not_working"),
    "testing": _terms(
        "test tests tested testing unittest unittests pytest jest vitest mocha coverage tdd e2e spec specs "
        "fixture fixtures assert assertion assertions"),
    "refactoring": _terms(
        "refactor refactors refactored refactoring rename renaming restructure reorganize reorganise simplify "
        "cleanup clean_up dedupe deduplicate extract modularize modularise decouple tidy"),
    "performance": _terms(
        "performance perf optimize optimise optimization optimisation faster slow slower slowness latency speed "
        "speedup speed_up benchmark benchmarks profile profiling memory cpu"),
    "review": _terms("review reviews reviewing audit critique feedback lgtm code_review"),
    "documentation": _terms(
        "docs doc document documentation readme docstring docstrings comment comments changelog jsdoc tutorial "
        "guide"),
    "git": _terms("git commit commits push rebase merge branch branches cherry-pick pr prs pull_request stash"),
    "devops": _terms(
        "ci cd deploy deployment deploying docker dockerfile kubernetes k8s helm terraform pipeline pipelines "
        "github_actions release infra infrastructure nginx systemd ansible"),
    "feature": _terms(
        "add adds adding implement implements implementing implementation create creating build building feature "
        "features support introduce new scaffold generate integrate endpoint component"),
    "explanation": _terms(
        "explain explains explanation why how what where which understand describe tell show_me overview "
        "walk_through"),
}
OTHER = "other"
ORDER = (*CATEGORIES, OTHER)


def _term_index() -> dict[str, tuple[str, ...]]:
    """Keyword -> the categories it counts for (one lookup per word instead of a set per category)."""
    index: dict[str, tuple[str, ...]] = {}
    for name, keywords in CATEGORIES.items():
        for term in keywords:
            index[term] = (*index.get(term, ()), name)
    return index


_TERM_CATEGORIES = _term_index()
_PHRASE_STARTS = frozenset(term.split("_", 1)[0] for term in _TERM_CATEGORIES if "_" in term)

_WORD = re.compile(r"[a-z0-9]+(?:['’-][a-z0-9]+)*")
_NOT_PROMPT = ("<command-", "<local-command", "<bash-", "<task-notification", "<system-reminder", "Caveat:",
               "[Request interrupted by user", "This session is being continued from a previous conversation")
_EDIT_TOOLS = frozenset({"Edit", "MultiEdit", "Write", "NotebookEdit"})
_READ_TOOLS = frozenset({"Read", "Grep", "Glob", "LS", "WebFetch", "WebSearch", "NotebookRead"})
_COMMAND_EVIDENCE = (
    ("testing", re.compile(r"\b(pytest|jest|vitest|mocha|rspec|phpunit|unittest|tox|go test|cargo test|"
                           r"(npm|yarn|pnpm|bun)( run)? test|mix test|dotnet test)\b")),
    ("git", re.compile(r"\b(git (commit|push|rebase|merge|cherry-pick)|gh pr)\b")),
    ("devops", re.compile(r"\b(docker|kubectl|helm|terraform|gh workflow|ansible-playbook)\b")),
)


def is_prompt(text: str | None) -> bool:
    return bool(text and text.strip()) and not text.lstrip().startswith(_NOT_PROMPT)


def words_of(text: str) -> list[str]:
    """Lower-case whole words (apostrophes and hyphens inside a word kept: ``doesn't``, ``cherry-pick``)."""
    return _WORD.findall(text.lower().replace("’", "'"))


def category_scores(text: str, tools: Sequence[tuple[str | None, str | None]] = ()) -> dict[str, float]:
    """Score per category: one per distinct keyword or two-word phrase present, plus tool evidence."""
    words = words_of(text)
    terms = set(words) | {f"{a}_{b}" for a, b in pairwise(words) if a in _PHRASE_STARTS}
    scores = dict.fromkeys(CATEGORIES, 0.0)
    for term in terms:
        for name in _TERM_CATEGORIES.get(term, ()):
            scores[name] += 1
    if text.rstrip().endswith("?"):
        scores["explanation"] += 1
    names = {name for name, _ in tools if name}
    for name, command in tools:
        if name == "Bash" and command:
            for category, pattern in _COMMAND_EVIDENCE:
                if pattern.search(command):
                    scores[category] += 1
    if names & _EDIT_TOOLS:
        scores["feature"] += 0.5
    elif names and names <= _READ_TOOLS:
        scores["explanation"] += 0.5
    return scores


def categorize(text: str, tools: Sequence[tuple[str | None, str | None]] = ()) -> str:
    scores = category_scores(text, tools)
    best = max(scores.values())
    return next(name for name in CATEGORIES if scores[name] == best) if best > 0 else OTHER


def _range(scope: Scope, now: int) -> tuple[int, int]:
    """The scope's range, defaulting to the last 30 local days (today included) on an open side."""
    end = scope.end_ms
    if end is None:
        end = local_day_start_utc_ms(local_date(now, scope.tz) + timedelta(days=1), scope.tz)
    start = scope.start_ms
    if start is None:
        first = last_days(scope.tz, DEFAULT_DAYS, now, until=local_date(end - 1, scope.tz))[0]
        start = local_day_start_utc_ms(first, scope.tz)
    return start, end


def _prompts(db: Database, scope: Scope, start: int, end: int) -> list[tuple[str, int, str]]:
    where = (Where().add("m.type = 'user'").add("m.is_sidechain = 0").add("m.is_meta = 0")
             .add("m.text IS NOT NULL").add("m.ts_ms >= ?", start).add("m.ts_ms < ?", end))
    if scope.project:
        short = is_short(Scope(scope.tz, start, end))
        condition, params = (of_project if short else in_project)("m.session_id", scope.project)
        where.add(condition, *params)
    rows = db.execute_sql(f"SELECT m.session_id, m.ts_ms, substr(m.text, 1, {TEXT_LIMIT}) FROM message m{where.sql} "
                          "ORDER BY 1, 2", where.params).fetchall()
    return [row for row in rows if is_prompt(row[2])]


def _turn_tools(db: Database, prompts: list[tuple[str, int, str]],
                end: int) -> dict[tuple[str, int], list[tuple[str | None, str | None]]]:
    """Tool calls of each prompt's turn: from the prompt to the session's next prompt (within the range)."""
    starts: dict[str, list[int]] = defaultdict(list)
    for sid, ts, _ in prompts:
        starts[sid].append(ts)
    turns: dict[tuple[str, int], list[tuple[str | None, str | None]]] = defaultdict(list)
    first = min((ts for _, ts, _ in prompts), default=end)
    for part in chunks(sorted(starts)):
        rows = db.execute_sql(
            "SELECT session_id, call_ts_ms, name, CASE WHEN name = 'Bash' AND json_valid(input_json) "
            "THEN json_extract(input_json, '$.command') END FROM tool_call "
            f"WHERE session_id IN ({marks(part)}) AND call_ts_ms >= ? AND call_ts_ms < ?",
            [*part, first, end]).fetchall()
        for sid, ts, name, command in rows:
            times = starts[sid]
            i = bisect_right(times, ts) - 1
            if i >= 0:
                turns[(sid, times[i])].append((name, command if isinstance(command, str) else None))
    return turns


def prompt_patterns(db: Database, scope: Scope, now: int | None = None) -> dict[str, Any]:
    """Category distribution and per-day counts of the prompts in the range (default: the last 30 days)."""
    now = now_ms() if now is None else now
    start, end = _range(scope, now)
    rng = Scope(scope.tz, start, end, scope.project)
    p = plan(db, rng, by_day=True)
    per_day = _filed(db, rng, p) if p.pids and file_prompts(db) else _from_rows(db, rng)
    totals: dict[str, int] = dict.fromkeys(ORDER, 0)
    for counts in per_day.values():
        for name, n in counts.items():
            totals[name] += n
    first_day, last_day = local_date(start, scope.tz), local_date(end - 1, scope.tz)
    span = (last_day - first_day).days + 1
    days = ([(first_day + timedelta(days=i)).isoformat() for i in range(span)] if span <= MAX_DAYS
            else sorted(d for d, counts in per_day.items() if any(counts.values())))
    count = sum(totals.values())
    return {
        "from": iso(start), "to": iso(end), "timezone": str(scope.tz), "total_prompts": count,
        "categories": [{"category": name, "count": n, "percentage": round(100 * rate(n, count), 2)}
                       for name, n in sorted(totals.items(), key=lambda kv: (-kv[1], ORDER.index(kv[0])))],
        "daily": [{"date": d, "total": sum(per_day[d].values()) if d in per_day else 0,
                   "counts": per_day[d] if d in per_day else dict.fromkeys(ORDER, 0)} for d in days],
    }


def _from_rows(db: Database, rng: Scope) -> dict[str, dict[str, int]]:
    """Prompts per local day and category, read and categorised row by row."""
    prompts = _prompts(db, rng, rng.start_ms, rng.end_ms)
    turns = _turn_tools(db, prompts, rng.end_ms)
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ORDER, 0))
    for sid, ts, text in prompts:
        per_day[local_date(ts, rng.tz).isoformat()][categorize(text, turns.get((sid, ts), ()))] += 1
    return per_day


def _filed(db: Database, rng: Scope, p: Plan) -> dict[str, dict[str, int]]:
    """Prompts per local day and category from the filed categories: whole days from ``prompt_day``, partial ones
    from ``prompt_line``, then the last turns cut short by the range's end recategorised."""
    per_day: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ORDER, 0))
    if p.whole:
        clause, params = p.where()
        for day, category, n in db.execute_sql(f"SELECT day, category, sum(prompts) FROM prompt_day WHERE {clause} "
                                                "GROUP BY 1, 2", params).fetchall():
            per_day[day_date(day).isoformat()][category] += n
    for edge in p.edges:
        where = _lines_where(edge, edge.start_ms, edge.end_ms)
        for ts, category in db.execute_sql(f"SELECT pl.ts_ms, pl.category FROM prompt_line pl{where.sql}",
                                           where.params).fetchall():
            per_day[local_date(ts, rng.tz).isoformat()][category] += 1
    for ts, filed, cut in _cut_turns(db, rng):
        if cut != filed:
            day = per_day[local_date(ts, rng.tz).isoformat()]
            day[filed] -= 1
            day[cut] += 1
    return per_day


def _lines_where(scope: Scope, start: int | None, end: int | None) -> Where:
    where = Where().add("pl.category IS NOT NULL")
    if start is not None:
        where.add("pl.ts_ms >= ?", start)
    if end is not None:
        where.add("pl.ts_ms < ?", end)
    if scope.project:
        condition, params = of_project("pl.session_id", scope.project)
        where.add(condition, *params)
    return where


def _cut_turns(db: Database, rng: Scope) -> list[tuple[int, str, str]]:
    """``(time, filed category, category over the turn cut at the range's end)`` of the last prompts before the end
    of the sessions still active then (only their turns can run past it)."""
    where = indexed_sessions_where(db, Scope(rng.tz, rng.end_ms, rng.end_ms + 1, rng.project))
    active = [sid for (sid,) in db.execute_sql(f"SELECT s.session_id FROM session s{where.sql}",
                                               where.params).fetchall()]
    result = []
    conn = db.connection()
    for part in chunks(active):
        last: dict[str, list[tuple]] = defaultdict(list)
        lines = (Where().add(f"pl.session_id IN ({marks(part)})", *part).add("pl.category IS NOT NULL")
                 .add("pl.ts_ms >= ?", rng.start_ms).add("pl.ts_ms < ?", rng.end_ms))
        for sid, uuid, ts, category in db.execute_sql(
                f"SELECT pl.session_id, pl.uuid, pl.ts_ms, pl.category FROM prompt_line pl{lines.sql} "
                "ORDER BY pl.session_id, pl.ts_ms DESC", lines.params).fetchall():
            if not last[sid] or last[sid][0][1] == ts:
                last[sid].append((uuid, ts, category))
        if not last:
            continue
        calls = session_calls(conn, sorted(last), min(ts for rows in last.values() for _, ts, _ in rows), rng.end_ms)
        for sid, rows in last.items():
            times = [ts for ts, *_ in calls[sid]]
            for uuid, ts, category in rows:
                (text,) = db.execute_sql(f"SELECT substr(text, 1, {TEXT_LIMIT}) FROM message WHERE uuid = ?",
                                         [uuid]).fetchone()
                result.append((ts, category, categorize(text, turn_calls(calls[sid], times, ts, rng.end_ms))))
    return result
