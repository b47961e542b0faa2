"""Every dashboard page through NiceGUI's simulated user over the sample archive: it renders without errors,
honours the global filter (range and project, kept in the URL and the navigation links), and its controls work
(table paging, sorting and search, the session page's views, keyboard shortcuts, the live feed)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from nicegui import app, ui
from nicegui.testing import User

from tests.dashboard_tools import SampleHome, one, settled, text, texts, until, use_home

DEMO = "/path/to/Demo"
SUBAGENT_SESSION = "741790a4-4fe2-4644-9a51-fb4482074060"  # only subagent lines (coderabbit-review-helper)


@pytest.fixture(scope="module", autouse=True)
def home(sample_home: SampleHome) -> Iterator[SampleHome]:
    yield from use_home(sample_home)


PAGES = ["/", "/overview", "/sessions", f"/sessions/{SUBAGENT_SESSION}", "/projects",
         f"/projects?project={quote(DEMO)}", "/models", "/tools", "/errors", "/efficiency", "/activity", "/live",
         "/budgets", "/insights", "/settings"]


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_renders(user: User, path: str) -> None:
    await user.open(path + ("&" if "?" in path else "?") + "range=all")
    await settled(user)
    errors = [e for e in user.client.elements.values() if "dh-error" in e.classes]
    assert not errors, [text for e in errors for text in (getattr(c, "text", "") for c in e.descendants())]
    assert user.find(marker="nav").elements  # the navigation is on every page


def _range_total(user: User) -> str:
    return text(user, "range-total")


async def test_overview_follows_the_range_and_project_filter(user: User) -> None:
    await user.open("/?range=all")
    await settled(user)
    everything = _range_total(user)
    assert everything.startswith("$45.49+") and "in all time" in everything
    assert one(user, "chart-daily-cost").options["series"]
    one(user, "range").set_value("7d")  # the sample transcripts are older than a week
    await until(lambda: "last 7 days" in _range_total(user), what="range change")
    await settled(user)
    assert _range_total(user).startswith("$0.00")
    assert "range=7d" in one(user, "nav").content  # the next page keeps the filter
    await user.should_see("No usage in this range")
    one(user, "range").set_value("all")
    await until(lambda: "in all time" in _range_total(user), what="range back to all time")
    await settled(user)
    assert DEMO in one(user, "project").options  # the project list is loaded
    one(user, "project").set_value(DEMO)
    await until(lambda: _range_total(user) != everything, what="project")
    await settled(user)
    demo = _range_total(user)
    assert demo.startswith("$2.82") and "project=" in one(user, "nav").content


async def test_overview_kpis_and_live_parts(user: User) -> None:
    await user.open("/?range=all")
    await settled(user)
    for name in ("today", "week", "month"):
        assert "vs" in text(user, f"kpi-{name}")  # each period next to the previous one
    await user.should_see("No active block")  # the samples are months old
    await user.should_see("Top projects")
    await user.should_see("New model without a price")  # the sample archive's unread insight


async def test_sessions_table_pages_sorts_and_searches(user: User) -> None:
    await user.open("/sessions?range=all")
    await settled(user)
    table = one(user, "sessions-table")
    assert len(table.rows) == 25 and table.pagination["rowsNumber"] == 74
    assert text(user, "session-count") == "74 sessions"
    first_page = [r["id"] for r in table.rows]
    user.find(marker="sessions-table").trigger("request", {"pagination": {
        "page": 2, "rowsPerPage": 25, "sortBy": "last", "descending": True}})
    await until(lambda: [r["id"] for r in one(user, "sessions-table").rows] != first_page, what="page 2")
    assert not set(first_page) & {r["id"] for r in one(user, "sessions-table").rows}
    user.find(marker="sessions-table").trigger("request", {"pagination": {
        "page": 1, "rowsPerPage": 50, "sortBy": "cost", "descending": True}})
    await until(lambda: len(one(user, "sessions-table").rows) == 50, what="sort by cost")
    costs = [float(r["cost"].strip("$+<").replace(",", "")) for r in one(user, "sessions-table").rows]
    assert costs == sorted(costs, reverse=True)
    user.find(marker="search").trigger("update:modelValue", "spotter-fum")
    await until(lambda: one(user, "sessions-table").pagination["rowsNumber"] < 74, what="search")
    rows = one(user, "sessions-table").rows
    assert rows and all(r["project"] == "spotter-fum" for r in rows)


async def test_session_page_shows_conversation_timeline_agents_and_cost(user: User) -> None:
    await user.open(f"/sessions/{SUBAGENT_SESSION}")
    await settled(user)
    assert text(user, "session-cost").startswith("Cost")
    # every line of this session comes from subagents: they are shown rather than an empty conversation
    assert one(user, "show-sidechain").value is True
    assert user.find(marker="tool-call").elements  # tool calls are collapsed under their messages
    assert one(user, "chart-timeline").options["series"][0]["data"]
    assert one(user, "agent-tree").props["nodes"][0]["children"]  # subagents under the main conversation
    assert one(user, "chart-token-classes").options["series"][0]["data"]


async def test_thinking_is_hidden_until_asked_for(user: User) -> None:
    await user.open("/sessions")  # starts the app: its archive is on app.state
    sid = app.state.archive.db.execute_sql("SELECT session_id FROM message WHERE thinking IS NOT NULL "
                                           "AND is_sidechain = 0 LIMIT 1").fetchone()[0]
    await user.open(f"/sessions/{sid}")
    await settled(user)
    await user.should_not_see("Thinking")
    one(user, "show-thinking").set_value(True)
    await user.should_see("Thinking")


async def test_answers_render_as_markdown_and_prompts_as_typed(user: User) -> None:
    await user.open("/sessions")  # starts the app: its archive is on app.state
    sid, answer = app.state.archive.db.execute_sql(
        "SELECT session_id, text FROM message WHERE type = 'assistant' AND is_sidechain = 0 AND text LIKE '%`%`%' "
        "AND text NOT LIKE '%```%' ORDER BY ts_ms LIMIT 1").fetchone()
    await user.open(f"/sessions/{sid}")
    await settled(user)
    answers = [e for e in user.find(marker="assistant-text").elements if e.content == answer.strip()]
    assert answers, "the answer is on the page as Markdown"
    assert "<code>" in answers[0].props["innerHTML"]  # `code` became HTML
    assert answers[0].props["sanitize"] is True  # and any HTML in it goes through DOMPurify


def test_a_long_answer_cut_inside_a_code_block_closes_it() -> None:
    from ui.conversation import _clip_markdown

    cut = _clip_markdown("Here:\n```python\n" + "x = 1\n" * 2000 + "```\nDone.", 100)
    assert cut.count("```") == 2 and cut.endswith("more characters)")
    assert _clip_markdown("short", 100) == "short"


async def test_unknown_session_says_so(user: User) -> None:
    await user.open("/sessions/not-a-session")
    await settled(user)
    await user.should_see("Session not found")


async def test_project_page_has_a_file_heatmap(user: User) -> None:
    await user.open(f"/projects?range=all&project={quote('/Users/dain/workspace/claude-code-log')}")
    await settled(user)
    assert one(user, "chart-heatmap").options["series"][0]["data"]
    assert one(user, "files-table").rows


async def test_keyboard_shortcuts_navigate_with_the_filter(user: User) -> None:
    await user.open("/?range=all")
    await settled(user)
    keyboard = user.find(ui.keyboard).elements.pop()
    with user.client:
        keyboard._handle_key(type("E", (), {"args": {
            "action": "keydown", "repeat": False, "altKey": False, "ctrlKey": False, "metaKey": False,
            "shiftKey": False, "key": "m", "code": "KeyM", "location": 0}})())
    await until(lambda: user.back_history and user.back_history[-1].startswith("/models"), what="navigation")
    assert "range=all" in user.back_history[-1]


async def test_live_page_shows_bus_events(user: User) -> None:
    await user.open("/live")
    await settled(user)
    await user.should_see("Waiting for events")
    app.state.bus.publish({"type": "request.added", "session_id": "abc12345-0000", "model": "claude-opus-4-6",
                           "total_tokens": 1234, "cost_usd": 0.25})
    app.state.bus.publish({"hook_event_name": "PreToolUse", "session_id": "abc12345-0000", "tool_name": "Bash"})
    await until(lambda: "request.added" in texts(user, "live-rows"), what="event row")
    rows = " ".join(texts(user, "live-rows"))
    assert "claude-opus-4-6 · 1,234 tokens · $0.2500" in rows and "PreToolUse" in rows
    one(user, "family-request").set_value(False)
    app.state.bus.publish({"type": "request.added", "session_id": "s2", "model": "hidden-model", "total_tokens": 1})
    app.state.bus.publish({"type": "tool.failed", "session_id": "s2", "tool": "Edit", "error": "boom"})
    await until(lambda: "tool.failed" in texts(user, "live-rows"), what="filtered row")
    assert "hidden-model" not in " ".join(texts(user, "live-rows"))


async def test_pages_reload_when_new_data_arrives(user: User) -> None:
    await user.open("/?range=all")
    await settled(user)
    sys.modules["ui.layout"].MIN_REFRESH_S = 0.0  # the page modules are fresh for each test: nothing to restore
    primary = next(e for e in user.client.elements.values() if "dh-primary" in e.classes)
    before = primary.props["data-generation"]
    app.state.bus.publish({"type": "request.added", "session_id": "x", "model": "claude-opus-4-6"})
    await until(lambda: primary.props["data-generation"] != before, timeout=10, what="live reload")
    await settled(user)


async def test_search_lists_matching_lines_in_the_range(user: User) -> None:
    await user.open("/sessions?range=all&q=pydantic&size=100")
    await settled(user)
    hits = one(user, "search-hits")
    snippets = [e.content for e in hits.descendants() if isinstance(e, ui.html)]
    assert snippets and all("<mark>" in s.lower() for s in snippets)  # the matched words are highlighted
    assert user.find(marker="search-hit-link").elements
    table_ids = {r["id"] for r in one(user, "sessions-table").rows}
    linked = {e.props["href"].split("/sessions/")[1].split("?")[0]
              for e in user.find(marker="search-hit-link").elements}
    assert linked <= {quote(i, safe="") for i in table_ids}  # each hit's session is in the table
    one(user, "range").set_value("7d")  # the samples are older than a week: no line in range
    await until(lambda: "No line in this range matches" in text(user, "search-hits"), what="hits follow the range")


async def test_efficiency_shows_the_cache_expiry_waste_of_the_data_in_range(user: User) -> None:
    await user.open("/efficiency?range=all")  # the samples end months ago: the window ends with their last day
    await settled(user)
    assert text(user, "waste-total").startswith("$") and text(user, "waste-total") != "$0.00"
    assert one(user, "chart-waste").options["series"][0]["data"]
    await user.open("/efficiency?range=7d")
    await settled(user)
    await user.should_see("No expired caches")
