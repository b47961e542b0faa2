"""Incremental ingest: find what changed since the last run, parse it in parallel, commit it in order.

Rows and the file's committed offset are written in one transaction, so a crash or kill at any point
leaves an archive that the next run completes without double counting (the upserts are idempotent).
Source files that disappear are only marked missing: the archive keeps everything it has.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from peewee import SqliteDatabase

from store.ingest.changes import ChangeMarks, mark
from store.ingest.discover import FileContext, classify, iter_given_files, iter_transcript_files
from store.ingest.reader import NO_PROGRESS, RangeTask, head_fingerprint, parse_range, parse_ranges
from store.ingest.rows import ParsedChunk

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

from store.sqlite.bulk import drop_derived_triggers, rebuild_derived
from store.sqlite.connection import PRAGMAS, explain_sqlite_error, transaction
from store.sqlite.search import flush_search_queue
from store.sqlite.writes import LINK_SUBAGENT_TYPES, count_above, max_rowids, write_chunk

RANGE_BYTES = 8 << 20  # work unit handed to a worker
POOL_THRESHOLD_BYTES = 24 << 20  # below this, parsing inline is faster than starting workers
BATCH_FILES = 64  # most ranges per work unit
COMMIT_ROWS = 40_000  # group small chunks into one transaction up to about this many rows
# Bulk mode: without the derived tables' per-row triggers, then rebuilt set-based. On 200 MB into an empty archive
# the triggers cost ~8 s of a 15 s ingest and the rebuild ~2.4 s, which grows with the whole archive (~12 ms/MB)
# while the triggers cost ~40 ms/MB of new logs: bulk wins when the new bytes are more than ~1/3 of the archived
# ones. Below BULK_MIN_BYTES the run holds the write lock too briefly to matter either way: keep the trickle path.
BULK_MIN_BYTES = 16 << 20
BULK_SHARE = 0.5  # bulk when the bytes to read are at least this share of those already archived
# A bulk run's page cache: it writes far more than any cache holds, so a smaller one costs nothing (1 GB cold:
# 35 s either way) and keeps the process small (peak RSS 224 -> 179 MB with 32 instead of 64 MB).
BULK_CACHE_KIB = 32_000

ProgressCallback = Callable[["IngestProgress"], None]


@dataclass(slots=True)
class IngestProgress:
    bytes_total: int
    bytes_done: int = 0
    files_total: int = 0
    files_done: int = 0


@dataclass(slots=True)
class IngestStats:
    run_id: int = 0
    files_seen: int = 0
    files_changed: int = 0
    files_missing: int = 0
    files_reread: int = 0
    bytes_read: int = 0
    lines: int = 0
    malformed_lines: int = 0
    requests_added: int = 0
    messages_added: int = 0
    sessions_added: int = 0
    seconds: float = 0.0
    malformed_examples: dict[str, str] = field(default_factory=dict)
    bulk: bool = False  # written in bulk mode (derived tables rebuilt at the end, see run_ingest)
    cancelled: bool = False  # stopped early by its cancel event; what it parsed is committed
    changes: ChangeMarks | None = None  # what this run added or touched: store.ingest.changes.collect() lists it


@dataclass(slots=True)
class _FilePlan:
    ctx: FileContext
    source_id: int
    start: int
    size: int
    stat: os.stat_result
    reset: bool  # re-read from zero: replaced, truncated or rewritten


def _now_ms() -> int:
    return int(time.time() * 1000)


_KNOWN_SQL = "SELECT path, id, size, mtime_ns, device, inode, committed_offset, head_hash, missing FROM source_file"
_PRESENT_SQL = "SELECT path, size, mtime_ns, device, inode FROM source_file WHERE missing = 0"


def _known_rows(conn: sqlite3.Connection, paths: list[str]) -> dict[str, tuple]:
    known: dict[str, tuple] = {}
    for start in range(0, len(paths), 500):
        batch = paths[start:start + 500]
        known.update((row[0], row) for row in conn.execute(
            f"{_KNOWN_SQL} WHERE path IN ({','.join('?' * len(batch))})", batch))
    return known


def _scan(conn: sqlite3.Connection, roots: list[Path], stats: IngestStats,
          paths: list[str] | None = None) -> list[_FilePlan]:
    """Stat every file (or just ``paths``) and decide where each one must be read from (most: not at all).

    A full scan first compares each file with a light list of what was archived (size, mtime, device, inode),
    and reads the full bookkeeping rows only of the files that differ: a refresh that finds nothing new stays
    cheap on thousands of files."""
    seen: set[str] = set()
    others: list[tuple[str, str, os.stat_result]] = []
    if paths is None:
        present = {row[0]: row[1:] for row in conn.execute(_PRESENT_SQL)}
        for path, projects, st in iter_transcript_files(roots):
            if present.get(path) == (st.st_size, st.st_mtime_ns, st.st_dev, st.st_ino):
                seen.add(path)  # unchanged: the common case, kept free of any other work
                continue
            others.append((path, projects, st))
        known = _known_rows(conn, [path for path, _, _ in others])
    else:
        others = list(iter_given_files(paths, roots))
        known = _known_rows(conn, paths)
    stats.files_seen += len(seen)
    plans: list[_FilePlan] = []
    new_files: list[tuple] = []
    for path, projects, st in others:
        row = known.get(path)
        if row is not None and (row[2] == st.st_size and row[3] == st.st_mtime_ns and row[4] == st.st_dev
                                and row[5] == st.st_ino and not row[8]):
            seen.add(path)
            stats.files_seen += 1
            continue
        ctx = classify(path, projects)
        if ctx is None:
            continue  # e.g. a .meta.json that belongs to no agent
        seen.add(path)
        stats.files_seen += 1
        if row is None:
            new_files.append((ctx, st))
            continue
        _, source_id, _, _, device, inode, offset, head_hash, _ = row
        reset = device != st.st_dev or inode != st.st_ino or st.st_size < offset or ctx.kind == "meta"
        if not reset and offset > 0 and (
                (head_hash and head_fingerprint(ctx.path, int(head_hash.split(":")[0])) != head_hash)
                or not _line_ends_at(ctx.path, offset)):
            reset = True  # rewritten in place: re-read it all (dedup keeps totals exact)
        plans.append(_FilePlan(ctx, source_id, 0 if reset else offset, st.st_size, st, reset))
    if new_files:
        with transaction(conn):
            for ctx, st in new_files:
                cur = conn.execute(
                    "INSERT INTO source_file (path, kind, project_dir, device, inode, size, mtime_ns, "
                    "committed_offset, lines, malformed_lines, missing, rereads) VALUES (?,?,?,?,?,0,0,0,0,0,0,0)",
                    (ctx.path, ctx.kind, ctx.project_dir, st.st_dev, st.st_ino),
                )
                plans.append(_FilePlan(ctx, cur.lastrowid, 0, st.st_size, st, False))
    archived = present if paths is None else [path for path, row in known.items() if not row[8]]
    gone = [(path,) for path in archived if path not in seen and _under(path, roots)]
    if gone:
        with transaction(conn):
            conn.executemany("UPDATE source_file SET missing = 1 WHERE path = ?", gone)
    stats.files_missing = len(gone)
    return plans


def _line_ends_at(path: str, offset: int) -> bool:
    """An appended file still has a newline just before the committed offset; a rewritten one may not."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset - 1)
            return fh.read(1) in (b"\n", b"}")  # "}": a complete last line committed without newline
    except OSError:
        return False


def _under(path: str, roots: list[Path]) -> bool:
    """Is ``path`` inside one of ``roots`` (by path components: ``/a/root2`` is not inside ``/a/root``)?"""
    return any(path.startswith(str(root).rstrip(os.sep) + os.sep) for root in roots)


def _tasks(plans: list[_FilePlan]) -> Iterator[tuple[_FilePlan, RangeTask]]:
    for plan in plans:
        if plan.ctx.kind == "meta" or plan.size - plan.start <= RANGE_BYTES:
            yield plan, RangeTask(plan.ctx, plan.source_id, plan.start, max(plan.size, plan.start), True, True)
            continue
        cut = plan.start
        while cut < plan.size:
            end = min(cut + RANGE_BYTES, plan.size)
            yield plan, RangeTask(plan.ctx, plan.source_id, cut, end, cut == plan.start, end >= plan.size)
            cut = end


def _pool() -> ProcessPoolExecutor:
    import multiprocessing  # imported here: only large ingests pay for it
    from concurrent.futures import ProcessPoolExecutor

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["store.ingest.reader"])
    return ProcessPoolExecutor(max_workers=_worker_count(), mp_context=context)


def _worker_count() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def _batches(items: list[tuple[_FilePlan, RangeTask]]) -> Iterator[list[tuple[_FilePlan, RangeTask]]]:
    """Group ranges into work units of about ``RANGE_BYTES``: one round trip to a worker per unit, not per
    file (thousands of small files would otherwise cost more in inter-process traffic than in parsing)."""
    batch: list[tuple[_FilePlan, RangeTask]] = []
    size = 0
    for plan, task in items:
        batch.append((plan, task))
        size += task.end - task.start
        if size >= RANGE_BYTES or len(batch) >= BATCH_FILES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _parsed(items: list[tuple[_FilePlan, RangeTask]], parallel: bool) -> Iterator[tuple[_FilePlan, RangeTask,
                                                                                      ParsedChunk]]:
    """Parse ranges (in workers when worth it), yielding results in submission order, bounded in flight."""
    if not parallel:
        for plan, task in items:
            yield plan, task, parse_range(task)
        return
    with _pool() as pool:
        window: deque[tuple[list[tuple[_FilePlan, RangeTask]], Future[list[ParsedChunk]]]] = deque()
        limit = _worker_count() * 2
        for batch in _batches(items):
            window.append((batch, pool.submit(parse_ranges, [task for _, task in batch])))
            if len(window) >= limit:
                done, future = window.popleft()
                for (plan, task), chunk in zip(done, future.result(), strict=True):
                    yield plan, task, chunk
        while window:
            done, future = window.popleft()
            for (plan, task), chunk in zip(done, future.result(), strict=True):
                yield plan, task, chunk


def _rows(chunk: ParsedChunk) -> int:
    return (len(chunk.messages) + len(chunk.requests) + len(chunk.tool_calls) + len(chunk.tool_results)
            + len(chunk.raw) + len(chunk.sessions) + 1)


def _bulk_worth(conn: sqlite3.Connection, todo: int) -> bool:
    if todo < BULK_MIN_BYTES:
        return False
    archived = conn.execute("SELECT coalesce(sum(committed_offset), 0) FROM source_file").fetchone()[0]
    return todo >= archived * BULK_SHARE


def run_ingest(db: SqliteDatabase, roots: list[Path], progress: ProgressCallback | None = None,
               parallel: bool | None = None, paths: list[str] | None = None,
               cancel: threading.Event | None = None, bulk: bool | None = None) -> IngestStats:
    """Bring the archive up to date with every transcript under ``roots``; safe to interrupt at any time.

    With ``paths`` (files a watcher saw change) only those are looked at, which keeps live updates cheap. Once
    ``cancel`` is set the run commits what it has parsed and stops (status ``cancelled``): the next run resumes
    from the committed offsets, so quitting during a long first ingest takes a moment, not the whole ingest.

    A run with a lot to read (``bulk`` None: see :func:`_bulk_worth`; never a run over ``paths``) goes in bulk
    mode: one write transaction drops the derived tables' triggers, writes every row, rebuilds the derived tables
    set-based and reinstalls the triggers. Other connections keep reading the state before the run until it
    commits, so they never see rows without their rollups, search index or filings; a process killed in the
    middle leaves the archive as it was before the run.
    """
    started = time.perf_counter()
    stats = IngestStats()
    conn: sqlite3.Connection = db.connection()
    record = paths is None  # a watcher's targeted runs are many and tiny: the run log keeps whole runs only
    try:
        from store.db import rollup_tz

        if record:
            with transaction(conn):
                stats.run_id = conn.execute(
                    "INSERT INTO ingest_run (started_ms, status, files_seen, files_changed, bytes_read, lines, "
                    "malformed_lines, requests_added, messages_added, sessions_added) "
                    "VALUES (?, 'running', 0, 0, 0, 0, 0, 0, 0, 0)",
                    (_now_ms(),),
                ).lastrowid
        before = max_rowids(conn, ("api_request", "message", "session"))
        stats.changes = mark(conn)
        plans = _scan(conn, roots, stats, paths)
        stats.files_changed = len(plans)
        items = list(_tasks(plans))
        todo = sum(max(p.size - p.start, 0) for p in plans)
        state = IngestProgress(bytes_total=todo, files_total=len(plans))
        if progress:
            progress(state)
        if parallel is None:
            parallel = todo >= POOL_THRESHOLD_BYTES
        if paths is None and plans and (bulk if bulk is not None else _bulk_worth(conn, todo)):
            stats.bulk = True
            conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
            try:
                with transaction(conn):
                    drop_derived_triggers(conn)
                    stats.cancelled = _commit_all(conn, items, parallel, stats, state, progress, cancel,
                                                  bulk=True)
                    conn.execute(LINK_SUBAGENT_TYPES)
                    rebuild_derived(conn, rollup_tz(conn))
            finally:
                conn.execute(f"PRAGMA cache_size = {PRAGMAS['cache_size']}")
        else:
            stats.cancelled = _commit_all(conn, items, parallel, stats, state, progress, cancel)
            if plans:
                with transaction(conn):
                    conn.execute(LINK_SUBAGENT_TYPES)
        stats.requests_added = count_above(conn, "api_request", before["api_request"])
        stats.messages_added = count_above(conn, "message", before["message"])
        stats.sessions_added = count_above(conn, "session", before["session"])
        stats.seconds = time.perf_counter() - started
        if record:
            with transaction(conn):
                conn.execute(
                    "UPDATE ingest_run SET finished_ms=?, status=?, files_seen=?, files_changed=?, bytes_read=?, "
                    "lines=?, malformed_lines=?, requests_added=?, messages_added=?, sessions_added=? WHERE id=?",
                    (_now_ms(), "cancelled" if stats.cancelled else "ok", stats.files_seen, stats.files_changed,
                     stats.bytes_read, stats.lines, stats.malformed_lines, stats.requests_added,
                     stats.messages_added, stats.sessions_added, stats.run_id),
                )
        return stats
    except sqlite3.Error as exc:
        error = explain_sqlite_error(exc, db.database)
        _mark_failed(conn, stats.run_id, str(error))
        raise error from exc


def _mark_failed(conn: sqlite3.Connection, run_id: int, message: str) -> None:
    if not run_id:
        return
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        with transaction(conn):
            conn.execute("UPDATE ingest_run SET finished_ms=?, status='failed', error=? WHERE id=?",
                         (_now_ms(), message, run_id))
    except sqlite3.Error:
        pass  # the same condition (full disk, lock) may prevent even this; the run row stays 'running'


def _commit_all(conn: sqlite3.Connection, items: list[tuple[_FilePlan, RangeTask]], parallel: bool,
                stats: IngestStats, state: IngestProgress, progress: ProgressCallback | None,
                cancel: threading.Event | None = None, bulk: bool = False) -> bool:
    """Write the parsed ranges in order, committing every ``COMMIT_ROWS``; True when ``cancel`` stopped it.

    With ``bulk`` the caller holds one transaction for everything and the search index is rebuilt at its end."""
    pending: list[tuple[_FilePlan, RangeTask, ParsedChunk]] = []
    pending_rows = 0
    resets_done: set[int] = set()
    reached: dict[int, int] = {}  # file id -> offset its ranges have reached in this run
    stalled: set[int] = set()  # files whose next range cannot start where the previous one stopped

    def flush() -> None:
        nonlocal pending_rows
        if not pending:
            return
        with nullcontext() if bulk else transaction(conn):  # the rows and the offsets that produced them
            for plan, task, chunk in pending:
                reset = plan.reset and plan.source_id not in resets_done and task.is_first
                if reset:
                    resets_done.add(plan.source_id)
                    conn.execute("UPDATE source_file SET lines = 0, malformed_lines = 0, rereads = rereads + 1 "
                                 "WHERE id = ?", (plan.source_id,))
                write_chunk(conn, chunk)
                offset = reached[plan.source_id] if chunk.end_offset == NO_PROGRESS else chunk.end_offset
                head = head_fingerprint(plan.ctx.path, offset) if offset else None
                conn.execute(
                    "UPDATE source_file SET committed_offset=?, size=?, mtime_ns=?, device=?, inode=?, "
                    "head_hash=coalesce(?, head_hash), lines=lines+?, malformed_lines=malformed_lines+?, "
                    "missing=0, last_error=? WHERE id=?",
                    (offset, plan.stat.st_size if task.is_last else 0, plan.stat.st_mtime_ns
                     if task.is_last else 0, plan.stat.st_dev, plan.stat.st_ino, head, chunk.lines,
                     chunk.malformed, chunk.first_malformed, plan.source_id),
                )
            if not bulk:
                flush_search_queue(conn)  # the new text is searchable from the same commit
        pending.clear()
        pending_rows = 0

    parsed = _parsed(items, parallel)
    for plan, task, chunk in parsed:
        if cancel is not None and cancel.is_set():
            parsed.close()  # leaves the pool: it finishes the few batches in flight, which are dropped
            flush()
            return True
        fid = plan.source_id
        if task.is_first:
            reached[fid] = plan.start
        elif chunk.end_offset != NO_PROGRESS and chunk.start_offset != reached.get(fid):
            stalled.add(fid)  # defensive: never commit past a line no range has read
        if fid in stalled:
            continue  # the next run resumes from the last committed offset
        if chunk.end_offset != NO_PROGRESS:
            reached[fid] = chunk.end_offset
        if plan.reset and task.is_first:
            stats.files_reread += 1
        stats.lines += chunk.lines
        stats.malformed_lines += chunk.malformed
        stats.bytes_read += max(chunk.end_offset - chunk.start_offset, 0)
        if chunk.first_malformed and len(stats.malformed_examples) < 20:
            stats.malformed_examples[plan.ctx.path] = chunk.first_malformed
        pending.append((plan, task, chunk))
        stats.changes.note_chunk(chunk.sessions.keys(), chunk.tool_results.values())
        pending_rows += _rows(chunk)
        if pending_rows >= COMMIT_ROWS:
            flush()
        state.bytes_done += max(task.end - task.start, 0)
        if task.is_last:
            state.files_done += 1
        if progress:
            progress(state)
    flush()
    return False
