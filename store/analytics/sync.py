"""Sync bookkeeping for the API: the last ingest run, what a run would read now, archive size, and reset."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from peewee import Database

from store.analytics.range import iso
from store.ingest.discover import classify, iter_transcript_files
from store.sqlite.rollup_tables import ALL_PROJECTS

PREVIEW_COUNT_BYTES = 64 << 20  # count lines exactly up to this many pending bytes, estimate beyond
DEFAULT_LINE_BYTES = 2048
_BLOCK = 1 << 20


def last_run(db: Database) -> dict[str, Any]:
    """The most recent finished ingest run (from the server, the CLI or the tray alike)."""
    row = db.execute_sql(
        "SELECT started_ms, finished_ms, status, files_changed, sessions_added, messages_added, requests_added, "
        "malformed_lines, error FROM ingest_run WHERE finished_ms IS NOT NULL ORDER BY finished_ms DESC, id DESC "
        "LIMIT 1").fetchone()
    if row is None:
        return {"lastSync": None, "lastSyncDuration": None, "lastSyncStatus": None, "lastSyncError": None,
                "lastSyncStats": None}
    started, finished, status, files, sessions, messages, requests, malformed, error = row
    return {
        "lastSync": iso(finished),
        "lastSyncDuration": finished - started,
        "lastSyncStatus": status,
        "lastSyncError": error,
        "lastSyncStats": {"filesProcessed": files, "sessionsAdded": sessions, "messagesAdded": messages,
                          "requestsAdded": requests, "errors": malformed + (status == "failed")},
    }


def preview(db: Database, roots: list[Path]) -> dict[str, Any]:
    """Files a sync would read now, from a stat of each file against its bookkeeping row; writes nothing."""
    known = {path: rest for path, *rest in db.execute_sql(
        "SELECT path, size, mtime_ns, device, inode, committed_offset, missing FROM source_file").fetchall()}
    read, lines = db.execute_sql("SELECT coalesce(sum(committed_offset), 0), coalesce(sum(lines), 0) "
                                 "FROM source_file").fetchone()
    line_bytes = read / lines if lines else DEFAULT_LINE_BYTES
    budget = PREVIEW_COUNT_BYTES
    pending = []
    for path, projects, st in iter_transcript_files(roots):
        row = known.get(path)
        if row is not None and row[:4] == [st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino] and not row[5]:
            continue
        ctx = classify(path, projects)
        if ctx is None:
            continue
        start = 0
        if row is not None and row[2:4] == [st.st_dev, st.st_ino] and st.st_size >= row[4] and ctx.kind != "meta":
            start = row[4]
        todo = max(st.st_size - start, 0)
        if ctx.kind == "meta":
            messages = 0
        elif todo <= budget:
            messages = _count_lines(path, start, st.st_size)
            budget -= todo
        else:
            messages = round(todo / line_bytes)
        pending.append({
            "path": path,
            "lastModified": iso(st.st_mtime_ns // 1_000_000),
            "pendingBytes": todo,
            "estimatedSessions": int(row is None and ctx.kind == "session"),
            "estimatedMessages": messages,
        })
    pending.sort(key=lambda p: p["path"])
    return {
        "pendingFiles": pending,
        "totalPendingFiles": len(pending),
        "estimatedNewSessions": sum(p["estimatedSessions"] for p in pending),
        "estimatedNewMessages": sum(p["estimatedMessages"] for p in pending),
    }


def _count_lines(path: str, start: int, end: int) -> int:
    """Complete lines in ``[start, end)``, plus a final line without newline (ingest reads it if complete)."""
    count, last = 0, b"\n"
    try:
        with open(path, "rb") as fh:
            fh.seek(start)
            remaining = end - start
            while remaining > 0:
                block = fh.read(min(_BLOCK, remaining))
                if not block:
                    break
                count += block.count(b"\n")
                last = block[-1:]
                remaining -= len(block)
    except OSError:
        return 0
    return count + (last != b"\n")


def archive_stats(db: Database, path: Path, retention_days: int | None) -> dict[str, Any]:
    sessions, oldest, newest = db.execute_sql(
        "SELECT count(*), min(first_ts_ms), max(first_ts_ms) FROM session").fetchone()
    # row counts from the rollups (all projects, every day) instead of counting millions of rows
    messages = db.execute_sql(f"SELECT coalesce(sum(messages), 0) FROM activity_day WHERE project_id = "
                              f"{ALL_PROJECTS}").fetchone()[0]
    requests = db.execute_sql(f"SELECT coalesce(sum(requests), 0) FROM usage_day WHERE project_id = {ALL_PROJECTS}"
                              ).fetchone()[0] + db.execute_sql("SELECT count(*) FROM api_request WHERE model IS NULL"
                                                               ).fetchone()[0]
    files = db.execute_sql("SELECT count(*) FROM source_file").fetchone()[0]
    size = sum(os.path.getsize(p) for p in (path, Path(f"{path}-wal")) if os.path.exists(p))
    return {
        "totalSessions": sessions,
        "totalMessages": messages,
        "totalRequests": requests,
        "sourceFiles": files,
        "oldestSession": iso(oldest),
        "newestSession": iso(newest),
        "databaseSize": human_size(size),
        "databaseSizeBytes": size,
        "retentionDays": retention_days,
    }


def human_size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def reset_bookkeeping(db: Database) -> int:
    """Forget how far each file was read, so the next run re-reads everything. Rows are kept: the upserts are
    idempotent, so re-reading changes no total. Returns the number of files reset."""
    with db.atomic():
        cursor = db.execute_sql(
            "UPDATE source_file SET committed_offset = 0, size = 0, mtime_ns = 0, head_hash = NULL, lines = 0, "
            "malformed_lines = 0, last_error = NULL")
    return cursor.rowcount
