"""One ingest at a time on a worker thread, for the server and (later) the tray: never on an event loop.

The runner remembers the current and last run so the API can answer "is a sync running" without a query, and
refuses a second run or a reset while one is in progress.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from store.analytics.sync import reset_bookkeeping
from store.archive import Archive
from store.ingest.changes import Changes, collect
from store.ingest.runner import IngestStats
from store.retention import prune_sessions

log = logging.getLogger(__name__)


class SyncInProgress(RuntimeError):
    """A sync is already running; the caller may retry once it has finished."""


@dataclass(slots=True)
class SyncResult:
    sync_id: str
    started_ms: int
    finished_ms: int | None = None
    stats: IngestStats | None = None
    pruned_sessions: int = 0
    error: str | None = None
    paths: int | None = None  # number of files a targeted (watcher) run looked at; None = every file


class SyncRunner:
    def __init__(self, archive: Archive, on_finished: Callable[[SyncResult], None] | None = None,
                 on_started: Callable[[SyncResult], None] | None = None,
                 on_changes: Callable[[SyncResult, Changes], None] | None = None) -> None:
        self.archive = archive
        self.on_finished = on_finished
        self.on_started = on_started
        self.on_changes = on_changes  # what each run added, as events (the live feed)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self.current: SyncResult | None = None
        self.last: SyncResult | None = None

    @property
    def is_running(self) -> bool:
        return self.current is not None

    def start(self, full: bool = False, paths: list[str] | None = None) -> SyncResult:
        """Start a run in the background (``full``: forget the read offsets first; ``paths``: only these
        files, as a watcher reports them); raises SyncInProgress."""
        with self._lock:
            if self.current is not None:
                raise SyncInProgress(f"Sync {self.current.sync_id} is already running")
            if self._cancel.is_set():
                raise SyncInProgress("Devhelion is shutting down")
            result = SyncResult(sync_id=str(uuid.uuid4()), started_ms=int(time.time() * 1000),
                                paths=None if paths is None else len(paths))
            self.current = result
            self._thread = threading.Thread(target=self._run, args=(result, full, paths), name="devhelion-sync",
                                            daemon=True)
            self._thread.start()
            return result

    def run_when_free(self, paths: list[str] | None = None, timeout: float = 600.0) -> SyncResult | None:
        """Run now on a worker and wait for it, first waiting for a run in progress (the watcher's way in:
        its changes must not be dropped because a manual sync happened to be running)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._cancel.is_set():
            try:
                result = self.start(paths=paths)
            except SyncInProgress:
                self.wait(max(deadline - time.monotonic(), 0))
                continue
            self.wait(max(deadline - time.monotonic(), 0))
            return result
        return None

    def reset(self) -> int:
        """Clear the read offsets so the next run re-reads every file; raises SyncInProgress during a run."""
        with self._lock:
            if self.current is not None:
                raise SyncInProgress(f"Sync {self.current.sync_id} is running; reset it when it has finished")
            return reset_bookkeeping(self.archive.db)

    def cancel(self) -> None:
        """Stop the run in progress at its next commit (quitting): what it parsed is kept, the rest is read
        by the next run. Runs started afterwards are refused."""
        with self._lock:
            self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the current run; True when none is running any more."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.current is None

    def _run(self, result: SyncResult, full: bool, paths: list[str] | None = None) -> None:
        db = self.archive.db
        try:
            if self.on_started:
                self.on_started(result)
            if full:
                reset_bookkeeping(db)
            # never bulk in the app: a bulk run holds the write lock to its end (tens of seconds for a first
            # ingest of a large history), and the app keeps writing (hook events, budgets, notes) meanwhile
            result.stats = self.archive.refresh(paths=paths, cancel=self._cancel, bulk=False)
            self.archive.take_spooled()  # hook events the relay could not write while the archive was busy
            if self.on_changes and result.stats.changes is not None:
                self.on_changes(result, collect(db.connection(), result.stats.changes, self.archive.prices))
            if paths is None:  # retention is applied on whole runs, not on every live update
                result.pruned_sessions = prune_sessions(db, self.archive.settings.retention_days)
        except Exception as exc:  # the thread must always finish its bookkeeping; the error is reported
            log.exception("sync %s failed", result.sync_id)
            result.error = str(exc) or type(exc).__name__
        finally:
            db.close()  # connections are per thread: release this one before the thread ends
            result.finished_ms = int(time.time() * 1000)
            with self._lock:
                self.current = None
                self.last = result
            if self.on_finished:
                self.on_finished(result)
