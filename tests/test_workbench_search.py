"""Full-text search: the FTS5 index kept at ingest, ranking and snippets, malformed queries, unicode, the session
filter and the CLI, in-process and through the real server over the real samples."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import orjson
import pytest
from peewee import Database

from store.db import SCHEMA_VERSION, open_archive, schema_version
from store.ingest.rows import ParsedChunk
from store.ingest.runner import run_ingest
from store.monitor import sessions
from store.monitor.params import Page, make_scope
from store.pricing import PriceTable
from store.retention import prune_sessions
from store.search import RANK_WINDOW, SearchSyntaxError, search
from store.sqlite.connection import transaction
from store.sqlite.search import SEARCH_RESULT_CHARS, flush_search_queue, search_index_problems
from store.sqlite.writes import write_chunk
from store.timezones import resolve_timezone
from tests.api_server import REPO, ApiServer, error
from tests.monitor_tree import Transcript

UTC = resolve_timezone("UTC")
MALFORMED = ['"unclosed phrase', "kangaroo AND", "(kangaroo OR wombat", "NEAR(kangaroo wombat", "OR", "%%%", "   ",
             "", "kangaroo NOT", ")", "NEAR(a b, x)", "\x00", "🎉"]
ODD_BUT_VALID = ["spotter-fum", "100%", "src/login.py", "c++", "a.b.c", "foo:bar", "x*y", "'quoted'", "🎉 kangaroo",
                 "-kangaroo", "^kangaroo", '"say ""hi"""', "ÜBERPRÜFUNG"]


def _path(session_id: str, rest: str = "") -> str:
    return f"/api/sessions/{quote(session_id, safe='')}{rest}"



def _write_logs(root: Path) -> None:
    a = Transcript("s-rank-a", "/work/zoo", "2026-05-01T10:00:00Z")
    a.prompt("kangaroo kangaroo kangaroo: where does the kangaroo live?")
    a.reply(text="In Australia.", tools=[("Bash", {"command": "grep -rn wombat src/"})])
    a.write(root, "zoo/s-rank-a.jsonl")
    b = Transcript("s-rank-b", "/work/zoo", "2026-05-02T10:00:00Z")
    b.prompt("A long question about many animals: " + "the zebra and the lion and the giraffe " * 20
             + "and one kangaroo.")
    b.reply(text="Die Überprüfung der Café-Rechnung ist fertig. Привет, мир! 日本語のテキスト 🎉")
    [tool] = b.reply(text=None, tools=[("Read", {"file_path": "/work/zoo/notes.txt"})])
    b.result(tool, "platypus facts\n" + "x" * (SEARCH_RESULT_CHARS + 100) + " echidna")
    b.write(root, "zoo/s-rank-b.jsonl")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    tmp = tmp_path_factory.mktemp("search")
    _write_logs(tmp / "claude")
    database = open_archive(tmp / "a.db")
    run_ingest(database, [tmp / "claude"], parallel=False)
    yield database
    database.close()


def test_ranking_snippets_and_sources(db: Database) -> None:
    result = search(db, "kangaroo")
    hits = result["results"]
    assert [h["session_id"] for h in hits] == ["s-rank-a", "s-rank-b"]  # four mentions in a short line rank first
    assert hits[0]["rank"] < hits[1]["rank"] and result["order"] == "relevance"
    top = hits[0]
    assert (top["kind"], top["role"], top["timestamp"]) == ("message", "user", "2026-05-01T10:00:01.000Z")
    assert top["message_id"] == "s-rank-a-0001" and top["project_path"] == "/work/zoo"
    assert top["snippet"].count("<mark>kangaroo</mark>") == 4
    assert "A long question" not in hits[1]["snippet"] and "<mark>kangaroo</mark>" in hits[1]["snippet"]
    # tool inputs and results are searchable, and point at the message that made the call
    (grep,) = search(db, "wombat")["results"]
    assert (grep["kind"], grep["tool_name"], grep["role"]) == ("tool_input", "Bash", "assistant")
    assert grep["message_id"] == "s-rank-a-0002" and "<mark>wombat</mark>" in grep["snippet"]
    (facts,) = search(db, "platypus")["results"]
    assert (facts["kind"], facts["role"], facts["tool_name"]) == ("tool_result", "user", "Read")
    assert search(db, "echidna")["results"] == []  # beyond the indexed start of a long result


def test_phrases_prefixes_and_operators(db: Database) -> None:
    assert {h["session_id"] for h in search(db, '"the kangaroo live"')["results"]} == {"s-rank-a"}
    assert search(db, '"live the kangaroo"')["results"] == []
    assert {h["snippet"] for h in search(db, "kanga*")["results"]} == {h["snippet"] for h in
                                                                        search(db, "kangaroo")["results"]}
    assert {h["session_id"] for h in search(db, "kangaroo NOT zebra")["results"]} == {"s-rank-a"}
    assert {h["kind"] for h in search(db, "wombat OR platypus")["results"]} == {"tool_input", "tool_result"}
    assert {h["session_id"] for h in search(db, "NEAR(zebra kangaroo, 200)")["results"]} == {"s-rank-b"}
    # punctuation is searched as the words it separates
    assert [h["tool_name"] for h in search(db, "src/")["results"]] == ["Bash"]
    assert [h["tool_name"] for h in search(db, "zoo/notes.txt")["results"]] == ["Read"]


def test_unicode_is_folded_and_kept(db: Database) -> None:
    for query in ("uberprufung", "ÜBERPRÜFUNG", "cafe", "CAFÉ", "привет", "МИР", "日本語のテキスト", "日本語*"):
        hits = search(db, query)["results"]
        assert [h["session_id"] for h in hits] == ["s-rank-b"], query
        assert "<mark>" in hits[0]["snippet"], query
    assert "🎉" in search(db, "привет")["results"][0]["snippet"]
    assert search(db, "🎉 kangaroo")["count"] == 2  # an emoji has no letters: it is ignored, not an error


@pytest.mark.parametrize("query", MALFORMED)
def test_malformed_queries_say_what_to_fix(db: Database, query: str) -> None:
    with pytest.raises(SearchSyntaxError) as info:
        search(db, query)
    assert len(str(info.value)) > 20


@pytest.mark.parametrize("query", ODD_BUT_VALID)
def test_punctuation_and_symbols_are_not_errors(db: Database, query: str) -> None:
    search(db, query)


def test_sessions_search_uses_the_index(db: Database) -> None:
    def ids(text: str) -> list[str]:
        found = sessions.list_sessions(db, PriceTable.bundled(), make_scope(UTC, search=text), Page())
        return [s["id"] for s in found["sessions"]]

    assert ids("kangaroo") == ["s-rank-b", "s-rank-a"]
    assert ids("platypus") == ["s-rank-b"]  # a tool result
    assert ids('"kangaroo AND') == []  # not valid syntax: searched literally, never an error
    assert ids("work/zoo") == ["s-rank-b", "s-rank-a"]  # the path, as before
    assert ids("kanga") == ["s-rank-a"]  # titles still match by substring (this is its first prompt)
    assert ids("platyp") == [] and ids("platyp*") == ["s-rank-b"]  # text matches words or prefixes


def test_broad_queries_come_newest_first(tmp_path: Path) -> None:
    database = open_archive(tmp_path / "a.db")
    try:
        chunk = ParsedChunk(path="test", start_offset=0, end_offset=0)
        for i in range(RANK_WINDOW + 200):
            text = "zebra " * (1 + i % 7) + f"number {i}"
            chunk.messages.append((f"u{i:05d}", None, "s-many", "user", None, "user", 1_700_000_000_000 + i * 1000,
                                   False, False, None, None, None, text, None, 0))
        conn = database.connection()
        with transaction(conn):
            write_chunk(conn, chunk)
            flush_search_queue(conn)
        broad = search(database, "zebra", 10)
        assert broad["order"] == "recent" and broad["count"] == 10
        assert [h["message_id"] for h in broad["results"]] == [f"u{i:05d}" for i in range(RANK_WINDOW + 199,
                                                                                          RANK_WINDOW + 189, -1)]
        assert all(h["rank"] is None and "<mark>zebra</mark>" in h["snippet"] for h in broad["results"])
        narrow = search(database, '"zebra number 7"', 10)  # a few matches: by relevance again
        assert narrow["order"] == "relevance" and narrow["results"][0]["message_id"] == "u00007"
    finally:
        database.close()


def test_index_follows_rereads_and_retention(tmp_path: Path) -> None:
    root = tmp_path / "claude"
    _write_logs(root)
    database = open_archive(tmp_path / "a.db")
    try:
        run_ingest(database, [root], parallel=False)
        database.execute_sql("UPDATE source_file SET committed_offset = 0, size = 0, mtime_ns = 0, head_hash = NULL")
        run_ingest(database, [root], parallel=False)  # every line again: dedup must not index twice
        assert search(database, "kangaroo")["count"] == 2
        assert search_index_problems(database.connection()) == []
        prune_sessions(database, 1, now_ms=1_800_000_000_000)  # everything is older than a day then
        assert search(database, "kangaroo")["count"] == 0
        assert search_index_problems(database.connection()) == []
    finally:
        database.close()


def test_migration_indexes_an_existing_archive(tmp_path: Path) -> None:
    root = tmp_path / "claude"
    _write_logs(root)
    database = open_archive(tmp_path / "a.db")
    run_ingest(database, [root], parallel=False)
    database.close()
    conn = sqlite3.connect(tmp_path / "a.db")  # as schema 2 left it: no search tables
    for table in ("search_message", "search_tool_input", "search_tool_result"):
        for suffix in ("insert", "delete", "update"):
            conn.execute(f"DROP TRIGGER {table}_{suffix}")
        conn.execute(f"DROP TABLE {table}")
        conn.execute(f"DROP TABLE {table}_pending")
        conn.execute(f"DROP VIEW {table}_src")
    conn.execute("UPDATE schema_meta SET value = '2' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    database = open_archive(tmp_path / "a.db")
    try:
        assert schema_version() == SCHEMA_VERSION
        assert search(database, "kangaroo")["count"] == 2 and search(database, "platypus")["count"] == 1
        assert search_index_problems(database.connection()) == []
    finally:
        database.close()


# -- through the real server, over the real samples -----------------------------------------------------------


def _search(http: httpx.Client, q: str, limit: int = 50) -> dict:
    response = http.get("/api/search", params={"q": q, "limit": limit})
    assert response.status_code == 200, response.text
    return response.json()


def test_api_search_on_real_samples(api_client: httpx.Client) -> None:
    result = _search(api_client, "pytest", limit=20)
    hits = result["results"]
    assert len(hits) == 20 and result["count"] == 20
    assert [h["rank"] for h in hits] == sorted(h["rank"] for h in hits)
    assert all("<mark>" in h["snippet"] and "pytest" in h["snippet"].lower() for h in hits)
    assert all(h["session_id"] and h["timestamp"] and h["role"] in ("user", "assistant") for h in hits)
    # every hit points at a real line of its session
    for hit in hits[:5]:
        detail = api_client.get(_path(hit["session_id"])).json()
        assert hit["message_id"] in {m["id"] for m in detail["messages"]}
    phrase = _search(api_client, '"unit tests"')["results"]
    assert phrase and all("<mark>unit tests</mark>" in h["snippet"].lower().replace("</mark> <mark>", " ")
                          for h in phrase)
    japanese = _search(api_client, "プロジェクト構造の修正")["results"]
    assert japanese and "<mark>プロジェクト構造の修正</mark>" in japanese[0]["snippet"]
    assert _search(api_client, "プロジェクト*")["count"] >= len(japanese)
    assert _search(api_client, "zzqxv nothing like this")["results"] == []


@pytest.mark.parametrize("query", MALFORMED)
def test_api_malformed_query_is_400(api_client: httpx.Client, query: str) -> None:
    body = error(api_client.get("/api/search", params={"q": query}), 400, "VALIDATION_ERROR")
    assert body["details"]["parameter"] == "q"
    assert any(word in body["message"] for word in ("quote", "syntax", "empty", "no words", "Nothing"))


def test_api_odd_queries_never_fail(api_client: httpx.Client) -> None:
    for query in [*ODD_BUT_VALID, "\u200b", "a" * 1000, "日本", "💥💥", "NEAR", "AND AND", "((((a))))"]:
        response = api_client.get("/api/search", params={"q": query})
        assert response.status_code in (200, 400), (query, response.text)
    error(api_client.get("/api/search", params={"q": "a", "limit": 0}), 400, "VALIDATION_ERROR")
    error(api_client.get("/api/search", params={"q": "a" * 1001}), 400, "VALIDATION_ERROR")


def test_api_sessions_search_matches_the_index(api_client: httpx.Client) -> None:
    hits = _search(api_client, "tokenizer", limit=500)["results"]
    listed = api_client.get("/api/sessions", params={"search": "tokenizer", "limit": 500}).json()["sessions"]
    assert hits and {h["session_id"] for h in hits} <= {s["id"] for s in listed}


def test_cli_search_matches_the_api(api_server: ApiServer) -> None:
    run = subprocess.run([sys.executable, "-m", "desktop", "search", '"unit tests"', "--json", "--limit", "7"],
                         cwd=REPO, env=api_server.env(), capture_output=True, timeout=120, check=True)
    api = _search(api_server.client(), '"unit tests"', limit=7)
    assert [h["message_id"] for h in orjson.loads(run.stdout)["results"]] == [h["message_id"] for h in api["results"]]
    text = subprocess.run([sys.executable, "-m", "desktop", "search", "unit tests", "--no-ingest"], cwd=REPO,
                          env=api_server.env(), capture_output=True, timeout=120, check=True).stdout.decode()
    assert "unit tests" in text.lower() and "session" in text
    bad = subprocess.run([sys.executable, "-m", "desktop", "search", '"oops', "--no-ingest"], cwd=REPO,
                         env=api_server.env(), capture_output=True, timeout=120)
    assert bad.returncode == 2 and b"closing double quote" in bad.stderr
