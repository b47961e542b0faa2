"""The insights engine: one insight per rule, subject and period however often it runs; deterministic ids;
the service publishes new ones as ``insight.created`` and skips runs when nothing changed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store.archive import Archive
from store.config import Settings
from store.insights.engine import RULES, evaluate, run_insights
from store.insights.records import insight_id, list_insights, mark_read
from store.insights.service import InsightsService
from tests.insight_archive import DAY, NOW, Crafted


@pytest.fixture
def arc(tmp_path: Path) -> Iterator[Crafted]:
    crafted = Crafted(tmp_path)
    yield crafted
    crafted.close()


def _unpriced(arc: Crafted, ts: int = NOW - DAY) -> None:
    arc.request(arc.session(), ts, model="claude-nova-1-preview")


def _compacted(arc: Crafted) -> str:
    sid = arc.session()
    for i in range(3):
        arc.compaction(sid, NOW - DAY + i * 60_000)
    return sid


def test_each_rule_module_names_itself() -> None:
    names = [rule.RULE for rule in RULES]
    assert len(names) == len(set(names)) == 9


def test_runs_never_duplicate_an_insight(arc: Crafted) -> None:
    _unpriced(arc)
    _compacted(arc)
    created = run_insights(arc.context())
    assert sorted(i["title"] for i in created) == ["Frequent compactions", "New model without a price: "
                                                                           "claude-nova-1-preview"]
    assert run_insights(arc.context()) == []  # same subjects and periods: nothing new
    _unpriced(arc, NOW - 2 * DAY)  # more of the same model: still the one insight
    assert run_insights(arc.context(NOW + 3_600_000)) == []
    listed = list_insights(arc.conn, unread_only=False)
    assert listed["hasTable"] is True and listed["unreadCount"] == 2 and len(listed["insights"]) == 2


def test_a_new_period_gives_a_new_insight(arc: Crafted) -> None:
    sid = _compacted(arc)
    [first] = run_insights(arc.context())
    for i in range(3):  # the next week, the same session compacts again
        arc.compaction(sid, NOW + 6 * DAY + i * 60_000)
    [second] = run_insights(arc.context(NOW + 7 * DAY))
    assert first["id"] != second["id"] and first["title"] == second["title"]


def test_ids_are_deterministic_and_api_shaped(arc: Crafted, tmp_path: Path) -> None:
    _unpriced(arc)
    [created] = run_insights(arc.context())
    assert created["id"] == insight_id("unpriced_model", "model:claude-nova-1-preview", "all")
    assert set(created) == {"id", "title", "description", "value", "type", "category", "is_read", "created_at"}
    assert created["is_read"] is False and created["created_at"] == "2026-03-16T12:00:00.000Z"
    other = Crafted(tmp_path / "other")
    try:
        _unpriced(other)
        assert [f.rule for f in evaluate(other.context())] == ["unpriced_model"]
        assert run_insights(other.context())[0]["id"] == created["id"]
    finally:
        other.close()


def test_mark_read(arc: Crafted) -> None:
    _unpriced(arc)
    [created] = run_insights(arc.context())
    assert mark_read(arc.conn, created["id"], NOW) and mark_read(arc.conn, created["id"], NOW + 1)
    assert not mark_read(arc.conn, "ins_0000000000000000", NOW)
    assert list_insights(arc.conn, unread_only=True) == {"insights": [], "hasTable": True, "unreadCount": 0}
    [read] = list_insights(arc.conn, unread_only=False)["insights"]
    assert read["is_read"] is True


def test_service_publishes_and_skips_unchanged_archives(arc: Crafted, tmp_path: Path) -> None:
    archive = Archive(arc.db, tmp_path / "crafted.db", Settings(), arc.prices)
    published: list[dict[str, Any]] = []
    service = InsightsService(archive, published.append)
    _unpriced(arc)
    created = service.run_once(NOW)
    assert [e["type"] for e in published] == ["insight.created"] and published[0]["insight"] == created[0]
    assert service.runs == 1
    assert service.run_once(NOW + 60_000) == [] and service.runs == 1  # nothing changed: the rules did not run
    _compacted(arc)
    assert [i["title"] for i in service.run_once(NOW + 120_000)] == ["Frequent compactions"]
    assert service.runs == 2 and len(published) == 2
    assert service.run_once(NOW + DAY) == [] and service.runs == 3  # a new day: the rules run again
