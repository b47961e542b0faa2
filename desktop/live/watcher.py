"""Watch the log roots' ``projects/`` folders and report which transcript files changed, debounced.

watchdog (inotify, FSEvents, ReadDirectoryChangesW) reports writes as they happen; a periodic full rescan backs
it up where those events are missed (network drives, WSL mounts). A root that does not exist yet is watched
through its nearest existing parent and picked up once it appears. Only ``projects/`` is watched recursively:
the rest of ``~/.claude`` (shell snapshots, debug logs) changes constantly and is none of our business.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from store.paths import projects_dir

log = logging.getLogger(__name__)

# paths that changed, or None for "rescan everything" (start, resume, a root appeared, periodic backup)
ChangeCallback = Callable[[list[str] | None], None]
SUFFIXES = (".jsonl", ".meta.json")


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: LogWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        self.watcher._on_event(event)


class LogWatcher:
    def __init__(self, roots: list[Path], on_changes: ChangeCallback, debounce_s: float = 0.05,
                 max_delay_s: float = 0.25, rescan_interval_s: float = 30.0) -> None:
        self.roots = [Path(r) for r in roots]
        self.on_changes = on_changes
        self.debounce_s = debounce_s
        self.max_delay_s = max_delay_s  # under a constant stream of writes, report at least this often
        self.rescan_interval_s = rescan_interval_s
        self._observer: Observer | None = None
        self._cond = threading.Condition()
        self._pending: set[str] = set()
        self._full_rescan = False
        self._first_event = 0.0
        self._last_event = 0.0
        self._paused = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._watched: dict[str, bool] = {}  # path -> recursive
        self.events_seen = 0

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        self._stopping = False
        self._schedule()
        self._thread = threading.Thread(target=self._loop, name="devhelion-watcher", daemon=True)
        self._thread.start()
        self.request_rescan()  # whatever changed while we were not running

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Stop reporting changes (events are dropped; resume rescans, so nothing is lost)."""
        with self._cond:
            self._paused = True
            self._pending.clear()
            self._full_rescan = False

    def resume(self) -> None:
        with self._cond:
            self._paused = False
        self.request_rescan()

    def set_roots(self, roots: list[Path]) -> None:
        """Watch other roots from now on (settings changed); rescans them."""
        self.roots = [Path(r) for r in roots]
        self._schedule()
        self.request_rescan()

    def request_rescan(self) -> None:
        with self._cond:
            if self._paused:
                return
            self._full_rescan = True
            self._first_event = self._first_event or time.monotonic()
            self._last_event = time.monotonic()
            self._cond.notify_all()

    # -- observer ------------------------------------------------------------------------------------
    def _targets(self) -> dict[str, bool]:
        """What to watch: each root's projects/ recursively, or the nearest existing parent for its creation."""
        targets: dict[str, bool] = {}
        for root in self.roots:
            projects = projects_dir(root)
            if projects.is_dir():
                targets[str(projects)] = True
                continue
            parent = projects.parent
            while not parent.is_dir() and parent != parent.parent:
                parent = parent.parent
            targets.setdefault(str(parent), False)
        return targets

    def _schedule(self) -> None:
        targets = self._targets()
        if targets == self._watched and self._observer is not None:
            return
        old = self._observer
        observer = Observer()
        for path, recursive in targets.items():
            try:
                observer.schedule(_Handler(self), path, recursive=recursive)
            except OSError as exc:  # e.g. inotify watch limit reached: the periodic rescan still works
                log.warning("cannot watch %s: %s", path, exc)
        observer.daemon = True
        observer.start()
        self._observer, self._watched = observer, targets
        if old is not None:
            old.stop()

    def _on_event(self, event: FileSystemEvent) -> None:
        self.events_seen += 1
        paths = [os.fsdecode(event.src_path)]
        if getattr(event, "dest_path", None):
            paths.append(os.fsdecode(event.dest_path))
        relevant: list[str] = []
        recursive_tops = [path + os.sep for path, recursive in self._watched.items() if recursive]
        outside = False
        for path in paths:
            if path.endswith(SUFFIXES):
                relevant.append(path)
            elif event.is_directory and event.event_type in ("created", "moved"):
                # a new project or subagent folder: files may have been written before its watch existed
                relevant.extend(_files_below(path))
            outside = outside or not any(path.startswith(top) for top in recursive_tops)
        if outside and self._targets() != self._watched:
            self._schedule()  # activity beside a root that did not exist yet: now it does (or vanished)
            self.request_rescan()
            return
        if not relevant:
            return
        with self._cond:
            if self._paused:
                return
            now = time.monotonic()
            if not self._pending and not self._full_rescan:
                self._first_event = now
            self._pending.update(relevant)
            self._last_event = now
            self._cond.notify_all()

    # -- reporting -----------------------------------------------------------------------------------
    def _loop(self) -> None:
        next_rescan = time.monotonic() + self.rescan_interval_s
        while True:
            with self._cond:
                while not self._stopping:
                    now = time.monotonic()
                    if self._pending or self._full_rescan:
                        quiet_at = self._last_event + self.debounce_s
                        latest = self._first_event + self.max_delay_s
                        due = min(quiet_at, latest)
                        if now >= due:
                            break
                        self._cond.wait(due - now)
                    else:
                        if now >= next_rescan:
                            self._full_rescan = not self._paused
                            if self._full_rescan:
                                break
                            next_rescan = now + self.rescan_interval_s
                        self._cond.wait(max(next_rescan - now, 0.01))
                if self._stopping:
                    return
                full, paths = self._full_rescan, sorted(self._pending)
                self._pending.clear()
                self._full_rescan = False
                self._first_event = 0.0
            if full:
                next_rescan = time.monotonic() + self.rescan_interval_s
                if self._targets() != self._watched:
                    self._schedule()  # a root appeared or vanished since
            try:
                self.on_changes(None if full else paths)
            except Exception:  # the consumer logs its own failures; the watcher must keep running
                log.exception("change handler failed")


def _files_below(folder: str) -> list[str]:
    found: list[str] = []
    for dirpath, _dirs, files in os.walk(folder):
        found.extend(os.path.join(dirpath, f) for f in files if f.endswith(SUFFIXES))
    return found
