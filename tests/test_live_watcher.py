"""The log watcher on a real filesystem: appends, new project and subagent folders, late roots, pause/resume."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.live.watcher import LogWatcher


class Recorder:
    def __init__(self) -> None:
        self.calls: list[list[str] | None] = []
        self.cond = threading.Condition()

    def __call__(self, paths: list[str] | None) -> None:
        with self.cond:
            self.calls.append(paths)
            self.cond.notify_all()

    def wait_for(self, predicate, timeout: float = 5.0) -> list[list[str] | None]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self.calls):
                left = deadline - time.monotonic()
                assert left > 0, f"timed out; calls so far: {self.calls}"
                self.cond.wait(left)
            return list(self.calls)

    def paths(self) -> set[str]:
        return {p for call in self.calls if call for p in call}


@pytest.fixture()
def watched(tmp_path: Path) -> Iterator[tuple[Path, Recorder, LogWatcher]]:
    root = tmp_path / "claude"
    recorder = Recorder()
    watcher = LogWatcher([root], recorder, debounce_s=0.05, rescan_interval_s=60)
    watcher.start()
    recorder.wait_for(lambda calls: None in calls)  # the start-up rescan
    recorder.calls.clear()
    yield root, recorder, watcher
    watcher.stop()


def test_root_created_later_then_appends_are_reported(watched: tuple[Path, Recorder, LogWatcher]) -> None:
    root, recorder, watcher = watched
    session = root / "projects" / "-home-u-p" / "s.jsonl"
    session.parent.mkdir(parents=True)
    recorder.wait_for(lambda calls: None in calls)  # the root appeared: a full rescan
    recorder.wait_for(lambda calls: watcher._watched == {str(root / "projects"): True})
    recorder.calls.clear()
    start = time.monotonic()
    with session.open("a") as fh:
        fh.write('{"type":"user"}\n')
    recorder.wait_for(lambda calls: str(session) in recorder.paths())
    assert time.monotonic() - start < 1.0


def test_new_subagent_folder_and_burst_debounced(watched: tuple[Path, Recorder, LogWatcher]) -> None:
    root, recorder, watcher = watched
    (root / "projects").mkdir(parents=True)
    recorder.wait_for(lambda calls: watcher._watched.get(str(root / "projects")) is True)
    recorder.calls.clear()
    agent = root / "projects" / "-p" / "s" / "subagents" / "agent-a1.jsonl"
    agent.parent.mkdir(parents=True)
    agent.write_text("{}\n")
    recorder.wait_for(lambda calls: str(agent) in recorder.paths())
    recorder.calls.clear()
    session = root / "projects" / "-p" / "s.jsonl"
    with session.open("a") as fh:
        for n in range(200):  # a burst of writes is reported in few calls, never one per write
            fh.write(f'{{"n":{n}}}\n')
            fh.flush()
    recorder.wait_for(lambda calls: str(session) in recorder.paths())
    time.sleep(0.3)
    assert len(recorder.calls) <= 5


def test_pause_drops_events_and_resume_rescans(watched: tuple[Path, Recorder, LogWatcher]) -> None:
    root, recorder, watcher = watched
    (root / "projects" / "-p").mkdir(parents=True)
    recorder.wait_for(lambda calls: watcher._watched.get(str(root / "projects")) is True)
    watcher.pause()
    recorder.calls.clear()
    (root / "projects" / "-p" / "s.jsonl").write_text("{}\n")
    time.sleep(0.3)
    assert recorder.calls == []
    watcher.resume()
    recorder.wait_for(lambda calls: calls == [None])


def test_other_files_are_ignored(watched: tuple[Path, Recorder, LogWatcher]) -> None:
    root, recorder, watcher = watched
    (root / "projects" / "-p").mkdir(parents=True)
    recorder.wait_for(lambda calls: watcher._watched.get(str(root / "projects")) is True)
    recorder.calls.clear()
    (root / "projects" / "-p" / "notes.txt").write_text("x")
    (root / "todos").mkdir()
    (root / "todos" / "t.json").write_text("[]")
    time.sleep(0.3)
    assert recorder.paths() == set()


def test_periodic_rescan_backs_up_missed_events(tmp_path: Path) -> None:
    recorder = Recorder()
    watcher = LogWatcher([tmp_path / "claude"], recorder, rescan_interval_s=0.2)
    watcher.start()
    try:
        calls = recorder.wait_for(lambda calls: calls.count(None) >= 3, timeout=5)
        assert all(call is None for call in calls)
    finally:
        watcher.stop()
