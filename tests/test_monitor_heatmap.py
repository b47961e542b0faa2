"""File heatmap over a small hand-written project: read/write/edit counts per file and per directory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from peewee import Database

from store.monitor.heatmap import file_heatmap, parent_dir, relative
from store.monitor.params import NotFound, ParamError, make_scope
from store.timezones import resolve_timezone
from tests.monitor_tree import Transcript, ingest, sample_archive

UTC = resolve_timezone("UTC")


@pytest.fixture(scope="module")
def samples_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    yield from sample_archive(tmp_path_factory)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    root = tmp_path_factory.mktemp("monitor-heatmap") / "claude"
    t = Transcript("h1", "/work/app", "2026-05-01T10:00:00Z")
    t.prompt("work on a.py")
    a, b = "/work/app/src/a.py", "/work/app/src/b.py"
    calls = t.reply(tools=[
        ("Read", {"file_path": a}), ("Read", {"file_path": a}), ("Read", {"file_path": a}),
        ("Edit", {"file_path": a, "old_string": "x", "new_string": "y"}), ("Edit", {"file_path": a}),
        ("MultiEdit", {"file_path": a, "edits": []}), ("Write", {"file_path": b, "content": ""}),
        ("Read", {"file_path": "/work/app/README.md"}), ("NotebookEdit", {"notebook_path": "/work/app/nb/x.ipynb"}),
        ("Grep", {"pattern": "x", "path": "/work/app/src"}), ("Glob", {"pattern": "*", "path": "/work/app"}),
        ("Read", {"file_path": "/etc/hosts"}),
    ])
    for i, tid in enumerate(calls):
        t.result(tid, "EISDIR: illegal operation" if i == 0 else "ok", error=i == 0)
    t.write(root, "app/h1.jsonl")
    many = Transcript("h2", "/work/app", "2026-05-02T10:00:00Z")
    many.prompt("read everything")
    many.reply(tools=[("Read", {"file_path": f"/work/app/many/f{i:02d}.py"}) for i in range(55)])
    many.write(root, "app/h2.jsonl")
    other = Transcript("h3", "/work/other", "2026-05-01T10:00:00Z")
    other.prompt("elsewhere")
    other.reply(tools=[("Read", {"file_path": a})])
    other.write(root, "other/h3.jsonl")
    database = ingest(root, root.parent / "a.db")
    yield database
    database.close()


def test_file_and_directory_counts(db: Database) -> None:
    result = file_heatmap(db, make_scope(UTC, project="/work/app", date_to="2026-05-01"))
    assert result["project_paths"] == ["/work/app"]
    files = {f["path"]: f for f in result["files"]}
    a = files["/work/app/src/a.py"]
    assert (a["reads"], a["writes"], a["edits"], a["total"], a["errors"]) == (3, 0, 3, 6, 1)
    assert a["relative_path"] == "src/a.py" and result["files"][0]["path"] == a["path"]
    # ties in total go by path; Grep and Glob search a folder and are not file accesses
    assert [f["path"] for f in result["files"][1:]] == [
        "/etc/hosts", "/work/app/README.md", "/work/app/nb/x.ipynb", "/work/app/src/b.py"]
    assert (files["/work/app/src/b.py"]["writes"], files["/work/app/nb/x.ipynb"]["edits"]) == (1, 1)
    assert files["/etc/hosts"]["relative_path"] == "/etc/hosts"  # outside the project: left absolute
    dirs = {d["path"]: d for d in result["directories"]}
    src = dirs["/work/app/src"]
    assert (src["reads"], src["writes"], src["edits"], src["total"], src["files"]) == (3, 1, 3, 7, 2)
    assert src["relative_path"] == "src" and dirs["/work/app"]["relative_path"] == "."
    assert result["directories"][0]["path"] == "/work/app/src"
    assert set(dirs) == {"/work/app/src", "/work/app", "/work/app/nb", "/etc"}


def test_top_50_files_and_top_20_directories(db: Database) -> None:
    result = file_heatmap(db, make_scope(UTC, project="app"))
    assert result["total_files"] == 5 + 55 and len(result["files"]) == 50
    assert result["files"][0]["path"] == "/work/app/src/a.py"
    assert result["total_directories"] == 5 and len(result["directories"]) == 5
    assert result["directories"][0] == result["directories"][0] | {"path": "/work/app/many", "reads": 55, "files": 55}


def test_project_is_required_and_must_exist(db: Database) -> None:
    with pytest.raises(ParamError) as missing:
        file_heatmap(db, make_scope(UTC))
    assert missing.value.parameter == "project"
    with pytest.raises(NotFound):
        file_heatmap(db, make_scope(UTC, project="/work/nowhere"))


def test_path_helpers() -> None:
    assert parent_dir("/a/b/c.py") == "/a/b" and parent_dir("/c.py") == "/" and parent_dir("c.py") == "."
    assert parent_dir("C:\\src\\app\\x.py") == "C:\\src\\app"
    assert relative("/work/app2/x.py", ["/work/app"]) == "/work/app2/x.py"  # a sibling, not a child
    assert relative("/work/app/sub/x.py", ["/work/app", "/work/app/sub"]) == "x.py"  # the deepest root


def test_sample_project_heatmap(samples_db: Database) -> None:
    result = file_heatmap(samples_db, make_scope(UTC, project="claude-code-log"))
    counted = samples_db.execute_sql(
        "SELECT count(*) FROM tool_call t JOIN session s ON s.session_id = t.session_id "
        "JOIN project p ON p.id = s.project_id WHERE p.path = '/Users/dain/workspace/claude-code-log' "
        "AND t.name IN ('Read', 'Write', 'Edit', 'MultiEdit', 'NotebookEdit', 'NotebookRead') "
        "AND t.file_path IS NOT NULL").fetchone()[0]
    assert sum(f["total"] for f in result["files"]) == counted > 20
    assert sum(d["total"] for d in result["directories"]) == counted
