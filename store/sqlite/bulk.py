"""Bulk ingest (see store/ingest/runner.py): the derived tables' per-row triggers dropped, then every derived
table rebuilt set-based in the same transaction."""

from __future__ import annotations

import sqlite3
from datetime import tzinfo

from store.sqlite.day_rollups import rebuild_day_rollups
from store.sqlite.queues import queue_all_errors, queue_all_prompts
from store.sqlite.search import rebuild_search_index
from store.sqlite.usage_rollup import install_rollup_triggers, rebuild_rollup

# A large ingest runs without the per-row triggers of the derived tables (usage_rollup, the day rollups, the
# error and prompt queues, the search index) and rebuilds them set-based at the end, several times cheaper.
# All of it is one transaction: a process killed in the middle leaves the archive as it was before the run.
_DERIVED_TRIGGER_PREFIXES = ("rollup\\_", "dr\\_", "dq\\_", "search\\_")


def drop_derived_triggers(conn: sqlite3.Connection) -> None:
    """Stop maintaining every derived table row by row (caller owns the transaction; ``rebuild_derived`` ends it)."""
    where = " OR ".join(f"name LIKE '{p}%' ESCAPE '\\'" for p in _DERIVED_TRIGGER_PREFIXES)
    for (name,) in conn.execute(f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND ({where})").fetchall():
        conn.execute(f"DROP TRIGGER {name}")


def rebuild_derived(conn: sqlite3.Connection, tz: tzinfo) -> None:
    """Recompute every derived table from the archived rows and reinstall their triggers, all in the caller's
    transaction (so a reader sees either the old state or the finished one)."""
    from store.monitor.error_filing import file_queue  # pattern and prompt rules live with their statistics
    from store.monitor.prompt_filing import file_prompt_queue

    drop_derived_triggers(conn)
    rebuild_rollup(conn)
    install_rollup_triggers(conn)
    rebuild_search_index(conn)  # installs the search triggers again
    for table in ("error_pending", "error_call", "prompt_pending", "prompt_line"):
        conn.execute(f"DELETE FROM {table}")
    queue_all_errors(conn)
    file_queue(conn)
    queue_all_prompts(conn)
    file_prompt_queue(conn)
    rebuild_day_rollups(conn, tz, with_files=True)  # installs the day triggers again
