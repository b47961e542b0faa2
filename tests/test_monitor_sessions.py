"""Sessions, messages, tool calls, subagents and timelines over hand-written transcripts and the real samples."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import orjson
import pytest
from peewee import Database

from store.monitor import messages, sessions, subagents, timeline, tool_calls
from store.monitor.params import NotFound, Page, Scope, make_scope
from store.pricing import PriceTable
from store.timezones import resolve_timezone
from tests.monitor_tree import Transcript, ingest, ms, sample_archive

UTC = resolve_timezone("UTC")
PRICES = PriceTable.bundled()
ALPHA, BETA_NEW, BETA_OLD = "s-alpha-1", "s-beta-1", "s-beta-2"


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from sample_archive(tmp_path_factory)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    root = tmp_path_factory.mktemp("monitor-sessions") / "claude"
    alpha = Transcript(ALPHA, "/work/alpha", "2026-05-01T14:00:00Z")
    alpha.prompt("Fix the failing login test", at="2026-05-01T14:00:00Z")
    read, bash = alpha.reply(inp=1000, out=200, cr=5000, text="Looking", tools=[
        ("Read", {"file_path": "/work/alpha/src/login.py"}), ("Bash", {"command": "pytest tests"})])
    alpha.result(read, "def login(): ...")
    alpha.result(bash, "Exit code 1\nFAILED tests/test_login.py::test_ok", error=True)
    alpha.reply(inp=500, out=100, text="Fixed it, said the wombat")
    alpha.compact()
    alpha.prompt("thanks", at="2026-05-01T15:00:00Z")
    alpha.write(root, "alpha/s-alpha-1.jsonl")
    agent = Transcript(ALPHA, "/work/alpha", "2026-05-01T14:00:20Z", agent="a1111111")
    agent.prompt("Look around the login module")
    agent.reply(model="claude-haiku-4-5-20251001", inp=50, out=5)
    agent.write(root, "alpha/s-alpha-1/subagents/agent-a1111111.jsonl")
    meta = root / "projects/alpha/s-alpha-1/subagents/agent-a1111111.meta.json"
    meta.write_bytes(orjson.dumps({"agentType": "Explore", "description": "Look around"}))
    beta = Transcript(BETA_NEW, "/work/beta", "2026-05-03T10:00:00Z")
    beta.prompt("Where does the kangaroo module live?")
    beta.reply(model="claude-sonnet-4-5-20250929", inp=300, out=30)
    beta.write(root, "beta/s-beta-1.jsonl")
    old = Transcript(BETA_OLD, "/work/beta", "2026-04-20T09:00:00Z")
    old.prompt("hello")
    old.reply(inp=10, out=1)
    old.write(root, "beta/s-beta-2.jsonl")
    database = ingest(root, root.parent / "a.db")
    yield database
    database.close()


def _ids(result: dict) -> list[str]:
    return [s["id"] for s in result["sessions"]]


def _list(db: Database, page: Page | None = None, **filters: str) -> dict:
    return sessions.list_sessions(db, PRICES, make_scope(UTC, **filters), page or Page(),
                                  now=ms("2026-05-03T10:05:00+00:00"))


def test_sessions_are_listed_by_last_activity_and_paged(db: Database) -> None:
    assert _ids(_list(db)) == [BETA_NEW, ALPHA, BETA_OLD]
    first = _list(db, Page(2, 0))
    assert (_ids(first), first["total"], first["has_more"]) == ([BETA_NEW, ALPHA], 3, True)
    last = _list(db, Page(2, 2))
    assert (_ids(last), last["total"], last["has_more"]) == ([BETA_OLD], 3, False)
    beyond = _list(db, Page(2, 5))
    assert (beyond["sessions"], beyond["total"], beyond["has_more"]) == ([], 3, False)
    assert _list(db, Page(0, 0))["sessions"] == []


def test_session_filters(db: Database) -> None:
    assert _ids(_list(db, project="alpha")) == [ALPHA]
    assert _ids(_list(db, project="/work/beta")) == [BETA_NEW, BETA_OLD]
    assert _ids(_list(db, project="work")) == []  # the last component, never a substring
    assert _ids(_list(db, date_from="2026-05-02")) == [BETA_NEW]
    assert _ids(_list(db, date_to="2026-04-30")) == [BETA_OLD]
    # a session overlapping the range is in it: alpha runs 14:00-15:00
    assert _ids(_list(db, date_from="2026-05-01T14:30:00Z", date_to="2026-05-01T14:40:00Z")) == [ALPHA]
    assert _ids(_list(db, model="claude-sonnet-4-5")) == [BETA_NEW]  # undated id matches the dated one
    assert _ids(_list(db, model="claude-haiku-4-5-20251001")) == [ALPHA]  # used by its subagent
    assert _ids(_list(db, search="KANGAROO")) == [BETA_NEW]  # the title (first prompt)
    assert _ids(_list(db, search="wombat")) == [ALPHA]  # any line's text
    assert _ids(_list(db, search="100%")) == []  # LIKE wildcards are literal


def test_session_row_counts_and_priced_usage(db: Database) -> None:
    (alpha,) = _list(db, project="alpha")["sessions"]
    assert alpha["title"] == "Fix the failing login test"
    assert (alpha["project_path"], alpha["project_name"], alpha["git_branch"]) == ("/work/alpha", "alpha", "main")
    assert alpha["started_at"] == "2026-05-01T14:00:00.000Z" and alpha["ended_at"] == "2026-05-01T15:00:00.000Z"
    assert alpha["duration_ms"] == 3600 * 1000 and alpha["is_active"] is False
    # main thread: 7 lines, subagent: 2 lines
    assert (alpha["message_count"], alpha["tool_call_count"], alpha["tool_error_count"]) == (9, 2, 1)
    assert (alpha["subagent_count"], alpha["compaction_count"]) == (1, 1)
    # opus-4-6 ($5 in, $25 out, $0.50 cache read per MTok): 1000*5 + 200*25 + 5000*0.5 = 12,500 µ$; 500*5 + 100*25
    # = 5,000 µ$; haiku-4-5 ($1 in, $5 out): 50*1 + 5*5 = 75 µ$
    assert Decimal(str(alpha["usage"]["cost_usd"])) == Decimal("0.017575")
    assert alpha["usage"]["requests"] == 3 and alpha["usage"]["total_tokens"] == 1000 + 200 + 5000 + 600 + 55
    assert alpha["models"] == ["claude-haiku-4-5-20251001", "claude-opus-4-6"]
    (beta,) = _list(db, search="kangaroo")["sessions"]
    assert beta["is_active"] is True  # its last line is 5 minutes before "now"


def test_session_detail_and_unknown_id(db: Database) -> None:
    detail = sessions.session_detail(db, PRICES, Scope(UTC), ALPHA)
    assert detail["session"]["id"] == ALPHA
    assert set(detail["session"]["usage_by_model"]) == {"claude-haiku-4-5-20251001", "claude-opus-4-6"}
    assert len(detail["messages"]) == detail["messages_total"] == 9
    assert [t["tool_name"] for t in detail["tool_calls"]] == ["Read", "Bash"]
    assert [t["status"] for t in detail["tool_calls"]] == ["ok", "error"]
    assert detail["tool_calls"][0]["input"] == {"file_path": "/work/alpha/src/login.py"}
    (agent,) = detail["subagents"]
    assert (agent["id"], agent["kind"], agent["agent_type"], agent["tool_call_count"]) == (
        "a1111111", "subagent", "Explore", 0)
    assert Decimal(str(agent["usage"]["cost_usd"])) == Decimal("0.000075")
    assert [c["trigger"] for c in detail["compactions"]] == ["auto"]
    with pytest.raises(NotFound) as info:
        sessions.session_detail(db, PRICES, Scope(UTC), "nope")
    assert info.value.parameter == "session_id"


def test_message_usage_sits_on_one_line_per_response(db: Database) -> None:
    result = messages.list_messages(db, PRICES, Scope(UTC), Page(500, 0), session_id=ALPHA)
    lines = result["messages"]
    assert [m["timestamp"] for m in lines] == sorted(m["timestamp"] for m in lines)  # conversation order
    with_usage = [m for m in lines if m["usage"]]
    assert len(with_usage) == 3
    assert sum(m["usage"]["total_tokens"] for m in with_usage) == 6855
    assert sum(Decimal(str(m["usage"]["cost_usd"])) for m in with_usage) == Decimal("0.017575")
    assistants = messages.list_messages(db, PRICES, Scope(UTC), Page(500, 0), message_type="assistant")
    assert assistants["total"] == 5 and {m["type"] for m in assistants["messages"]} == {"assistant"}
    newest = messages.list_messages(db, PRICES, Scope(UTC), Page(1, 0))["messages"][0]
    assert newest["session_id"] == BETA_NEW  # newest first across sessions
    found = messages.list_messages(db, PRICES, make_scope(UTC, search="wombat"), Page())
    assert [m["text"] for m in found["messages"]] == ["Fixed it, said the wombat"]
    with pytest.raises(NotFound):
        messages.list_messages(db, PRICES, Scope(UTC), Page(), session_id="nope")


def test_tool_calls_filters(db: Database) -> None:
    everything = tool_calls.list_tool_calls(db, Scope(UTC), Page())
    assert everything["total"] == 2
    bash = tool_calls.list_tool_calls(db, Scope(UTC), Page(), tool_name="Bash")["tool_calls"]
    assert [(t["tool_name"], t["status"], t["success"]) for t in bash] == [("Bash", "error", False)]
    assert bash[0]["error"].startswith("Exit code 1") and bash[0]["input"] == {"command": "pytest tests"}
    assert tool_calls.list_tool_calls(db, Scope(UTC), Page(), status="ok")["total"] == 1
    assert tool_calls.list_tool_calls(db, make_scope(UTC, project="beta"), Page())["total"] == 0
    assert tool_calls.list_tool_calls(db, make_scope(UTC, search="src/login"), Page())["total"] == 1  # input
    assert tool_calls.list_tool_calls(db, make_scope(UTC, search="test_login"), Page())["total"] == 1  # error


def test_subagents_list(db: Database) -> None:
    result = subagents.list_subagents(db, PRICES, Scope(UTC), Page())
    assert [a["id"] for a in result["subagents"]] == ["a1111111"]
    assert subagents.list_subagents(db, PRICES, Scope(UTC), Page(), kind="compaction")["total"] == 0
    assert subagents.list_subagents(db, PRICES, make_scope(UTC, project="beta"), Page())["total"] == 0
    assert subagents.list_subagents(db, PRICES, make_scope(UTC, search="explore"), Page())["total"] == 1


def test_timeline_merges_everything_in_time_order(db: Database) -> None:
    result = timeline.session_timeline(db, PRICES, ALPHA, Page(500, 0))
    kinds = [e["kind"] for e in result["events"]]
    assert result["counts"] == {"compaction": 1, "message": 7, "subagent": 1, "tool_call": 2}
    assert result["total"] == len(kinds) == 11
    stamps = [e["timestamp"] for e in result["events"]]
    assert stamps == sorted(stamps)
    assert kinds[:2] == ["message", "message"] and "tool_call" in kinds[2:4]
    assert result["duration_ms"] == 3600 * 1000 and result["total_tokens"] == 6855
    # tool-result carriers are represented by their tool calls; each response's tokens appear once
    assert sum(e["tokens"]["total_tokens"] for e in result["events"] if e.get("tokens")) == 6855
    page = timeline.session_timeline(db, PRICES, ALPHA, Page(4, 8))
    assert [e["id"] for e in page["events"]] == [e["id"] for e in result["events"][8:]] and not page["has_more"]
    with pytest.raises(NotFound):
        timeline.session_timeline(db, PRICES, "nope", Page())


def test_pages_over_the_real_samples_are_disjoint_and_complete(samples_db: Database) -> None:
    scope = Scope(UTC)
    everything = sessions.list_sessions(samples_db, PRICES, scope, Page(500, 0))
    seen: list[str] = []
    for offset in range(0, everything["total"], 7):
        seen += _ids(sessions.list_sessions(samples_db, PRICES, scope, Page(7, offset)))
    assert seen == _ids(everything) and len(set(seen)) == everything["total"] > 50
    lines = messages.list_messages(samples_db, PRICES, scope, Page(500, 0))
    total = samples_db.execute_sql("SELECT count(*) FROM message").fetchone()[0]
    assert lines["total"] == total
    stamps = [m["timestamp"] for m in lines["messages"] if m["timestamp"]]
    assert stamps == sorted(stamps, reverse=True)


def test_session_usage_over_the_samples_equals_the_sum_of_its_messages(samples_db: Database) -> None:
    """Every response's usage shows on exactly one of its lines, so summing lines gives the session's usage
    (less responses read from lines without a uuid, which are no messages: old exports, ccusage fixtures)."""
    scope = Scope(UTC)
    checked = 0
    for row in sessions.list_sessions(samples_db, PRICES, scope, Page(500, 0))["sessions"]:
        lines = messages.list_messages(samples_db, PRICES, scope, Page(500, 0), session_id=row["id"])
        if lines["total"] > 500:
            continue
        tokens = sum(m["usage"]["total_tokens"] for m in lines["messages"] if m["usage"])
        without_line = samples_db.execute_sql(
            "SELECT coalesce(sum(input_tokens + output_tokens + cache_write_5m + cache_write_1h + cache_read), 0) "
            "FROM api_request r WHERE session_id = ? AND model IS NOT NULL AND model != '<synthetic>' "
            "AND NOT EXISTS (SELECT 1 FROM message m WHERE m.uuid = r.uuid)", (row["id"],)).fetchone()[0]
        assert tokens + without_line == row["usage"]["total_tokens"], row["id"]
        checked += without_line == 0 and tokens > 0
    assert checked > 30
