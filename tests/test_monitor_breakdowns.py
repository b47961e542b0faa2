"""Session and project breakdowns: dollars per token class add up to the bill, agents apart, top sessions."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import orjson
import pytest
from peewee import Database

from store.monitor.breakdowns import project_breakdown, session_breakdown
from store.monitor.params import NotFound, ParamError, make_scope
from store.pricing import PriceTable
from store.timezones import resolve_timezone
from tests.monitor_tree import Transcript, ingest, sample_archive

UTC = resolve_timezone("UTC")
PRICES = PriceTable.bundled()


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from sample_archive(tmp_path_factory)


def _d(x: float) -> Decimal:
    return Decimal(str(x))


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    root = tmp_path_factory.mktemp("monitor-breakdowns") / "claude"
    main = Transcript("b1", "/work/shop", "2026-05-01T10:00:00Z", branch="feature/cart")
    main.prompt("add a cart")
    (edit,) = main.reply(inp=1000, out=100, cw1=2000, cr=10_000, tools=[("Edit", {"file_path": "/work/shop/cart.py"})])
    main.result(edit)
    main.write(root, "shop/b1.jsonl")
    sub = Transcript("b1", "/work/shop", "2026-05-01T10:00:10Z", agent="a3333333")
    sub.prompt("find the cart code")
    sub.reply(model="claude-haiku-4-5-20251001", inp=100, out=10)
    sub.write(root, "shop/b1/subagents/agent-a3333333.jsonl")
    (root / "projects/shop/b1/subagents/agent-a3333333.meta.json").write_bytes(
        orjson.dumps({"agentType": "Explore", "description": "Find cart code"}))
    compact = Transcript("b1", "/work/shop", "2026-05-01T10:01:00Z", agent="acompact-abc123")
    compact.prompt("Summarise the conversation")
    compact.reply(out=6, inp=0, cr=50_000)
    compact.write(root, "shop/b1/subagents/agent-acompact-abc123.jsonl")
    small = Transcript("b2", "/work/shop", "2026-05-02T10:00:00Z", branch="main")
    small.prompt("hi")
    small.reply(inp=10, out=1)
    small.write(root, "shop/b2.jsonl")
    database = ingest(root, root.parent / "a.db")
    yield database
    database.close()


def test_session_breakdown_by_token_class_agent_and_tool(db: Database) -> None:
    result = session_breakdown(db, PRICES, "b1")
    classes = {name: _d(c["cost_usd"]) for name, c in result["token_classes"].items()}
    # opus-4-6: input 1000*5, output 100*25 + 6*25 (compaction), 1h write 2000*10, read (10,000 + 50,000)*0.50;
    # haiku-4-5: input 100*1, output 10*5
    assert classes == {"input": Decimal("0.0051"), "output": Decimal("0.0027"), "cache_write_5m": 0,
                       "cache_write_1h": Decimal("0.02"), "cache_read": Decimal("0.03"), "web_search": 0}
    assert sum(classes.values()) == _d(result["usage"]["cost_usd"]) == Decimal("0.0578")
    assert result["token_classes"]["cache_read"]["tokens"] == 60_000
    agents = [(a["agent_id"], a["kind"], a["agent_type"], _d(a["cost_usd"])) for a in result["agents"]]
    assert agents == [(None, "main", None, Decimal("0.0325")),
                      ("acompact-abc123", "compaction", None, Decimal("0.02515")),
                      ("a3333333", "subagent", "Explore", Decimal("0.00015"))]
    assert [m["model"] for m in result["models"]] == ["claude-opus-4-6", "claude-haiku-4-5-20251001"]
    assert result["tools"] == [{"tool_name": "Edit", "calls": 1, "errors": 0, "avg_duration_ms": 1000}]
    assert result["files"] == [{"path": "/work/shop/cart.py", "reads": 0, "writes": 0, "edits": 1, "total": 1}]
    with pytest.raises(ParamError):
        session_breakdown(db, PRICES, None)
    with pytest.raises(NotFound) as info:
        session_breakdown(db, PRICES, "nope")
    assert info.value.parameter == "session_id"


def test_project_breakdown(db: Database) -> None:
    result = project_breakdown(db, PRICES, make_scope(UTC, project="shop"))
    assert (result["project_paths"], result["project_name"], result["sessions"]) == (["/work/shop"], "shop", 2)
    # b2: 10*5 + 1*25 = 75 µ$
    assert _d(result["usage"]["cost_usd"]) == Decimal("0.0578") + Decimal("0.000075")
    assert [(s["session_id"], _d(s["cost_usd"])) for s in result["top_sessions"]] == [
        ("b1", Decimal("0.0578")), ("b2", Decimal("0.000075"))]
    assert result["top_sessions"][0]["title"] == "add a cart"
    assert result["branches"] == [{"branch": "feature/cart", "sessions": 1}, {"branch": "main", "sessions": 1}]
    assert [t["tool_name"] for t in result["tools"]] == ["Edit"]
    ranged = project_breakdown(db, PRICES, make_scope(UTC, project="shop", date_from="2026-05-02"))
    assert ranged["sessions"] == 1 and ranged["usage"]["requests"] == 1
    with pytest.raises(NotFound):
        project_breakdown(db, PRICES, make_scope(UTC, project="nope"))
    with pytest.raises(ParamError):
        project_breakdown(db, PRICES, make_scope(UTC))


def test_token_classes_add_up_over_the_samples(samples_db: Database) -> None:
    sessions = [r[0] for r in samples_db.execute_sql(
        "SELECT session_id FROM api_request GROUP BY 1 ORDER BY count(*) DESC LIMIT 10").fetchall()]
    for sid in sessions:
        result = session_breakdown(samples_db, PRICES, sid)
        classes = sum(_d(c["cost_usd"]) for c in result["token_classes"].values())
        assert abs(classes - _d(result["usage"]["cost_usd"])) <= Decimal("0.000003"), sid
        assert sum(a["requests"] for a in result["agents"]) == result["usage"]["requests"]
