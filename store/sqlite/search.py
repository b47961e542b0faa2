"""Full-text search over the archive (see store/search, which turns user queries into SQL): the FTS5 tables,
their queues and triggers, indexing the queue, rebuild and integrity check."""

from __future__ import annotations

import sqlite3

# External-content FTS5 tables over views of the archive's own rows: the text is stored once (in ``message``
# and ``tool_call``), the index holds only tokens. One table per source, so a tool result arriving after its
# call indexes only the result. Triggers queue new rows' rowids; whoever commits ``write_chunk``'s rows calls
# ``flush_search_queue`` before the commit, which indexes the queue in one statement per table. (SQLite before
# 3.44 flushes FTS5's pending terms at every statement once the index was written in a transaction: indexing row
# by row from triggers made cold ingest more than twice as slow, and flushing per chunk still cost ~50%.)
# Deletes and changes of rows already indexed go straight to the index (rare: retention, a replaced result).
# Rows are keyed by the source's rowid: a VACUUM may renumber those, so run ``rebuild_search_index`` after one.
SEARCH_TOKENIZER = "unicode61 remove_diacritics 2"  # words, case- and accent-insensitive; no stemming (code)
SEARCH_RESULT_CHARS = 2_000  # tool results are indexed (and snippeted) up to here: the start says what it was
_SEARCH_SOURCES = {  # fts table -> (source table, column, indexed expression of a row r)
    "search_message": ("message", "text", "{r}.text"),
    "search_tool_input": ("tool_call", "input_json", "{r}.input_json"),
    "search_tool_result": ("tool_call", "result_text", f"substr({{r}}.result_text, 1, {SEARCH_RESULT_CHARS})"),
}
SEARCH_TABLES = tuple(_SEARCH_SOURCES)


def _search_ddl(fts: str, table: str, column: str, expr: str) -> list[str]:
    new, old = expr.format(r="NEW"), expr.format(r="OLD")
    queue = f"INSERT OR IGNORE INTO {fts}_pending (rid) SELECT NEW.rowid WHERE NEW.{column} IS NOT NULL;"
    unindex = (f"INSERT INTO {fts} ({fts}, rowid, body) SELECT 'delete', OLD.rowid, {old} "
               f"WHERE OLD.{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {fts}_pending WHERE rid = OLD.rowid); "
               f"DELETE FROM {fts}_pending WHERE rid = OLD.rowid;")
    return [
        f"CREATE TABLE IF NOT EXISTS {fts}_pending (rid INTEGER PRIMARY KEY)",
        f"CREATE VIEW IF NOT EXISTS {fts}_src AS SELECT rowid AS rid, {expr.format(r=table)} AS body FROM {table} "
        f"WHERE {column} IS NOT NULL",
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(body, content='{fts}_src', content_rowid='rid', "
        f"tokenize='{SEARCH_TOKENIZER}')",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {table} WHEN NEW.{column} IS NOT NULL "
        f"BEGIN {queue} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {table} WHEN OLD.{column} IS NOT NULL "
        f"BEGIN {unindex} END",
        f"CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {column} ON {table} WHEN {old} IS NOT {new} "
        f"BEGIN {unindex} {queue} END",
    ]


def install_search_index(conn: sqlite3.Connection) -> None:
    """Create the search tables, their source views, queues and triggers (idempotent)."""
    for fts, (table, column, expr) in _SEARCH_SOURCES.items():
        for statement in _search_ddl(fts, table, column, expr):
            conn.execute(statement)


def flush_search_queue(conn: sqlite3.Connection) -> None:
    """Index the rows queued by the triggers, one statement per table; the caller owns the transaction."""
    for fts in SEARCH_TABLES:
        if conn.execute(f"SELECT 1 FROM {fts}_pending LIMIT 1").fetchone() is None:
            continue
        conn.execute(f"INSERT INTO {fts} (rowid, body) SELECT rid, body FROM {fts}_src "
                     f"WHERE rid IN (SELECT rid FROM {fts}_pending)")
        conn.execute(f"DELETE FROM {fts}_pending")


def rebuild_search_index(conn: sqlite3.Connection) -> None:
    """Index every row already archived (migration of an older archive, or repair after a VACUUM)."""
    install_search_index(conn)
    for fts in SEARCH_TABLES:
        conn.execute(f"DELETE FROM {fts}_pending")
        conn.execute(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")


def search_index_problems(conn: sqlite3.Connection) -> list[str]:
    """FTS5's integrity check of each search table against its source rows, after indexing the queue (empty
    when consistent)."""
    flush_search_queue(conn)
    problems = []
    for fts in SEARCH_TABLES:
        try:
            conn.execute(f"INSERT INTO {fts} ({fts}, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as exc:
            problems.append(f"{fts}: {exc}")
    return problems
