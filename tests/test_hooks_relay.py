"""Hook payloads: stored as Claude Code sent them (the real samples), and the `devhelion hook` relay as a real
process — to the running app when there is one, into the archive when not, always silent, 0 and within a second."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from desktop.claude_settings import relay_command
from store.archive import open_default
from store.db import open_archive
from store.hooks import (
    HOOK_COLUMNS,
    HookPayloadError,
    drain_spooled_hooks,
    hook_events,
    parse_hook_payload,
    record_hook_event,
)
from store.models.app import HookEvent, QuotaSample
from store.quota import QUOTA_COLUMNS
from store.spool import HOOKS, append, spool_file
from tests.api_server import free_port
from tests.relay_tools import env_for, real_hook_payloads, run_desktop

SESSION_START = {"session_id": "c45af7b1", "transcript_path": "/root/.claude/projects/-workspace/c45af7b1.jsonl",
                 "cwd": "/workspace", "hook_event_name": "SessionStart", "source": "startup"}


# The relay ends itself 0.9 s into its run (desktop.fast_entry.exit_after); the wall time measured here adds the
# interpreter's start-up, which a loaded 2-core machine stretches well past 100 ms.
WALL_S = 2.0


def stored(home: Path) -> list[tuple]:
    with sqlite3.connect(home / "devhelion.db") as conn:
        return conn.execute("SELECT event_name, session_id, tool_name, cwd, transcript_path, raw FROM hook_event "
                            "ORDER BY id").fetchall()


def drained(home: Path) -> list[tuple]:
    """What the archive holds once it has been opened the way the app and every CLI command open it."""
    previous = os.environ.get("DEVHELION_HOME")
    os.environ["DEVHELION_HOME"] = str(home)
    try:
        open_default().close()
    finally:
        if previous is None:
            del os.environ["DEVHELION_HOME"]
        else:
            os.environ["DEVHELION_HOME"] = previous
    return stored(home)


def relay(home: Path, payload: Any, cwd: Path) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return run_desktop(["hook"], env_for(home), stdin=body, cwd=cwd, isolated=True)


def test_models_and_relay_sql_name_the_same_columns() -> None:
    """The relays write with plain SQL; these lists must stay the models' columns."""
    assert [f.column_name for f in HookEvent._meta.sorted_fields] == ["id", *HOOK_COLUMNS]
    assert [f.column_name for f in QuotaSample._meta.sorted_fields] == ["id", *QUOTA_COLUMNS]


def test_real_sample_payloads_are_stored_with_their_event_names(tmp_path: Path) -> None:
    payloads = real_hook_payloads()
    db = open_archive(tmp_path / "a.db")
    events = [record_hook_event(db, p, received_ms=1_767_380_000_000 + i) for i, p in enumerate(payloads)]
    rows = db.execute_sql("SELECT event_name, session_id, tool_name, cwd, transcript_path, raw FROM hook_event "
                          "ORDER BY id").fetchall()
    assert Counter(r[0] for r in rows) == Counter(p["hook_event_name"] for p in payloads)
    assert {"SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SubagentStop",
            "Notification", "PreCompact"} <= {r[0] for r in rows}
    for payload, event, (name, session, tool, cwd, transcript, raw) in zip(payloads, events, rows, strict=True):
        assert json.loads(raw) == payload  # nothing lost, nothing added
        assert event == {**payload, "received_at": event["received_at"]}  # Claude Code's keys, as sent
        assert event["received_at"].startswith("2026-01-02T") and event["received_at"].endswith("Z")
        assert (name, session, tool, cwd, transcript) == (payload["hook_event_name"], payload["session_id"],
                                                          payload.get("tool_name"), payload.get("cwd"),
                                                          payload.get("transcript_path"))
    assert hook_events(db, limit=3) == events[-3:]
    assert hook_events(db, since_ms=1_767_380_000_000 + 33, session_id=payloads[0]["session_id"]) == events[34:]
    db.close()


def test_any_event_name_is_accepted_and_non_payloads_are_refused(tmp_path: Path) -> None:
    db = open_archive(tmp_path / "a.db")
    event = record_hook_event(db, {"hook_event_name": "SomeFutureEvent", "session_id": "s", "novel": [1]})
    assert event["hook_event_name"] == "SomeFutureEvent" and event["novel"] == [1]
    for bad in (b"not json", b"[1]", b'{"session_id": "s"}', b'{"hook_event_name": ""}'):
        with pytest.raises(HookPayloadError):
            parse_hook_payload(bad)
    assert db.execute_sql("SELECT count(*) FROM hook_event").fetchone() == (1,)
    db.close()


def test_relay_without_the_app_stores_the_event_silently_within_a_second(tmp_path: Path) -> None:
    """No archive yet, no app: the relay spools the events at once (creating an archive could outlast its
    deadline) and the next opening of the archive moves them in, in order."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "server.json").write_text(json.dumps({"port": free_port(), "pid": 2**22 + 12345}))  # a gone app
    for payload in [*real_hook_payloads()[:6], SESSION_START]:
        run = relay(home, payload, cwd=tmp_path)
        assert run.returncode == 0 and run.stdout == "" and run.stderr == ""
        assert run.seconds < WALL_S, f"hook relay took {run.seconds:.3f} s"
    assert not (home / "devhelion.db").exists()
    rows = drained(home)
    assert [r[0] for r in rows] == [p["hook_event_name"] for p in real_hook_payloads()[:6]] + ["SessionStart"]
    assert json.loads(rows[-1][5]) == SESSION_START
    assert spool_file(HOOKS, home).read_bytes() == b""  # emptied
    assert drained(home) == rows  # and not stored twice


def test_relay_with_a_dead_port_falls_back_to_the_archive(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "api-key").write_text("sk_live_" + "k" * 43)
    (home / "server.json").write_text(json.dumps({"port": free_port(), "pid": os.getpid()}))  # alive, not listening
    run = relay(home, SESSION_START, cwd=tmp_path)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "") and run.seconds < WALL_S
    assert [r[0] for r in drained(home)] == ["SessionStart"]


def test_relay_writes_an_existing_archive_directly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    open_archive(home / "devhelion.db").close()
    (home / "server.json").write_text(json.dumps({"port": free_port(), "pid": 2**22 + 12345}))
    run = relay(home, SESSION_START, cwd=tmp_path)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "") and run.seconds < WALL_S
    assert [r[0] for r in stored(home)] == ["SessionStart"]
    assert not spool_file(HOOKS, home).exists()


def test_relay_forwards_to_the_running_app(tmp_path: Path, receiver: Receiver) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "api-key").write_text("sk_live_" + "k" * 43 + "\n")
    (home / "server.json").write_text(json.dumps({"port": receiver.port, "pid": os.getpid()}))
    body = json.dumps(SESSION_START).encode()
    run = relay(home, body, cwd=tmp_path)
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "") and run.seconds < WALL_S
    (request,) = receiver.requests
    assert request["path"] == "/api/hooks?source=devhelion"
    assert request["headers"]["Authorization"] == "Bearer sk_live_" + "k" * 43
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["body"] == body  # Claude Code's bytes, untouched
    assert not (home / "devhelion.db").exists()  # the app stores it, not the relay


def test_relay_stores_itself_when_the_app_refuses(tmp_path: Path, receiver: Receiver) -> None:
    """An app without the route yet (404) or with another key (401): the event still reaches the archive."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "api-key").write_text("sk_live_" + "k" * 43)
    (home / "server.json").write_text(json.dumps({"port": receiver.port, "pid": os.getpid()}))
    receiver.status = 404
    run = relay(home, SESSION_START, cwd=tmp_path)
    assert run.returncode == 0 and run.seconds < WALL_S
    assert len(receiver.requests) == 1 and [r[0] for r in drained(home)] == ["SessionStart"]


def test_relay_gives_up_on_a_hung_app_within_a_second(tmp_path: Path, receiver: Receiver) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "api-key").write_text("sk_live_" + "k" * 43)
    (home / "server.json").write_text(json.dumps({"port": receiver.port, "pid": os.getpid()}))
    receiver.delay = 3.0
    run = relay(home, SESSION_START, cwd=tmp_path)
    assert (run.returncode, run.stdout) == (0, "") and run.seconds < WALL_S
    assert len(receiver.requests) == 1
    assert not (home / "devhelion.db").exists()  # it was delivered: storing it too could count it twice


def test_relay_spools_the_event_while_the_archive_is_locked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    open_archive(home / "devhelion.db").close()
    (home / "server.json").write_text(json.dumps({"port": free_port(), "pid": 2**22 + 12345}))
    holder = sqlite3.connect(home / "devhelion.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # an ingest that holds the write lock for long
    try:
        run = relay(home, SESSION_START, cwd=tmp_path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (run.returncode, run.stdout, run.stderr) == (0, "", "") and run.seconds < WALL_S
    assert stored(home) == []  # the lock kept it out of the archive, not out of reach:
    assert [r[0] for r in drained(home)] == ["SessionStart"]


@pytest.mark.parametrize("body", [b"", b"not json", b"[1, 2]", b'{"session_id": "s"}'])
def test_relay_ignores_what_is_not_a_hook_payload(tmp_path: Path, body: bytes) -> None:
    home = tmp_path / "home"
    run = relay(home, body, cwd=tmp_path)
    assert (run.returncode, run.stdout) == (0, "") and run.seconds < WALL_S
    assert "devhelion hook:" in run.stderr
    assert not (home / "devhelion.db").exists()


def test_installed_command_runs_our_relay_even_inside_a_project_named_desktop(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Claude Code runs the hook in the user's project; a local `desktop` package there must not be imported.
    Claude Code's environment has no DEVHELION_HOME here: the data folder named at install time is used."""
    project = tmp_path / "project"
    (project / "desktop").mkdir(parents=True)
    (project / "desktop" / "__init__.py").write_text("raise SystemExit('wrong desktop package imported')\n")
    (project / "desktop" / "__main__.py").write_text("raise SystemExit('wrong desktop package imported')\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / "server.json").write_text(json.dumps({"port": free_port(), "pid": 2**22 + 12345}))
    import subprocess

    monkeypatch.setenv("DEVHELION_HOME", str(home))
    command = relay_command("hook")  # as `hooks install --command` writes it
    env = {k: v for k, v in env_for(home).items() if k != "DEVHELION_HOME"}
    result = subprocess.run(command, shell=True, input=json.dumps(SESSION_START).encode(), capture_output=True,
                            cwd=project, env={**env, "PYTHONPATH": str(project), "HOME": str(tmp_path)}, timeout=30)
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    assert [r[0] for r in drained(home)] == ["SessionStart"]


def test_the_spool_drops_only_what_is_not_an_event_and_keeps_everything_on_a_database_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    db = open_archive(home / "devhelion.db")
    append(HOOKS, {"received_ms": 1_767_380_000_000, "payload": SESSION_START}, home)
    with spool_file(HOOKS, home).open("ab") as fh:
        fh.write(b'{"received_ms": 1, "payl\n')  # a torn line: dropped, logged
    append(HOOKS, {"received_ms": 2, "payload": {"session_id": "no event name"}}, home)  # refused: dropped
    append(HOOKS, {"received_ms": 1_767_380_000_001, "payload": {**SESSION_START, "source": "resume"}}, home)
    holder = sqlite3.connect(home / "devhelion.db", isolation_level=None, timeout=0)
    holder.execute("BEGIN EXCLUSIVE")
    db.connection().execute("PRAGMA busy_timeout = 50")
    try:
        with pytest.raises(sqlite3.OperationalError):
            drain_spooled_hooks(db, home)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert len(spool_file(HOOKS, home).read_bytes().splitlines()) == 4  # nothing lost to the failed drain
    assert drain_spooled_hooks(db, home) == 2
    assert [json.loads(r[5])["source"] for r in stored(home)] == ["startup", "resume"]
    assert drain_spooled_hooks(db, home) == 0 and len(stored(home)) == 2
    db.close()


# -- a stand-in for the app's POST /api/hooks (the route itself is the server's, tested there) ----------------


class Receiver:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


