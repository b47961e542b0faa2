"""Notes and tags: the user's own data, set through the real server, listed with counts, filtering sessions, and
kept through a sync reset, a full re-read and retention."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import quote

import httpx

from store.db import open_archive
from store.notes import annotations, tag_counts, update_annotations
from store.retention import prune_sessions
from tests.api_server import ApiServer, error


def _path(session_id: str, rest: str = "") -> str:
    return f"/api/sessions/{quote(session_id, safe='')}{rest}"



def _sessions(http: httpx.Client, **params: str) -> list[str]:
    body = http.get("/api/sessions", params={"limit": 500, **params}).json()
    return [s["id"] for s in body["sessions"]]


def _wait_for_new_run(http: httpx.Client, previous: str | None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = http.get("/api/sync/status").json()["data"]
        if not status["isRunning"] and status["lastSync"] != previous:
            return
        time.sleep(0.1)
    raise TimeoutError("sync did not finish")


def test_notes_and_tags_survive_reset_and_reingest(own_server: ApiServer) -> None:
    http = own_server.client()
    first, second, third = _sessions(http)[:3]
    body = http.patch(_path(first), json={"notes": "Fixed the flaky test 🎉", "tags": ["Bug", " perf "]})
    assert body.status_code == 200, body.text
    assert body.json() | {"updated_at": None} == {"session_id": first, "notes": "Fixed the flaky test 🎉",
                                                   "tags": ["bug", "perf"], "updated_at": None}
    assert http.patch(_path(second), json={"tags": ["BUG", "bug"]}).json()["tags"] == ["bug"]
    http.patch(_path(third), json={"notes": "only a note"})
    # a field left out stays; an empty list clears the tags; null clears the note
    assert http.patch(_path(third), json={"tags": ["later"]}).json()["notes"] == "only a note"
    assert http.patch(_path(third), json={"tags": []}).json()["tags"] == []
    assert http.patch(_path(third), json={"notes": None}).json()["notes"] is None

    def check() -> None:
        assert http.get("/api/tags").json() == {"tags": [{"tag": "bug", "count": 2}, {"tag": "perf", "count": 1}]}
        assert set(_sessions(http, tag="bug")) == {first, second}
        assert _sessions(http, tag="Perf") == [first]
        assert _sessions(http, tag="nope") == []
        notes = http.get(_path(first, "/notes")).json()
        assert (notes["notes"], notes["tags"]) == ("Fixed the flaky test 🎉", ["bug", "perf"])
        assert notes["updated_at"].endswith("Z")

    check()
    previous = http.get("/api/sync/status").json()["data"]["lastSync"]
    assert http.post("/api/sync/reset").status_code == 200
    assert http.post("/api/sync/run", json={"incremental": True}).status_code == 202
    _wait_for_new_run(http, previous)
    check()
    previous = http.get("/api/sync/status").json()["data"]["lastSync"]
    assert http.post("/api/sync/run", json={"incremental": False}).status_code == 202  # forget offsets, re-read all
    _wait_for_new_run(http, previous)
    check()


def test_annotation_validation(api_server: ApiServer) -> None:
    http = api_server.client()
    some = _sessions(http)[0]
    error(http.patch("/api/sessions/no-such-session", json={"notes": "x"}), 404, "NOT_FOUND")
    error(http.get("/api/sessions/no-such-session/notes"), 404, "NOT_FOUND")
    error(http.patch(_path(some), json={"colour": "red"}), 400, "VALIDATION_ERROR")
    error(http.patch(_path(some), json={"tags": "bug"}), 400, "VALIDATION_ERROR")
    error(http.patch(_path(some), json={"tags": ["  "]}), 400, "VALIDATION_ERROR")
    error(http.patch(_path(some), json={"tags": ["a,b"]}), 400, "VALIDATION_ERROR")
    error(http.patch(_path(some), json={"tags": ["x" * 65]}), 400, "VALIDATION_ERROR")
    error(http.patch(_path(some), json={"notes": "x" * 20_001}), 400, "VALIDATION_ERROR")
    error(http.patch(_path(some), content=b"{not json", headers={"Content-Type": "application/json"}),
          400, "VALIDATION_ERROR")
    # nothing was written by the refused requests
    assert http.get(_path(some, "/notes")).json()["tags"] == []


def test_retention_keeps_the_users_notes(tmp_path: Path) -> None:
    db = open_archive(tmp_path / "a.db")
    try:
        db.execute_sql("INSERT INTO session (session_id, first_ts_ms, last_ts_ms) VALUES ('old', 1000, 2000)")
        update_annotations(db, "old", notes="keep me", tags=["archive"], now_ms=5000)
        assert prune_sessions(db, 1, now_ms=10 * 86_400_000) == 1
        assert db.execute_sql("SELECT count(*) FROM session").fetchone()[0] == 0
        assert annotations(db, "old") == {"session_id": "old", "notes": "keep me", "tags": ["archive"],
                                          "updated_at": "1970-01-01T00:00:05.000Z"}
        assert tag_counts(db) == [{"tag": "archive", "count": 1}]
    finally:
        db.close()
