"""The dashboard's session table: one page of sessions in the filters' range, sorted by any of its columns.

The search and the tag filter are the API's (``/api/sessions?search=&tag=``): the search matches titles, path
and branch, and the full-text index over every line, tool input and tool result. Sorting by time columns uses
the session table alone; sorting by cost or tokens prices the requests of the range per session first (the price
is computed at query time, so there is no column to sort by), which is slower on very large ranges.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

from peewee import Database

from store.monitor.params import Page, Scope
from store.monitor.sessions import now_ms, session_facts, session_json, session_row
from store.monitor.sql import Where, requests_where, sessions_where
from store.monitor.usage import priced_usage
from store.notes import tag_condition, tags_of
from store.pricing import PriceTable
from store.search import session_text_condition

SortKey = Literal["last", "started", "duration", "cost", "tokens"]
_COLUMNS: dict[str, str] = {"last": "s.last_ts_ms", "started": "s.first_ts_ms",
                            "duration": "(s.last_ts_ms - s.first_ts_ms)"}
SORT_KEYS: tuple[str, ...] = (*_COLUMNS, "cost", "tokens")


def _sessions_where(db: Database, scope: Scope, tag: str | None) -> Where:
    """Sessions of the scope, matching the search (full-text) and carrying the tag, as the API selects them."""
    where = sessions_where(replace(scope, search=None))
    if scope.search:
        where.add(*_flat(session_text_condition(db, scope.search)))
    if tag:
        where.add(*_flat(tag_condition(tag)))
    return where


def _flat(pair: tuple[str, list[Any]]) -> tuple[Any, ...]:
    return (pair[0], *pair[1])


def session_page(db: Database, prices: PriceTable, scope: Scope, page: Page, sort: str = "last",
                 descending: bool = True, now: int | None = None, tag: str | None = None) -> dict[str, Any]:
    """``{"sessions": [...], "total": n}`` shaped like ``store.monitor.sessions.list_sessions`` (with each
    session's ``tags``)."""
    if sort not in SORT_KEYS:
        raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}")
    where = _sessions_where(db, scope, tag)
    direction = "DESC" if descending else "ASC"
    if sort in _COLUMNS:
        total = db.execute_sql(f"SELECT count(*) FROM session s{where.sql}", where.params).fetchone()[0]
        ids = [r[0] for r in db.execute_sql(
            f"SELECT s.session_id FROM session s{where.sql} ORDER BY {_COLUMNS[sort]} {direction}, "
            f"s.session_id {direction} LIMIT ? OFFSET ?", [*where.params, page.limit, page.offset]).fetchall()]
    else:
        ids, total = _by_usage(db, prices, scope, where, page, sort, descending)
    facts = session_facts(db, prices, ids)
    current = now_ms() if now is None else now
    tags = tags_of(db, ids)
    rows = [session_json(session_row(db, sid), facts, current) | {"tags": tags.get(sid, [])} for sid in ids]
    return {"sessions": rows, "total": total, "limit": page.limit, "offset": page.offset,
            "has_more": page.offset + len(rows) < total, "sort": sort, "descending": descending}


def _by_usage(db: Database, prices: PriceTable, scope: Scope, where: Where, page: Page, sort: str,
              descending: bool) -> tuple[list[str], int]:
    matching = [r[0] for r in db.execute_sql(f"SELECT s.session_id FROM session s{where.sql}", where.params)]
    usage = priced_usage(db, prices, requests_where(Scope(scope.tz, scope.start_ms, scope.end_ms, scope.project,
                                                          scope.model)), "r.session_id")

    def key(sid: str) -> tuple:
        entry = usage.get(sid)
        value = (entry.total.cost if sort == "cost" else entry.total.total_tokens) if entry else 0
        return (value, sid)

    ordered = sorted(matching, key=key, reverse=descending)
    return ordered[page.offset : page.offset + page.limit], len(ordered)
