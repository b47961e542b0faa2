"""Each ingest rule, checked on real transcripts (or real lines edited to make the case), hand-computed."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from store.db import open_archive
from store.ingest.runner import run_ingest
from tests.samples import SAMPLES, TREES, build_tree, require_samples

SPOTTER = SAMPLES / "marot-spotter/test/fixtures/transcripts"
CCL = SAMPLES / "daaain-claude-code-log/test/test_data"


@pytest.fixture
def archive(tmp_path: Path):
    db = open_archive(tmp_path / "archive.db")
    yield db
    db.close()


def _root(tmp_path: Path, files: dict[str, Path | bytes | list[dict]]) -> Path:
    root = tmp_path / "claude"
    for rel, content in files.items():
        path = root / "projects" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copy(content, path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in content))
    return root


def _totals(db) -> tuple[int, ...]:
    return db.execute_sql(
        "SELECT count(*), coalesce(sum(input_tokens),0), coalesce(sum(output_tokens),0), "
        "coalesce(sum(cache_write_5m + cache_write_1h),0), coalesce(sum(cache_read),0) FROM api_request"
    ).fetchone()


def _lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


@pytest.mark.parametrize("tree", sorted(TREES))
def test_every_sample_tree_ingests_without_error(tree: str, tmp_path: Path, archive) -> None:
    root = build_tree(tree, tmp_path / "root")
    stats = run_ingest(archive, [root])
    assert stats.files_seen > 0
    assert archive.execute_sql("SELECT count(*) FROM ingest_run WHERE status = 'ok'").fetchone()[0] == 1
    expected_malformed = 3 if tree == "claude-code-log-fixtures" else 0  # edge_cases.jsonl: 3 non-object lines
    assert stats.malformed_lines == expected_malformed


def test_split_response_keeps_largest_usage_not_first(tmp_path: Path, archive) -> None:
    require_samples()
    run_ingest(archive, [_root(tmp_path, {"p/8463c716-a2ea-4c14-9efa-87158ebd9f20.jsonl":
                                          SPOTTER / "8463c716-a2ea-4c14-9efa-87158ebd9f20.jsonl"})])
    # msg_01L6rJ343R7Eu6pjghF1Hkdb is written as 4 lines (text, thinking, tool_use, tool_use) with output 10, 10,
    # 10, 211; input 3, 1h cache write 8052 and cache read 17842 repeated on each line.
    row = archive.execute_sql(
        "SELECT input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, ts_ms FROM api_request "
        "WHERE message_id = 'msg_01L6rJ343R7Eu6pjghF1Hkdb'").fetchall()
    # the time is the winning line's (2026-02-11T21:41:50.096Z), as in ccusage
    assert row == [(3, 211, 0, 8052, 17842, 1770846110096)]
    # content is the union over the lines: both tool_use blocks of that response are tool calls of its request
    like = ("msg_01L6rJ343R7Eu6pjghF1Hkdb:%",)
    tools = archive.execute_sql("SELECT count(*) FROM tool_call WHERE request_key LIKE ?", like)
    assert tools.fetchone()[0] == 2
    messages = archive.execute_sql("SELECT count(*) FROM message WHERE request_key LIKE ?", like)
    assert messages.fetchone()[0] == 4


def test_task_result_usage_is_not_counted(tmp_path: Path, archive) -> None:
    require_samples()
    run_ingest(archive, [_root(tmp_path, {"p/dedup_main.jsonl": CCL / "dedup_main.jsonl"})])
    # two responses: (3 in, 100 out, 1000 cw, 0 cr) + (3, 50, 100, 1000); the Task toolUseResult.usage
    # (2, 200, 1001, 5000) describes the subagent's last call and must not be added.
    assert _totals(archive) == (2, 6, 150, 1100, 1000)


def test_progress_lines_never_count(tmp_path: Path, archive) -> None:
    require_samples()
    run_ingest(archive, [_root(tmp_path, {"p/subagent.jsonl": SPOTTER / "subagent.jsonl"})])
    # subagent.jsonl embeds haiku responses of its Explore agent inside agent_progress lines only
    models = {m for (m,) in archive.execute_sql("SELECT DISTINCT model FROM api_request").fetchall()}
    assert not any("haiku" in m for m in models)
    link = archive.execute_sql("SELECT count(*) FROM subagent WHERE parent_tool_use_id IS NOT NULL").fetchone()[0]
    assert link >= 1  # the progress line still links the agent to its Task call


def test_exact_uuid_and_request_dedup_across_files(tmp_path: Path, archive) -> None:
    """A resumed session replays earlier lines into a new file: nothing is counted twice."""
    require_samples()
    src = SPOTTER / "tool_heavy.jsonl"
    run_ingest(archive, [_root(tmp_path, {"p/a.jsonl": src})])
    once = _totals(archive)
    messages = archive.execute_sql("SELECT count(*) FROM message").fetchone()[0]
    run_ingest(archive, [_root(tmp_path, {"p/a.jsonl": src, "p/resumed.jsonl": src, "q/copy.jsonl": src})])
    assert _totals(archive) == once
    assert archive.execute_sql("SELECT count(*) FROM message").fetchone()[0] == messages


def test_sidechain_replay_of_parent_message_is_dropped_in_any_order(tmp_path: Path) -> None:
    """A sidechain copy of a parent response under another requestId (``/btw``) counts once, as the parent's."""
    require_samples()
    main = _lines(CCL / "sidechain_main.jsonl")
    replay = dict(main[0], isSidechain=True, requestId="req_btw_replay", uuid="replay-1", agentId="btw1")
    expected = (2, 6, 555, 144224, 141272)  # the two main responses: (3,365,141272,0) + (3,190,2952,141272)
    for order in ("parent-first", "replay-first"):
        db = open_archive(tmp_path / f"{order}.db")
        files = {"p/s.jsonl": main, "p/s/subagents/agent-btw1.jsonl": [replay]}
        root = _root(tmp_path / order, files)
        if order == "replay-first":
            run_ingest(db, [_root(tmp_path / order, {"p/s/subagents/agent-btw1.jsonl": [replay]})])
        run_ingest(db, [root])
        assert _totals(db) == expected, order
        owner = db.execute_sql("SELECT is_sidechain FROM api_request WHERE message_id = ?", (main[0]["message"]["id"],))
        assert owner.fetchall() == [(0,)]
        db.close()


def test_request_id_missing_falls_back_to_message_id(tmp_path: Path, archive) -> None:
    require_samples()
    line = _lines(CCL / "dedup_main.jsonl")[0]
    line.pop("requestId")
    small = dict(line, uuid="u-small", message=dict(line["message"], usage=dict(line["message"]["usage"],
                                                                                 output_tokens=7)))
    run_ingest(archive, [_root(tmp_path, {"p/x.jsonl": [small, line]})])
    assert _totals(archive) == (1, 3, 100, 1000, 0)


def test_synthetic_messages_carry_no_cost(tmp_path: Path, archive) -> None:
    from store.pricing import PriceTable
    from store.reports.usage import Filters, usage_by_period
    from store.timezones import resolve_timezone

    require_samples()
    real = _lines(CCL / "dedup_main.jsonl")[0]
    notice = dict(real, uuid="syn-1", requestId=None, isApiErrorMessage=True,
                  message=dict(real["message"], id="syn-msg", model="<synthetic>",
                               content=[{"type": "text", "text": "API Error: Request was aborted."}],
                               usage={"input_tokens": 0, "output_tokens": 0}))
    run_ingest(archive, [_root(tmp_path, {"p/r.jsonl": [real, notice]})])
    synthetic = archive.execute_sql("SELECT is_api_error FROM api_request WHERE model = '<synthetic>'").fetchall()
    assert synthetic == [(1,)]
    periods = usage_by_period(archive, "daily", Filters(tz=resolve_timezone("UTC")), PriceTable.bundled())
    assert all("<synthetic>" not in p.models for p in periods)
    assert sum(p.total.requests for p in periods) == 1


def test_cache_write_split_5m_and_1h(tmp_path: Path, archive) -> None:
    require_samples()
    run_ingest(archive, [_root(tmp_path, {"p/s.jsonl": SPOTTER / "8463c716-a2ea-4c14-9efa-87158ebd9f20.jsonl"})])
    five, hour = archive.execute_sql("SELECT sum(cache_write_5m), sum(cache_write_1h) FROM api_request").fetchone()
    assert five == 0 and hour > 0  # CC 2.1.39 main thread writes only 1-hour cache


def test_unknown_and_metadata_entries_are_kept_raw(tmp_path: Path, archive) -> None:
    unknown = {"type": "hologram", "sessionId": "s1", "timestamp": "2026-03-01T10:00:00.000Z", "beam": [1, 2]}
    queue = {"type": "queue-operation", "operation": "enqueue", "sessionId": "s1", "content": "also do X",
             "timestamp": "2026-03-01T10:00:01.000Z"}
    run_ingest(archive, [_root(tmp_path, {"p/s1.jsonl": [unknown, queue]})])
    rows = archive.execute_sql("SELECT type, json FROM raw_entry ORDER BY ts_ms").fetchall()
    assert [t for t, _ in rows] == ["hologram", "queue-operation"]
    assert orjson.loads(rows[0][1]) == unknown
    run_ingest(archive, [tmp_path / "claude"])
    assert archive.execute_sql("SELECT count(*) FROM raw_entry").fetchone()[0] == 2


def test_project_comes_from_cwd_not_folder_name(tmp_path: Path, archive) -> None:
    require_samples()
    viewer = SAMPLES / "d-kimuson-claude-code-viewer/mock-global-claude-dir/projects/sample-project"
    run_ingest(archive, [_root(tmp_path, {"-some-lossy-name/fe5e1c67-53e7-4862-81ae-d0e013e3270b.jsonl":
                                          viewer / "fe5e1c67-53e7-4862-81ae-d0e013e3270b.jsonl"})])
    # the inline sidechains of that 1.0.98 session ran in /path/to/Demo/todo-app; the main thread in /path/to/Demo
    row = archive.execute_sql("SELECT p.path, s.project_dir FROM session s JOIN project p ON p.id = s.project_id "
                              "WHERE s.session_id = 'fe5e1c67-53e7-4862-81ae-d0e013e3270b'").fetchone()
    assert row == ("/path/to/Demo", "-some-lossy-name")


def test_titles_custom_over_ai_over_summary_over_first_prompt(tmp_path: Path, archive) -> None:
    from store.pricing import PriceTable
    from store.reports.sessions import usage_by_session
    from store.reports.usage import Filters
    from store.timezones import resolve_timezone

    require_samples()
    sniffly = SAMPLES / "chiphuyen-sniffly/tests/mock-data/-Users-chip-dev-ai-music"
    files: dict[str, Path | list[dict]] = {f"m/{p.name}": p for p in sniffly.glob("*.jsonl")}
    base = _lines(CCL / "dedup_main.jsonl")
    prompt = {"type": "user", "uuid": "p1", "sessionId": "t1", "timestamp": "2026-03-01T10:00:00.000Z",
              "cwd": "/w", "message": {"role": "user", "content": "Fix the login bug please"}}
    answer = dict(base[0], sessionId="t1", uuid="a1", timestamp="2026-03-01T10:00:05.000Z")
    files["t/t1.jsonl"] = [prompt, answer, {"type": "ai-title", "sessionId": "t1", "aiTitle": "Login bug"},
                           {"type": "custom-title", "sessionId": "t1", "customTitle": "My title"}]
    files["t/t2.jsonl"] = [dict(prompt, sessionId="t2", uuid="p2"), dict(answer, sessionId="t2", uuid="a2",
                           requestId="r2"), {"type": "ai-title", "sessionId": "t2", "aiTitle": "Login bug"}]
    files["t/t3.jsonl"] = [dict(prompt, sessionId="t3", uuid="p3"), dict(answer, sessionId="t3", uuid="a3",
                                                                        requestId="r3")]
    run_ingest(archive, [_root(tmp_path, files)])
    sessions = usage_by_session(archive, Filters(tz=resolve_timezone("UTC")), PriceTable.bundled())
    titles = {s.session_id: s.title for s in sessions}
    assert titles["t1"] == "My title"
    assert titles["t2"] == "Login bug"
    assert titles["t3"] == "Fix the login bug please"
    # sniffly's ff71dbed file holds only a summary whose leafUuid lives in session d3ad4cdc
    assert titles["d3ad4cdc-5657-435d-98fa-0035d53e383d"] == "AI Music Generation: Diverse Embedding Mapping"


def test_subagents_compactions_and_tool_calls_from_real_sessions(tmp_path: Path, archive) -> None:
    root = build_tree("spotter", tmp_path / "root")
    build_tree("fasthooks", root)
    run_ingest(archive, [root])
    agent = archive.execute_sql("SELECT session_id, kind, agent_type, parent_tool_use_id, files FROM subagent "
                                "WHERE agent_id = 'a7be2f0'").fetchone()
    assert agent[:4] == ("8463c716-a2ea-4c14-9efa-87158ebd9f20", "subagent", "Explore",
                         "toolu_017SvvKc8KLbhGMG3tXkf21Z")
    assert orjson.loads(agent[4])[0].endswith("subagents/agent-a7be2f0.jsonl")
    compact = archive.execute_sql("SELECT kind FROM subagent WHERE agent_id = 'acompact-f46190'").fetchone()
    assert compact == ("compaction",)
    # the compaction call has cost (cache read 167,093 + 1h write 2,814) and is labelled as such
    assert archive.execute_sql("SELECT cache_read, cache_write_1h FROM api_request WHERE is_compaction = 1"
                               ).fetchall() == [(167093, 2814)]
    boundary = archive.execute_sql("SELECT trigger, pre_tokens FROM compaction WHERE session_id LIKE '8463c716%'")
    assert boundary.fetchall() == [("auto", 167731)]
    manual = archive.execute_sql("SELECT trigger, pre_tokens FROM compaction WHERE session_id LIKE 'c45af7b1%'")
    assert manual.fetchall() == [("manual", 21558)]
    # warmup agent of CC 2.0.76 is flagged, not counted as user work
    assert archive.execute_sql("SELECT kind FROM subagent WHERE agent_id = 'af1ff21'").fetchone() == ("warmup",)
    statuses = dict(archive.execute_sql("SELECT status, count(*) FROM tool_call GROUP BY 1").fetchall())
    assert statuses.get("error", 0) > 0 and statuses["ok"] > 0
    bad = archive.execute_sql("SELECT count(*) FROM tool_call WHERE result_ts_ms IS NOT NULL AND call_ts_ms IS NOT "
                              "NULL AND duration_ms != result_ts_ms - call_ts_ms").fetchone()[0]
    assert bad == 0
    errors = archive.execute_sql("SELECT error_text FROM tool_call WHERE status = 'error'").fetchall()
    assert all(text and "<tool_use_error>" not in text for (text,) in errors)


def test_file_tools_record_paths_and_mcp_servers(tmp_path: Path, archive) -> None:
    call = {"type": "assistant", "uuid": "a1", "sessionId": "s", "timestamp": "2026-03-01T10:00:00.000Z",
            "requestId": "r1", "message": {"id": "m1", "model": "claude-opus-4-6", "role": "assistant",
            "content": [{"type": "tool_use", "id": "t1", "name": "Edit", "input": {"file_path": "/w/a.py"}},
                        {"type": "tool_use", "id": "t2", "name": "mcp__github__create_pr", "input": {}},
                        {"type": "tool_use", "id": "t3", "name": "Skill", "input": {"skill": "pdf"}}],
            "usage": {"input_tokens": 1, "output_tokens": 2}}}
    result = {"type": "user", "uuid": "u1", "sessionId": "s", "timestamp": "2026-03-01T10:00:02.500Z",
              "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                          "content": "<tool_use_error>String not found</tool_use_error>", "is_error": True}]}}
    run_ingest(archive, [_root(tmp_path, {"p/s.jsonl": [result, call]})])  # result first: order must not matter
    rows = archive.execute_sql("SELECT tool_use_id, name, file_path, mcp_server, skill, status, error_text, "
                               "duration_ms FROM tool_call ORDER BY tool_use_id").fetchall()
    assert rows == [("t1", "Edit", "/w/a.py", None, None, "error", "String not found", 2500),
                    ("t2", "mcp__github__create_pr", None, "github", None, "pending", None, None),
                    ("t3", "Skill", None, None, "pdf", "pending", None, None)]
