"""The live loop: the watcher reports changed transcripts, the sync runner ingests them on a worker thread, and
what each run added reaches the event bus (and from there `/ws`, the dashboard and the tray)."""

from __future__ import annotations

import logging

from desktop.live.bus import EventBus
from desktop.live.watcher import LogWatcher
from store.ingest.changes import Changes
from store.sync_runner import SyncResult, SyncRunner

log = logging.getLogger(__name__)


def _run_summary(result: SyncResult) -> dict:
    stats = result.stats
    summary = {"sync_id": result.sync_id, "started_ms": result.started_ms, "finished_ms": result.finished_ms,
               "targeted": result.paths is not None, "error": result.error}
    if stats is not None:
        summary.update(files_changed=stats.files_changed, lines=stats.lines, requests_added=stats.requests_added,
                       messages_added=stats.messages_added, sessions_added=stats.sessions_added,
                       malformed_lines=stats.malformed_lines, seconds=round(stats.seconds, 4))
    return summary


class LiveService:
    def __init__(self, runner: SyncRunner, bus: EventBus, rescan_interval_s: float = 30.0,
                 debounce_s: float = 0.05) -> None:
        self.runner = runner
        self.bus = bus
        runner.on_started = self._started
        runner.on_changes = self._changes
        previous_finished = runner.on_finished

        def finished(result: SyncResult) -> None:
            if previous_finished:
                previous_finished(result)
            self._finished(result)

        runner.on_finished = finished
        self.watcher = LogWatcher(runner.archive.roots, self._on_files_changed, debounce_s=debounce_s,
                                  rescan_interval_s=rescan_interval_s)

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        self.watcher.start()  # its first report is a full rescan: what changed while we were away

    def stop(self) -> None:
        self.watcher.stop()
        self.runner.cancel()  # a long ingest commits what it has parsed and stops; the next start resumes it
        self.runner.wait(30)

    @property
    def paused(self) -> bool:
        return self.watcher.paused

    def pause(self) -> None:
        self.watcher.pause()
        self.bus.publish({"type": "watch.paused"})

    def resume(self) -> None:
        self.watcher.resume()
        self.bus.publish({"type": "watch.resumed"})

    def roots_changed(self) -> None:
        """The settings' log roots changed: watch the new ones (and rescan)."""
        self.watcher.set_roots(self.runner.archive.roots)

    # -- runner hooks (worker thread) ----------------------------------------------------------------
    def _on_files_changed(self, paths: list[str] | None) -> None:
        self.runner.run_when_free(paths)

    def _started(self, result: SyncResult) -> None:
        if result.paths is None:  # targeted runs are many and tiny: their events speak for themselves
            self.bus.publish({"type": "sync.started", "sync_id": result.sync_id, "started_ms": result.started_ms})

    def _changes(self, result: SyncResult, changes: Changes) -> None:
        for event in changes.events:
            event["sync_id"] = result.sync_id
            self.bus.publish(event)
        if changes.truncated:
            self.bus.publish({"type": "sync.truncated", "sync_id": result.sync_id,
                              "listed": len(changes.events)})

    def _finished(self, result: SyncResult) -> None:
        if result.paths is None or result.error:
            self.bus.publish({"type": "sync.finished", **_run_summary(result)})
