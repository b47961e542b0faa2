"""Ingest under hostile conditions: live files with half-written lines, rewritten, replaced and vanished
files, random append schedules, a SIGKILL in the middle of a parallel ingest, a locked / full / read-only
archive and malformed input. Real files, real SQLite, real worker processes; nothing of ours is mocked
(module constants such as ``RANGE_BYTES`` are configuration and are set, never patched out).

The invariant everywhere: whatever happened before, the archive ends up equal to one clean ingest of the
final files (no double counting, nothing lost), and a failed run leaves a consistent archive whose rows
are exactly those of the byte prefixes it committed.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from peewee import SqliteDatabase

import store.ingest.runner as runner
from store.db import open_archive
from store.ingest.runner import run_ingest
from store.sqlite.connection import ArchiveError
from store.sqlite.usage_rollup import rollup_differences

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
SPOTTER = SHARED / "samples" / "claude-logs" / "marot-spotter" / "test" / "fixtures" / "transcripts"
MAIN_SESSION = "8463c716-a2ea-4c14-9efa-87158ebd9f20"
PROJECT = "-home-user-spotter"

TABLES = ("message", "tool_call", "session", "subagent", "compaction", "summary", "raw_entry")
TOTALS_SQL = ("SELECT count(*), sum(input_tokens), sum(output_tokens), sum(cache_write_5m), sum(cache_write_1h), "
              "sum(cache_read) FROM api_request")


# -- helpers ----------------------------------------------------------------------------------------------

def snapshot(db: SqliteDatabase) -> dict:
    """Everything a report is computed from: usage per request and per (model, day), and row counts."""
    def rows(sql: str) -> list[tuple]:
        return [tuple(r) for r in db.execute_sql(sql).fetchall()]

    return {
        "totals": rows(TOTALS_SQL)[0],
        "by_model_day": rows(
            "SELECT model, date(ts_ms / 1000, 'unixepoch') AS day, count(*), sum(input_tokens), sum(output_tokens), "
            "sum(cache_write_5m), sum(cache_write_1h), sum(cache_read) FROM api_request GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        "requests": rows(
            "SELECT request_key, model, ts_ms, input_tokens, output_tokens, cache_write_5m, cache_write_1h, "
            "cache_read, is_sidechain FROM api_request ORDER BY request_key"
        ),
        "tool_calls": rows("SELECT tool_use_id, name, status, call_ts_ms, result_ts_ms FROM tool_call ORDER BY 1"),
        "sessions": rows("SELECT session_id, first_ts_ms, last_ts_ms, cwd FROM session ORDER BY 1"),
        "counts": {t: db.execute_sql(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES},
        # the rollup reports read, by project path (project ids depend on ingest order), and its drift from a
        # fresh GROUP BY over the requests, which must always be empty
        "rollup": rows(
            "SELECT u.slot, p.path, u.model, u.speed, u.geo, u.long_context, u.input_tokens, u.output_tokens, "
            "u.cache_write_5m, u.cache_write_1h, u.cache_read, u.requests FROM usage_rollup u "
            "LEFT JOIN project p ON p.id = u.project_id ORDER BY 1, 2, 3, 4, 5, 6"
        ),
        "rollup_drift": rollup_differences(db.connection()),
    }


def totals(db: SqliteDatabase) -> tuple:
    return tuple(db.execute_sql(TOTALS_SQL).fetchone())


def source_rows(db: SqliteDatabase) -> dict[str, dict]:
    cur = db.execute_sql("SELECT path, committed_offset, size, lines, malformed_lines, missing, rereads, inode "
                         "FROM source_file")
    names = ("committed_offset", "size", "lines", "malformed_lines", "missing", "rereads", "inode")
    return {r[0]: dict(zip(names, r[1:], strict=True)) for r in cur.fetchall()}


@contextmanager
def archive(path: Path) -> Iterator[SqliteDatabase]:
    db = open_archive(path)
    try:
        yield db
    finally:
        db.close()


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` (paths relative to ``projects/``) below ``root``; returns ``root``."""
    for rel, data in files.items():
        path = root / "projects" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def clean_snapshot(workdir: Path, files: dict[str, bytes]) -> dict:
    """What one ingest of ``files`` into a fresh archive holds (the reference every scenario must reach)."""
    workdir.mkdir(parents=True, exist_ok=True)
    root = write_tree(workdir / "root", files)
    with archive(workdir / "clean.db") as db:
        run_ingest(db, [root], parallel=False)
        return snapshot(db)


def committed_prefixes(db: SqliteDatabase, root: Path) -> dict[str, bytes]:
    """The byte prefixes the archive says it has committed, as a tree relative to ``projects/``."""
    projects = root / "projects"
    out: dict[str, bytes] = {}
    for path, row in source_rows(db).items():
        offset = row["committed_offset"]
        data = Path(path).read_bytes()
        assert offset == 0 or data[offset - 1 : offset] == b"\n", f"{path}: offset {offset} is not a line start"
        if offset:
            out[str(Path(path).relative_to(projects))] = data[:offset]
    return out


def assistant(sid: str, n: int, inp: int, out: int, *, cache_read: int = 0, cache_write: int = 0,
              model: str = "claude-sonnet-4-5-20250929", day: str = "2025-03-01") -> bytes:
    """A hand-made assistant line: request ``msg_<sid>_<n>:req_<sid>_<n>`` with the given usage."""
    return orjson.dumps({
        "type": "assistant", "sessionId": sid, "uuid": f"{sid}-u{n}", "parentUuid": None,
        "timestamp": f"{day}T10:{n // 60:02d}:{n % 60:02d}.000Z", "requestId": f"req_{sid}_{n}",
        "cwd": "/home/user/proj", "version": "2.1.39",
        "message": {"id": f"msg_{sid}_{n}", "type": "message", "role": "assistant", "model": model,
                    "content": [{"type": "text", "text": f"answer {n}"}],
                    "usage": {"input_tokens": inp, "output_tokens": out, "cache_creation_input_tokens": cache_write,
                              "cache_read_input_tokens": cache_read}},
    }) + b"\n"


_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_API_IDS = re.compile(rb'"(msg_|req_|toolu_)([A-Za-z0-9_-]+)"')
_AGENT_IDS = re.compile(rb'"agentId":"([A-Za-z0-9-]+)"')


def fresh_ids(data: bytes, copy: int) -> bytes:
    """The same transcript bytes with every uuid, message/request/tool id and agent id made unique to ``copy``."""
    tag = f"{copy:08x}".encode()
    data = _UUID.sub(lambda m: tag + m.group()[8:], data)
    data = _API_IDS.sub(lambda m: b'"' + m.group(1) + b"c" + str(copy).encode() + m.group(2) + b'"', data)
    return _AGENT_IDS.sub(lambda m: b'"agentId":"' + m.group(1) + b"c" + str(copy).encode() + b'"', data)


def replicated(files: dict[str, bytes], copies: int) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for copy in range(copies):
        for rel, data in files.items():
            new_rel = fresh_ids(rel.encode(), copy).decode()
            new_rel = re.sub(r"agent-([A-Za-z0-9-]+)\.jsonl$", rf"agent-\1c{copy}.jsonl", new_rel)
            out[f"{PROJECT}{copy}/{new_rel.split('/', 1)[1]}"] = fresh_ids(data, copy)
    return out


@pytest.fixture(scope="module")
def spotter() -> dict[str, bytes]:
    """The real marot-spotter transcripts (2.4 MB, one session with subagents), keyed by path below projects/."""
    if not SPOTTER.is_dir():
        pytest.skip(f"sample transcripts not found at {SPOTTER}")
    return {f"{PROJECT}/{p.relative_to(SPOTTER)}": p.read_bytes() for p in sorted(SPOTTER.rglob("*.jsonl"))}


@pytest.fixture(scope="module")
def spotter_clean(spotter: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> dict:
    return clean_snapshot(tmp_path_factory.mktemp("spotter-clean"), spotter)


# -- 1. half-written last line ----------------------------------------------------------------------------

def _fresh_request(lines: list[bytes]) -> tuple[int, dict, str]:
    """A fresh request's line: its index, its entry and its request key."""
    idx = _fresh_request_line(lines)
    target = orjson.loads(lines[idx])
    return idx, target, f"{target['message']['id']}:{target['requestId']}"


def _fresh_request_line(lines: list[bytes]) -> int:
    """Index of an assistant line (after the middle) whose API response appears on no earlier line."""
    seen: set[str] = set()
    candidates = []
    for i, line in enumerate(lines):
        entry = orjson.loads(line)
        msg = entry.get("message") if isinstance(entry.get("message"), dict) else {}
        if entry.get("type") == "assistant" and isinstance(msg.get("usage"), dict):
            if msg["id"] not in seen and i >= len(lines) // 2 and i < len(lines) - 2:
                candidates.append(i)
            seen.add(msg["id"])
    assert candidates, "sample has no suitable assistant line"
    return candidates[0]


def test_half_written_last_line_is_read_once_complete(spotter: dict[str, bytes], tmp_path: Path) -> None:
    rel = f"{PROJECT}/tool_heavy.jsonl"
    data = spotter[rel]
    lines = data.splitlines(keepends=True)
    idx, target, key = _fresh_request(lines)
    head, line, tail = b"".join(lines[:idx]), lines[idx], b"".join(lines[idx + 1 :])
    cut1, cut2 = len(line) // 3, 2 * len(line) // 3

    expected = clean_snapshot(tmp_path / "clean", {rel: data})
    root = write_tree(tmp_path / "live", {rel: head + line[:cut1]})
    path = str(root / "projects" / rel)
    with archive(tmp_path / "a.db") as db:
        stats = run_ingest(db, [root])
        assert stats.lines == idx and stats.malformed_lines == 0
        assert db.execute_sql("SELECT count(*) FROM api_request WHERE request_key = ?", (key,)).fetchone()[0] == 0
        assert db.execute_sql("SELECT count(*) FROM message WHERE uuid = ?", (target["uuid"],)).fetchone()[0] == 0
        row = source_rows(db)[path]
        assert row["committed_offset"] == len(head) and row["size"] == len(head) + cut1
        before = snapshot(db)

        with open(path, "ab") as fh:  # the writer is still busy with the same line
            fh.write(line[cut1:cut2])
        stats = run_ingest(db, [root])
        assert stats.lines == 0 and stats.malformed_lines == 0
        assert snapshot(db) == before
        assert source_rows(db)[path]["committed_offset"] == len(head)

        with open(path, "ab") as fh:  # the line is finished and more follow
            fh.write(line[cut2:] + tail)
        stats = run_ingest(db, [root])
        assert stats.malformed_lines == 0 and stats.lines == len(lines) - idx
        assert db.execute_sql("SELECT count(*) FROM api_request WHERE request_key = ?", (key,)).fetchone()[0] == 1
        assert snapshot(db) == expected
        row = source_rows(db)[path]
        assert (row["committed_offset"], row["lines"], row["malformed_lines"]) == (len(data), len(lines), 0)


def test_complete_last_line_without_newline_counts_once(spotter: dict[str, bytes], tmp_path: Path) -> None:
    """A final line that is a whole JSON object counts at once; the newline written later adds nothing."""
    rel = f"{PROJECT}/tool_heavy.jsonl"
    data = spotter[rel]
    lines = data.splitlines(keepends=True)
    idx, _, key = _fresh_request(lines)
    expected = clean_snapshot(tmp_path / "clean", {rel: data})
    root = write_tree(tmp_path / "live", {rel: b"".join(lines[:idx]) + lines[idx].rstrip(b"\n")})
    path = str(root / "projects" / rel)
    with archive(tmp_path / "a.db") as db:
        run_ingest(db, [root])
        assert db.execute_sql("SELECT count(*) FROM api_request WHERE request_key = ?", (key,)).fetchone()[0] == 1
        assert source_rows(db)[path]["committed_offset"] == len(b"".join(lines[: idx + 1])) - 1
        with open(path, "ab") as fh:
            fh.write(b"\n" + b"".join(lines[idx + 1 :]))
        stats = run_ingest(db, [root])
        assert stats.malformed_lines == 0
        assert snapshot(db) == expected
        assert source_rows(db)[path]["lines"] == len(lines)


# -- 2. shrunk / rewritten / replaced file -----------------------------------------------------------------

def test_rewritten_and_replaced_file_never_double_counts(tmp_path: Path) -> None:
    s = "s-rewrite"
    r = {n: assistant(s, n, inp=10 * n, out=n) for n in range(1, 8)}
    rel = "-p/s-rewrite.jsonl"
    root = write_tree(tmp_path / "root", {rel: r[1] + r[2] + r[3]})
    path = root / "projects" / rel
    with archive(tmp_path / "a.db") as db:
        run_ingest(db, [root])
        assert totals(db) == (3, 60, 6, 0, 0, 0)
        inode = os.stat(path).st_ino

        # truncated in place and rewritten shorter (same inode): r1 again, r4 new
        with open(path, "r+b") as fh:
            fh.truncate(0)
            fh.write(r[1] + r[4])
        assert os.stat(path).st_ino == inode
        stats = run_ingest(db, [root])
        assert stats.files_reread == 1
        assert totals(db) == (4, 100, 10, 0, 0, 0)  # r1..r4: the archive keeps r2, r3
        row = source_rows(db)[str(path)]
        assert (row["rereads"], row["lines"], row["committed_offset"]) == (1, 2, len(r[1] + r[4]))

        # rewritten longer with a different head (same inode): head fingerprint tells it from an append
        with open(path, "r+b") as fh:
            fh.truncate(0)
            fh.write(r[5] + r[4] + r[6])
        stats = run_ingest(db, [root])
        assert stats.files_reread == 1
        assert totals(db) == (6, 210, 21, 0, 0, 0)
        assert source_rows(db)[str(path)]["rereads"] == 2

        # atomically replaced (new inode); r2 comes back with a larger (final streaming) output count
        r2_final = assistant(s, 2, inp=20, out=9)
        staging = tmp_path / "staging.jsonl"
        staging.write_bytes(r[1] + r2_final + r[7])
        os.replace(staging, path)
        assert os.stat(path).st_ino != inode
        stats = run_ingest(db, [root])
        assert stats.files_reread == 1
        assert totals(db) == (7, 280, 1 + 9 + 3 + 4 + 5 + 6 + 7, 0, 0, 0)
        row = source_rows(db)[str(path)]
        assert (row["rereads"], row["lines"], row["inode"]) == (3, 3, os.stat(path).st_ino)

        stats = run_ingest(db, [root])  # nothing changed: nothing read
        assert (stats.files_changed, stats.lines) == (0, 0)
        assert totals(db) == (7, 280, 35, 0, 0, 0)
        assert db.execute_sql("SELECT count(*) FROM message").fetchone()[0] == 7


def test_replaced_real_session_equals_union(spotter: dict[str, bytes], tmp_path: Path) -> None:
    """A real session replaced by another real session at the same path: the archive holds both, once."""
    a, b = spotter[f"{PROJECT}/short.jsonl"], spotter[f"{PROJECT}/tool_heavy.jsonl"]
    expected = clean_snapshot(tmp_path / "clean", {"-p/x.jsonl": a, "-p/y.jsonl": b})
    root = write_tree(tmp_path / "root", {"-p/x.jsonl": a})
    path = root / "projects" / "-p" / "x.jsonl"
    with archive(tmp_path / "a.db") as db:
        run_ingest(db, [root])
        staging = tmp_path / "new.jsonl"
        staging.write_bytes(b)
        os.replace(staging, path)
        run_ingest(db, [root])
        run_ingest(db, [root])
        got = snapshot(db)
    assert got == expected


# -- 3. vanished file ----------------------------------------------------------------------------------

def test_vanished_file_keeps_its_rows_and_comes_back_once(tmp_path: Path) -> None:
    a = assistant("s-a", 1, inp=100, out=10) + assistant("s-a", 2, inp=200, out=20)
    b = assistant("s-b", 1, inp=1000, out=100)
    root = write_tree(tmp_path / "root", {"-p/s-a.jsonl": a, "-p/s-b.jsonl": b})
    path_b = root / "projects" / "-p" / "s-b.jsonl"
    full = (3, 1300, 130, 0, 0, 0)
    with archive(tmp_path / "a.db") as db:
        run_ingest(db, [root])
        assert totals(db) == full

        path_b.unlink()
        stats = run_ingest(db, [root])
        assert stats.files_missing == 1
        assert totals(db) == full
        assert source_rows(db)[str(path_b)]["missing"] == 1
        stats = run_ingest(db, [root])  # still gone: already marked
        assert stats.files_missing == 0 and source_rows(db)[str(path_b)]["missing"] == 1

        path_b.write_bytes(b)  # comes back (a new inode): re-read, upserted, not added twice
        stats = run_ingest(db, [root])
        assert totals(db) == full
        row = source_rows(db)[str(path_b)]
        assert (row["missing"], row["lines"], row["committed_offset"]) == (0, 1, len(b))

        parked = tmp_path / "parked.jsonl"  # moved away and back: same inode, size and mtime
        os.rename(path_b, parked)
        run_ingest(db, [root])
        assert source_rows(db)[str(path_b)]["missing"] == 1
        os.rename(parked, path_b)
        rereads = source_rows(db)[str(path_b)]["rereads"]
        stats = run_ingest(db, [root])
        row = source_rows(db)[str(path_b)]
        assert (row["missing"], row["rereads"], stats.lines) == (0, rereads, 0)
        assert totals(db) == full

        with open(path_b, "ab") as fh:
            fh.write(assistant("s-b", 2, inp=1, out=1))
        run_ingest(db, [root])
        assert totals(db) == (4, 1301, 131, 0, 0, 0)


def test_missing_is_only_judged_below_the_scanned_roots(tmp_path: Path) -> None:
    """Root ``cfg2`` is not inside root ``cfg``: a run over ``cfg`` alone must not judge its files."""
    one = write_tree(tmp_path / "cfg", {"-p/a.jsonl": assistant("s-a", 1, inp=1, out=1)})
    two = write_tree(tmp_path / "cfg2", {"-p/b.jsonl": assistant("s-b", 1, inp=2, out=2)})
    with archive(tmp_path / "a.db") as db:
        run_ingest(db, [one, two])
        stats = run_ingest(db, [one])  # the second root is simply not scanned this time
        assert stats.files_missing == 0
        assert all(row["missing"] == 0 for row in source_rows(db).values())


def test_the_same_root_given_twice_is_read_once(spotter: dict[str, bytes], spotter_clean: dict,
                                                tmp_path: Path) -> None:
    """CLAUDE_CONFIG_DIR may name a folder twice, or an extra root be the default one: each file counts once."""
    root = write_tree(tmp_path / "cfg", spotter)
    with archive(tmp_path / "a.db") as db:
        stats = run_ingest(db, [root, root, Path(str(root) + "/")])
        assert stats.files_seen == stats.files_changed == len(spotter)
        assert snapshot(db) == spotter_clean


# -- 4. random append schedules == one clean ingest (hypothesis) ----------------------------------------------

@st.composite
def schedules(draw: st.DrawFn, files: dict[str, bytes]) -> list[tuple[str, int, int, str]]:
    """Appends ``(file, start, end, action)`` of random byte ranges (cut anywhere, mostly mid-line) in a random
    file interleaving, each followed by an action: ingest, nothing, ingest twice, or reset the bookkeeping and
    ingest. Offsets rather than bytes keep Hypothesis' report of a failing example readable."""
    per_file: dict[str, list[tuple[int, int]]] = {}
    for rel, data in files.items():
        line_ends = [i + 1 for i, c in enumerate(data) if c == 0x0A][:-1]
        cut = st.one_of(st.integers(1, len(data) - 1), st.sampled_from(line_ends)) if line_ends else \
            st.integers(1, len(data) - 1)
        bounds = [0, *sorted(set(draw(st.lists(cut, max_size=5)))), len(data)]
        per_file[rel] = list(itertools.pairwise(bounds))
    order = draw(st.permutations([rel for rel, pieces in per_file.items() for _ in pieces]))
    actions = st.sampled_from(["ingest", "ingest", "ingest", "none", "twice", "reset"])
    taken = dict.fromkeys(per_file, 0)
    out = []
    for rel in order:
        out.append((rel.rsplit("/", 1)[-1], *per_file[rel][taken[rel]], draw(actions)))
        taken[rel] += 1
    return out


PROPERTY_FILES = ("short.jsonl", "tool_heavy.jsonl", f"{MAIN_SESSION}/subagents/agent-acompact-f46190.jsonl",
                  f"{MAIN_SESSION}/subagents/agent-a7be2f0.jsonl")


class _Brief(dict):
    """A dict that Hypothesis prints as one short line when it reports a falsifying example."""

    def __repr__(self) -> str:
        return f"<{len(self)} entries>"


@pytest.fixture(scope="module")
def property_files(spotter: dict[str, bytes]) -> dict[str, bytes]:
    files = {f"{PROJECT}/{name}": spotter[f"{PROJECT}/{name}"] for name in PROPERTY_FILES}
    main = spotter[f"{PROJECT}/{MAIN_SESSION}.jsonl"].splitlines(keepends=True)
    files[f"{PROJECT}/{MAIN_SESSION}.jsonl"] = b"".join(main[:250])  # a prefix of the big session, for speed
    return _Brief(files)


@pytest.fixture(scope="module")
def property_clean(property_files: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory) -> dict:
    return _Brief(clean_snapshot(tmp_path_factory.mktemp("property-clean"), property_files))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_random_append_schedules_equal_one_clean_ingest(property_files: dict[str, bytes], property_clean: dict,
                                                         tmp_path_factory: pytest.TempPathFactory,
                                                         data: st.DataObject) -> None:
    by_name = {rel.rsplit("/", 1)[-1]: rel for rel in property_files}
    schedule = data.draw(schedules(property_files), label="schedule")
    range_bytes = data.draw(st.sampled_from([runner.RANGE_BYTES, 96 << 10, 24 << 10]), label="RANGE_BYTES")
    work = tmp_path_factory.mktemp("schedule")
    root = work / "root"
    (root / "projects").mkdir(parents=True)
    did_reset = False
    with pytest.MonkeyPatch.context() as mp, archive(work / "a.db") as db:
        mp.setattr(runner, "RANGE_BYTES", range_bytes)  # small ranges: live tails crossing range cuts
        for name, start, end, action in schedule:
            rel = by_name[name]
            path = root / "projects" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as fh:
                fh.write(property_files[rel][start:end])
            if action == "reset":
                did_reset = True
                db.execute_sql("UPDATE source_file SET committed_offset = 0, size = 0, mtime_ns = 0")
            if action != "none":
                stats = run_ingest(db, [root])
                assert stats.malformed_lines == 0
            if action == "twice":
                stats = run_ingest(db, [root])
                assert (stats.files_changed, stats.lines, stats.bytes_read) == (0, 0, 0)
        run_ingest(db, [root])
        stats = run_ingest(db, [root])
        assert stats.files_changed == 0
        assert snapshot(db) == property_clean
        projects = root / "projects"
        for path, row in source_rows(db).items():
            content = Path(path).read_bytes()
            assert row["committed_offset"] == row["size"] == len(content)
            assert row["malformed_lines"] == 0
            if not did_reset:
                assert row["lines"] == len(content.splitlines()), Path(path).relative_to(projects)


@settings(max_examples=15, deadline=None)
@given(range_bytes=st.integers(min_value=200, max_value=40_000))
def test_range_splitting_is_exact(property_files: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory,
                                  range_bytes: int) -> None:
    """Any split of complete files into ranges reads every line exactly once (inline, so it is cheap)."""
    files = {k: v for k, v in property_files.items() if len(v) < 200_000}
    work = tmp_path_factory.mktemp("ranges")
    root = write_tree(work / "root", files)
    with archive(work / "whole.db") as db:
        run_ingest(db, [root], parallel=False)
        whole, whole_sources = snapshot(db), source_rows(db)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "RANGE_BYTES", range_bytes)
        with archive(work / "ranges.db") as db:
            stats = run_ingest(db, [root], parallel=False)
            assert stats.malformed_lines == 0
            assert snapshot(db) == whole
            got = source_rows(db)
    for path, row in got.items():
        want = whole_sources[path]
        assert (row["committed_offset"], row["lines"], row["size"]) == (want["committed_offset"], want["lines"],
                                                                         want["size"])


def test_parallel_small_ranges_equal_inline(spotter: dict[str, bytes], spotter_clean: dict, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker-pool path with ranges far smaller than the lines (which run up to ~100 KB) is exact."""
    monkeypatch.setattr(runner, "RANGE_BYTES", 24 << 10)
    root = write_tree(tmp_path / "root", spotter)
    with archive(tmp_path / "a.db") as db:
        stats = run_ingest(db, [root], parallel=True)
        assert stats.malformed_lines == 0
        assert snapshot(db) == spotter_clean
        for path, row in source_rows(db).items():
            assert row["committed_offset"] == row["size"] == os.path.getsize(path)


@pytest.mark.parametrize("finished", [False, True], ids=["half-written", "complete-no-newline"])
def test_last_line_crossing_a_range_cut(spotter: dict[str, bytes], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch, finished: bool) -> None:
    """A live file bigger than one range whose last line is still being written (RANGE_BYTES is 8 MB in
    production: a big active session on its first ingest)."""
    rel = f"{PROJECT}/tool_heavy.jsonl"
    data = spotter[rel]
    lines = data.splitlines(keepends=True)
    idx = _fresh_request_line(lines)
    head, line, tail = b"".join(lines[:idx]), lines[idx], b"".join(lines[idx + 1 :])
    expected = clean_snapshot(tmp_path / "clean", {rel: data})
    first = line.rstrip(b"\n") if finished else line[: len(line) // 2]
    root = write_tree(tmp_path / "live", {rel: head + first})
    path = str(root / "projects" / rel)
    monkeypatch.setattr(runner, "RANGE_BYTES", len(head) + 10)  # the cut falls inside the last line
    with archive(tmp_path / "a.db") as db:
        run_ingest(db, [root], parallel=False)
        offset = source_rows(db)[path]["committed_offset"]
        assert offset == (len(head) + len(first) if finished else len(head))
        monkeypatch.setattr(runner, "RANGE_BYTES", 8 << 20)
        with open(path, "ab") as fh:
            fh.write(line[len(first) :] + tail)
        stats = run_ingest(db, [root])
        assert stats.malformed_lines == 0
        assert snapshot(db) == expected


# -- 5. SIGKILL in the middle of a parallel ingest -------------------------------------------------------

KILL_SCRIPT = """
import sys, time
from pathlib import Path
import store.ingest.runner as runner
from store.db import open_archive
runner.RANGE_BYTES = 64 << 10
runner.COMMIT_ROWS = 150
db = open_archive(Path(sys.argv[1]))
runner.run_ingest(db, [Path(sys.argv[2])], progress=lambda state: time.sleep(0.03), parallel=True)
print("finished", flush=True)
"""


def test_sigkill_mid_ingest_then_resume(spotter: dict[str, bytes], spotter_clean: dict, tmp_path: Path) -> None:
    files = replicated(spotter, 2)  # ~5 MB, every request distinct
    expected = clean_snapshot(tmp_path / "clean", files)
    assert expected["totals"] == tuple(2 * x for x in spotter_clean["totals"])
    root = write_tree(tmp_path / "root", files)
    total_bytes = sum(len(v) for v in files.values())
    db_path = tmp_path / "killed.db"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(db_path), str(root)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"ingest ended before the kill: {proc.communicate()}"
            assert time.monotonic() < deadline, "no commit seen within 60 s"
            committed = 0
            if db_path.exists():
                try:
                    with closing(sqlite3.connect(db_path, timeout=1)) as conn:
                        committed = conn.execute("SELECT count(*) FROM source_file WHERE committed_offset > 0"
                                                 ).fetchone()[0]
                except sqlite3.Error:
                    committed = 0  # schema not created yet
            if committed >= 2:
                break
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the ingest and its worker processes (own process group)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        done = conn.execute("SELECT sum(committed_offset) FROM source_file").fetchone()[0]
        assert 0 < done < total_bytes
        assert conn.execute("SELECT status FROM ingest_run ORDER BY id DESC LIMIT 1").fetchone()[0] == "running"
    with archive(db_path) as db:
        partial = snapshot(db)
        prefixes = committed_prefixes(db, root)
        assert partial["totals"][0] < expected["totals"][0]
        stats = run_ingest(db, [root])
        assert stats.malformed_lines == 0
        assert snapshot(db) == expected
        assert db.execute_sql("PRAGMA integrity_check").fetchall() == [("ok",)]
    # what the killed run left is exactly the rows of the byte prefixes it had committed
    assert partial == clean_snapshot(tmp_path / "prefixes", prefixes)


# -- 6. database errors ------------------------------------------------------------------------------------

def test_locked_archive_gives_clear_error_then_recovers(spotter: dict[str, bytes], spotter_clean: dict,
                                                        tmp_path: Path) -> None:
    root = write_tree(tmp_path / "root", spotter)
    db_path = tmp_path / "a.db"
    with archive(db_path) as db:
        db.execute_sql("PRAGMA busy_timeout = 300")  # the archive waits 5 s by default
        with closing(sqlite3.connect(db_path, isolation_level=None)) as other:
            other.execute("BEGIN EXCLUSIVE")
            started = time.monotonic()
            with pytest.raises(ArchiveError, match="locked"):
                run_ingest(db, [root])
            assert time.monotonic() - started < 4
            other.execute("ROLLBACK")
        assert db.execute_sql("SELECT count(*) FROM ingest_run").fetchone()[0] == 0
        assert totals(db)[0] == 0
        stats = run_ingest(db, [root])
        assert stats.malformed_lines == 0
        assert snapshot(db) == spotter_clean


def test_lock_taken_mid_ingest_leaves_committed_prefixes(spotter: dict[str, bytes], spotter_clean: dict,
                                                         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process grabs the write lock half way: the run fails clearly, committed work stays exact."""
    monkeypatch.setattr(runner, "COMMIT_ROWS", 100)
    monkeypatch.setattr(runner, "RANGE_BYTES", 256 << 10)
    root = write_tree(tmp_path / "root", spotter)
    db_path = tmp_path / "a.db"
    other = sqlite3.connect(db_path, isolation_level=None)
    calls = 0

    def grab_lock(state: runner.IngestProgress) -> None:
        nonlocal calls
        calls += 1
        if calls == 6:
            other.execute("BEGIN EXCLUSIVE")

    try:
        with archive(db_path) as db:
            db.execute_sql("PRAGMA busy_timeout = 300")
            with pytest.raises(ArchiveError, match="locked"):
                run_ingest(db, [root], progress=grab_lock, parallel=False)
            other.execute("ROLLBACK")
            assert db.execute_sql("PRAGMA integrity_check").fetchall() == [("ok",)]
            partial = snapshot(db)
            prefixes = committed_prefixes(db, root)
            assert 0 < partial["totals"][0] < spotter_clean["totals"][0]
            stats = run_ingest(db, [root])
            assert stats.malformed_lines == 0
            assert snapshot(db) == spotter_clean
    finally:
        other.close()
    assert partial == clean_snapshot(tmp_path / "prefixes", prefixes)


def _ingest_until_full(spotter: dict[str, bytes], tmp_path: Path) -> tuple[dict, dict[str, bytes], dict, dict]:
    """Ingest a small tree, then a 5 MB one into an archive capped (``max_page_count``, a real SQLITE_FULL) a
    third of the way there. Returns the snapshot after the failure, the committed prefixes, the snapshot
    after lifting the cap and ingesting again, and the snapshot of one clean ingest."""
    base = {f"{PROJECT}/short.jsonl": spotter[f"{PROJECT}/short.jsonl"]}
    more = replicated(spotter, 2)
    base_count = clean_snapshot(tmp_path / "base", base)["totals"][0]
    full_expected = clean_snapshot(tmp_path / "clean", {**base, **more})
    with archive(tmp_path / "clean" / "clean.db") as clean_db:
        full_pages = clean_db.execute_sql("PRAGMA page_count").fetchone()[0]

    root = write_tree(tmp_path / "root", base)
    with pytest.MonkeyPatch.context() as mp, archive(tmp_path / "a.db") as db:
        mp.setattr(runner, "COMMIT_ROWS", 100)  # many small transactions, so some commit before the disk fills
        mp.setattr(runner, "RANGE_BYTES", 64 << 10)
        run_ingest(db, [root])
        pages = db.execute_sql("PRAGMA page_count").fetchone()[0]
        write_tree(root, more)
        limit = pages + (full_pages - pages) // 3
        assert db.execute_sql(f"PRAGMA max_page_count = {limit}").fetchone()[0] == limit
        with pytest.raises(ArchiveError, match="full"):
            run_ingest(db, [root])
        assert db.execute_sql("PRAGMA integrity_check").fetchall() == [("ok",)]
        status = db.execute_sql("SELECT status FROM ingest_run ORDER BY id DESC LIMIT 1").fetchone()[0]
        assert status in ("failed", "running")  # recording the failure may itself need a page
        partial = snapshot(db)
        prefixes = committed_prefixes(db, root)
        assert sum(len(v) for v in prefixes.values()) < sum(len(v) for v in {**base, **more}.values())
        assert partial["totals"][0] > base_count  # some of the new files did commit

        db.execute_sql("PRAGMA max_page_count = 1073741823")
        stats = run_ingest(db, [root])
        assert stats.malformed_lines == 0
        resumed = snapshot(db)
    return partial, prefixes, resumed, full_expected


def test_disk_full_gives_clear_error_and_resumes_exactly(spotter: dict[str, bytes], tmp_path: Path) -> None:
    partial, _, resumed, full_expected = _ingest_until_full(spotter, tmp_path)
    assert all(p <= f for p, f in zip(partial["totals"], full_expected["totals"], strict=True))
    assert all(p <= f for p, f in zip(partial["counts"].values(), full_expected["counts"].values(), strict=True))
    assert resumed == full_expected


def test_failed_flush_leaves_no_rows_past_the_committed_offset(spotter: dict[str, bytes], tmp_path: Path) -> None:
    """Rows and the offset that produced them commit together: after a failed run the archive holds exactly
    the rows of the byte prefixes it says it committed."""
    partial, prefixes, _, _ = _ingest_until_full(spotter, tmp_path)
    assert partial == clean_snapshot(tmp_path / "prefixes", prefixes)


def test_read_only_archive_gives_clear_error_and_writes_nothing(spotter: dict[str, bytes], spotter_clean: dict,
                                                                tmp_path: Path) -> None:
    root = write_tree(tmp_path / "root", spotter)
    with archive(tmp_path / "a.db") as db:
        before = snapshot(db)
        changes = db.connection().total_changes
        db.execute_sql("PRAGMA query_only = 1")
        with pytest.raises(ArchiveError, match="read-only"):
            run_ingest(db, [root])
        assert db.connection().total_changes == changes
        assert snapshot(db) == before
        for table in ("ingest_run", "source_file"):
            assert db.execute_sql(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
        db.execute_sql("PRAGMA query_only = 0")
        run_ingest(db, [root])
        assert snapshot(db) == spotter_clean


# -- 7. malformed input ------------------------------------------------------------------------------------

def test_malformed_lines_are_counted_and_skipped(tmp_path: Path) -> None:
    s = "s-bad"
    good = [assistant(s, n, inp=n, out=10 * n) for n in range(1, 5)]
    big_text = "x" * (3 << 20)  # one valid line longer than the 1 MiB read block
    big = orjson.dumps({**orjson.loads(assistant(s, 5, inp=5, out=50)), "padding": big_text}) + b"\n"
    malformed = [
        b'{"type":"assistant","message":{"id":"msg_cut","usage":{"input_tok',  # truncated JSON
        b"42",
        b"[1]",
        b'"x"',
        b"null",
        b"\x00\x01\xfe\xff\x80garbage\x7f",  # binary
        "\ufeff".encode() + good[0].rstrip(b"\n"),  # BOM: orjson refuses it (Claude Code never writes one)
        b'{"type":"user","sessionId":"s-bad","uuid":"bad-utf8","message":{"role":"user","content":"\xff\xfe"}}',
        b"{" * 5000 + b"}" * 5000,  # nesting too deep for the parser
        b"x" * (2 << 20),  # 2 MiB of garbage on one line
    ]
    ignored = [b"", b"   \t", b"\r"]  # blank lines are not lines
    tolerated = [  # whole JSON objects with odd shapes: not malformed, never fatal
        b'{"type":"assistant","message":[1,2]}',
        b'{"type":5,"sessionId":7}',
        b'{"type":"assistant","sessionId":"s-bad","timestamp":"2025-03-01T11:00:00Z","uuid":"odd","message":'
        b'{"id":"msg_odd","content":"text","usage":{"input_tokens":"12","output_tokens":true}}}',
        b'{"type":"file-history-snapshot", not json at all',  # skipped unparsed by design
        b'{"type":"progress","data":{"type":"agent_progress"} not json either',
    ]
    body = [good[0], *malformed[:4], good[1], *ignored, *malformed[4:], big, good[2], *tolerated, good[3]]
    text = b"".join(line if line.endswith(b"\n") else line + b"\n" for line in body)
    text = text.replace(good[3], good[3].rstrip(b"\n") + b"\r\n")  # a CRLF line is fine
    tail = b'{"type":"assistant","sessionId":"s-bad","message":{"id":"msg_tail"'  # still being written
    root = write_tree(tmp_path / "root", {"-p/s-bad.jsonl": text + tail, "-p/fine.jsonl": good[0]})
    bad_path = str(root / "projects" / "-p" / "s-bad.jsonl")
    with archive(tmp_path / "a.db") as db:
        stats = run_ingest(db, [root])
        assert stats.malformed_lines == len(malformed)
        rows = source_rows(db)
        row = rows[bad_path]
        assert row["malformed_lines"] == len(malformed)
        assert row["lines"] == len(good) + 1 + len(malformed) + len(tolerated)
        assert row["committed_offset"] == len(text)  # the unfinished tail waits
        assert rows[str(root / "projects" / "-p" / "fine.jsonl")]["malformed_lines"] == 0
        assert stats.malformed_examples[bad_path].startswith('{"type":"assistant","message":{"id":"msg_cut"')
        keys = {r[0] for r in db.execute_sql("SELECT request_key FROM api_request").fetchall()}
        assert keys == {f"msg_{s}_{n}:req_{s}_{n}" for n in range(1, 6)} | {"msg_odd"}
        assert totals(db)[:3] == (6, 1 + 2 + 3 + 4 + 5, 10 + 20 + 30 + 40 + 50)
        assert db.execute_sql("SELECT count(*) FROM message WHERE uuid = 'bad-utf8'").fetchone()[0] == 0

        stats = run_ingest(db, [root])  # nothing new: the malformed lines are not counted again
        assert (stats.files_changed, stats.malformed_lines) == (0, 0)
        assert source_rows(db)[bad_path]["malformed_lines"] == len(malformed)


@pytest.mark.parametrize("bad", [
    b'{"type":"user","sessionId":"s-num","uuid":"u-ts","timestamp":1e20,"message":{"role":"user","content":"hi"}}',
    b'{"type":"assistant","sessionId":"s-num","uuid":"u-tok","timestamp":"2025-03-01T10:00:00Z","message":'
    b'{"id":"msg_big","role":"assistant","model":"m","content":[],"usage":{"input_tokens":18446744073709551615}}}',
], ids=["timestamp-1e20", "tokens-2**64-1"])
def test_out_of_range_numbers_do_not_abort_ingest(tmp_path: Path, bad: bytes) -> None:
    good = assistant("s-num", 1, inp=7, out=3)
    root = write_tree(tmp_path / "root", {"-p/s-num.jsonl": good + bad + b"\n", "-p/other.jsonl":
                                          assistant("s-other", 1, inp=1, out=1)})
    with archive(tmp_path / "a.db") as db:
        run_ingest(db, [root])
        keys = {r[0] for r in db.execute_sql("SELECT request_key FROM api_request").fetchall()}
        assert {"msg_s-num_1:req_s-num_1", "msg_s-other_1:req_s-other_1"} <= keys


def test_range_end_inside_a_read_block_is_not_end_of_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A range that stops at its end with a whole-JSON fragment of the next line pending leaves that line alone."""
    import store.ingest.reader as reader
    from store.ingest.discover import classify

    first = orjson.dumps({"type": "summary", "summary": "one", "leafUuid": "l1"}) + b"\n"
    second = orjson.dumps({"type": "summary", "summary": "two", "leafUuid": "l2"})
    path = tmp_path / "projects" / "p" / "s.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes(first + second + b"\n")
    monkeypatch.setattr(reader, "READ_BLOCK", len(first) + len(second))  # the block ends just before the "\n"
    ctx = classify(str(path), str(tmp_path / "projects"))
    chunk = reader.parse_range(reader.RangeTask(ctx, 1, 0, len(first), True, False))
    assert (chunk.lines, chunk.end_offset, [s[1] for s in chunk.summaries]) == (1, len(first), ["one"])


# -- 6. A cancelled ingest (quitting the app) ------------------------------------------------------------

@pytest.mark.parametrize("parallel", [False, True], ids=["inline", "pool"])
def test_a_cancelled_ingest_commits_what_it_parsed_and_the_next_run_completes_it(
        spotter: dict[str, bytes], spotter_clean: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        parallel: bool) -> None:
    monkeypatch.setattr(runner, "RANGE_BYTES", 64 << 10)  # many ranges, so the cancel lands in the middle
    monkeypatch.setattr(runner, "COMMIT_ROWS", 150)
    files = replicated(spotter, 2)
    expected = clean_snapshot(tmp_path / "clean", files)
    root = write_tree(tmp_path / "root", files)
    total_bytes = sum(len(v) for v in files.values())
    cancel = threading.Event()

    def progress(state: runner.IngestProgress) -> None:
        if state.bytes_done > total_bytes // 3:
            cancel.set()

    with archive(tmp_path / "cancelled.db") as db:
        stats = run_ingest(db, [root], progress=progress, parallel=parallel, cancel=cancel)
        assert stats.cancelled
        status, requests_added = db.execute_sql(
            "SELECT status, requests_added FROM ingest_run ORDER BY id DESC LIMIT 1").fetchone()
        assert status == "cancelled"
        done = db.execute_sql("SELECT sum(committed_offset) FROM source_file").fetchone()[0]
        assert total_bytes // 3 < done < total_bytes  # stopped early, and kept what it had parsed
        partial = snapshot(db)
        assert 0 < partial["totals"][0] == requests_added < expected["totals"][0]
        assert rollup_differences(db.connection()) == []
        prefixes = committed_prefixes(db, root)
        resumed = run_ingest(db, [root])
        assert not resumed.cancelled
        assert snapshot(db) == expected  # nothing lost, nothing counted twice
    assert partial == clean_snapshot(tmp_path / "prefixes", prefixes)
