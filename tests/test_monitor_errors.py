"""Error statistics: signatures that group similar errors, rates per tool, and the 30-day trend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from peewee import Database

from store.monitor.errors import error_signature, error_stats
from store.monitor.params import Scope, make_scope
from store.timezones import resolve_timezone
from tests.monitor_tree import Transcript, ingest, ms, sample_archive

UTC = resolve_timezone("UTC")


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from sample_archive(tmp_path_factory)


@pytest.mark.parametrize(("texts", "signature"), [
    (["cat: a.txt: No such file or directory", "cat: /tmp/x/b.py: No such file or directory"],
     "cat: <path>: No such file or directory"),
    (["Exit code 1\nTraceback (most recent call last):\n  File \"/x/y.py\", line 3, in <module>\n"
      "ModuleNotFoundError: No module named 'foo'",
      "Traceback (most recent call last):\n  File \"/a.py\", line 9\nModuleNotFoundError: No module named 'bar'"],
     "ModuleNotFoundError: No module named <str>"),
    (["Request failed with status code 404", "Request failed with status code 503"],
     "Request failed with status code <n>"),
    (["ls: cannot access 'types/': No such file or directory", "ls: cannot access 'src': No such file or directory"],
     "ls: cannot access <str>: No such file or directory"),
    (["Exit code 1\n============================= test session starts ==============================\nplatform linux",
      "============================= test session starts =====\nFAILED tests/test_a.py::test_b"],
     "pytest: test run failed"),
    (["/w/conv.py\n  /w/conv.py:184:17 - error: Type of \"x\" is unknown",
      "/v/other.py\n  /v/other.py:3:1 - error: Type of \"y\" is unknown"],
     "<path>:<n> - error: Type of <str> is unknown"),
    (["Shell 5f3a2b is not running", "Shell 0c91de is not running"], "Shell <id> is not running"),
    (["Agent 3f2a9c1e-1111-4222-8333-444455556666 failed after 12ms", "Agent toolu_01AbC failed after 7s"],
     "Agent <id> failed after <n>"),
    (["Exit code 2\n\n=== FAILURES ===\nmake: *** [all] Error 2", "Exit code 1\nmake: *** [all] Error 1"],
     "Exit code <n>: make: *** [all] Error <n>"),
])
def test_similar_errors_share_a_signature(texts: list[str], signature: str) -> None:
    assert {error_signature(t) for t in texts} == {signature}


def test_different_failures_stay_apart() -> None:
    pytest_missing = error_signature("Exit code 127\n/bin/bash: line 1: pytest: command not found")
    python_missing = error_signature("Exit code 127\n/bin/bash: line 1: python: command not found")
    assert pytest_missing == "Exit code <n>: <path>: line <n>: pytest: command not found"
    assert pytest_missing != python_missing
    assert error_signature("make: *** [lint] Error 1") != error_signature("make: *** [all] Error 1")
    assert error_signature("String to replace not found in file.\nString: def main():") == (
        "String to replace not found in file.")
    assert error_signature("The user doesn't want to take this action right now. STOP") == (
        "The user doesn't want to take this action right now. STOP")  # one apostrophe is no quote
    assert error_signature(None) == error_signature("  \n") == "(no error text)"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    root = tmp_path_factory.mktemp("monitor-errors") / "claude"
    t = Transcript("e1", "/p/err", "2026-04-10T12:00:00Z")
    t.prompt("go")
    calls = t.reply(tools=[("Bash", {"command": f"cat f{i}.txt"}) for i in range(3)] + [
        ("Read", {"file_path": "/p/err/a"}), ("Edit", {"file_path": "/p/err/b"}), ("Bash", {"command": "ls"})])
    for i in range(3):
        t.result(calls[i], f"Exit code 1\ncat: f{i}.txt: No such file or directory", error=True)
    t.result(calls[3], "EISDIR: illegal operation on a directory, read", error=True)
    t.result(calls[4], "The user doesn't want to proceed with this tool use. The tool use was rejected")
    t.result(calls[5], "a b c")
    late = t.reply(tools=[("Bash", {"command": "cat z.txt"})], at="2026-04-20T12:00:00Z")
    t.result(late[0], "Exit code 1\ncat: z.txt: No such file or directory", error=True)
    t.write(root, "err/e1.jsonl")
    other = Transcript("e2", "/p/other", "2026-04-10T12:00:00Z")
    other.prompt("go")
    (call,) = other.reply(tools=[("Read", {"file_path": "/x"})])
    other.result(call, "EISDIR: illegal operation on a directory, read", error=True)
    other.write(root, "other/e2.jsonl")
    database = ingest(root, root.parent / "a.db")
    yield database
    database.close()


def test_error_totals_rates_patterns_and_trend(db: Database) -> None:
    result = error_stats(db, make_scope(UTC, project="err"), now=ms("2026-04-30T12:00:00+00:00"))
    assert (result["total_errors"], result["total_tool_calls"], result["rejected"]) == (5, 7, 1)
    assert result["error_rate"] == round(5 / 7, 4)
    assert [(t["tool_name"], t["errors"], t["calls"]) for t in result["by_tool"]] == [("Bash", 4, 5), ("Read", 1, 1)]
    patterns = result["patterns"]
    assert [(p["pattern"], p["count"]) for p in patterns] == [
        ("Exit code <n>: cat: <path>: No such file or directory", 4),
        ("EISDIR: illegal operation on a directory, read", 1)]
    assert patterns[0]["tools"] == [{"tool_name": "Bash", "count": 4}] and patterns[0]["sessions"] == 1
    assert patterns[0]["last_seen"] == "2026-04-20T12:00:00.000Z"  # time of the call
    assert patterns[0]["example"].startswith("Exit code 1\ncat: f0.txt")
    trend = result["trend"]
    assert len(trend) == 30 and trend[-1]["date"] == "2026-04-30" and trend[0]["date"] == "2026-04-01"
    by_day = {d["date"]: (d["errors"], d["tool_calls"]) for d in trend if d["tool_calls"]}
    assert by_day == {"2026-04-10": (4, 6), "2026-04-20": (1, 1)}
    everything = error_stats(db, Scope(UTC), now=ms("2026-04-30T12:00:00+00:00"))
    assert everything["patterns"][1] == everything["patterns"][1] | {"count": 2, "sessions": 2}


def test_trend_ends_at_the_range_end(db: Database) -> None:
    result = error_stats(db, make_scope(UTC, date_from="2026-04-01", date_to="2026-04-15"),
                         now=ms("2026-06-01T00:00:00+00:00"))
    assert result["trend"][-1]["date"] == "2026-04-15" and result["total_errors"] == 5
    assert sum(d["errors"] for d in result["trend"]) == 5


def test_sample_errors_group_into_fewer_patterns(samples_db: Database) -> None:
    result = error_stats(samples_db, Scope(UTC))
    assert result["total_errors"] == sum(t["errors"] for t in result["by_tool"]) > 50
    top = result["patterns"][0]
    assert top["pattern"] == "File has not been read yet. Read it first before writing to it."
    assert {t["tool_name"] for t in top["tools"]} >= {"Edit", "Write"}
    distinct = samples_db.execute_sql("SELECT count(DISTINCT error_text) FROM tool_call WHERE status = 'error'")
    assert len(result["patterns"]) <= 20 < distinct.fetchone()[0]
