"""The dashboard in a real browser: Debian's Chromium driven by Playwright (``executable_path``, never a
downloaded browser) against ``devhelion serve`` over the real sample transcripts, signed in through the
dashboard's login form with the API key.

Every page loads without a console error and its charts render; changing the date range or the project changes
the figures and the URL; a session page opens from the sessions table; keyboard shortcuts navigate. Screenshots
of every page (light and dark) go to ``tests/artifacts/dashboard/``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.api_server import ApiServer, sample_server, stop_server
from tests.browser_tools import ALL_READY, chromium_browser

ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "dashboard"
DEMO = "/path/to/Demo"
SESSION = "741790a4-4fe2-4644-9a51-fb4482074060"
PAGES = {  # screenshot name -> path (all with every sample day in range)
    "overview": "/?range=all", "sessions": "/sessions?range=all", "sessions-search": "/sessions?range=all&q=pydantic",
    "session": f"/sessions/{SESSION}?range=all",
    "projects": "/projects?range=all",
    "project": f"/projects?range=all&project={quote('/Users/dain/workspace/claude-code-log')}",
    "models": "/models?range=all", "tools": "/tools?range=all", "errors": "/errors?range=all",
    "efficiency": "/efficiency?range=all", "activity": "/activity?range=all", "live": "/live", "budgets": "/budgets",
    "insights": "/insights?show=all", "settings": "/settings",
}
CHART_SERIES = ("(id) => { const el = document.getElementById(id);"
                " const chart = el && getElement(el.id.slice(1)).chart;"
                " return chart ? chart.getOption().series.map(s => (s.data || []).length) : null; }")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    started = sample_server(tmp_path_factory.mktemp("browser"))
    yield started
    stop_server(started)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium_browser() as launched:
        yield launched


class Tab:
    """A signed-in page that records console errors."""

    def __init__(self, page: Any, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def open(self, path: str) -> None:
        try:
            self.page.goto(self.base_url + path)
        except Exception as exc:  # a navigation the page itself started (a filter rebuilding it) aborted ours
            if "ERR_ABORTED" not in str(exc):
                raise
            self.page.goto(self.base_url + path)
        self.settle()

    def settle(self) -> None:
        self.page.wait_for_function(ALL_READY, timeout=30_000)

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def text(self, testid: str) -> str:
        return self.page.get_by_test_id(testid).first.inner_text()


@pytest.fixture(scope="module")
def tab(browser: Any, server: ApiServer) -> Iterator[Tab]:
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(server.base_url + "/models")
    assert "Enter the API key" in page.content()  # the dashboard is closed without the session cookie
    page.fill("#key", server.key)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/models$"))
    current = Tab(page, server.base_url)
    current.settle()
    yield current
    context.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_page_loads_without_console_errors(tab: Tab, name: str) -> None:
    tab.errors.clear()
    tab.open(PAGES[name])
    assert not tab.page.query_selector(".dh-error"), tab.page.inner_text(".dh-error")
    for chart in tab.page.query_selector_all(".nicegui-echart"):
        if chart.is_visible():
            series = tab.page.evaluate(CHART_SERIES, chart.get_attribute("id"))
            assert series, f"chart {chart.get_attribute('data-testid')} has no series"
            assert chart.query_selector("canvas"), "charts render to a canvas"
    tab.shot(name)
    assert not tab.errors, tab.errors


def test_dark_theme_screenshots(tab: Tab) -> None:
    tab.open("/?range=all")
    tab.page.keyboard.press("d")  # the theme shortcut: saved, and the page reloads dark
    tab.page.wait_for_function("() => document.body.classList.contains('body--dark')", timeout=15_000)
    tab.settle()
    tab.shot("overview-dark")
    tab.open(f"/sessions/{SESSION}")
    tab.shot("session-dark")
    tab.open("/models?range=all")
    tab.shot("models-dark")
    tab.page.keyboard.press("d")
    tab.page.wait_for_function("() => !document.body.classList.contains('body--dark')", timeout=15_000)
    assert not tab.errors, tab.errors


def test_filters_change_the_numbers_and_the_url(tab: Tab) -> None:
    tab.open("/?range=all")
    everything = tab.text("range-total")
    assert everything.startswith("$45.49+")
    chart = tab.page.get_by_test_id("chart-daily-cost")
    all_bars = tab.page.evaluate(CHART_SERIES, chart.get_attribute("id"))
    tab.page.get_by_test_id("range").click()
    tab.page.get_by_role("option", name="Last 12 months").click()
    tab.page.wait_for_function("(t) => !document.querySelector('[data-testid=range-total]').innerText.startsWith(t)",
                               arg=everything[:7], timeout=15_000)
    tab.settle()
    assert "range=12m" in tab.page.url
    assert tab.text("range-total") != everything
    tab.page.get_by_test_id("project").click()
    tab.page.get_by_role("option", name="Demo", exact=True).click()
    tab.page.wait_for_url(re.compile("project="), timeout=15_000)
    tab.settle()
    assert "project=%2Fpath%2Fto%2FDemo" in tab.page.url
    tab.open("/?range=all&project=" + quote(DEMO))
    assert tab.text("range-total").startswith("$2.82")
    assert tab.page.evaluate(CHART_SERIES, chart.get_attribute("id")) != all_bars
    # the navigation keeps the filter: the models page opens with the same project and range
    tab.page.click("nav a[href^='/models']")
    tab.page.wait_for_url(re.compile(r"/models\?range=all&project="))
    tab.settle()
    assert not tab.errors, tab.errors


def test_session_page_opens_from_the_table(tab: Tab) -> None:
    tab.open("/sessions?range=all")
    link = tab.page.locator("[data-testid=sessions-table] a.dh-link").first
    title = link.inner_text().strip()  # the newest session: a subagent file whose id holds a '#'
    link.click()
    tab.page.wait_for_url(re.compile(r"/sessions/[^/?]+%23agent-"))  # the id is encoded, not a URL fragment
    tab.settle()
    assert tab.text("session-title").strip().startswith(title.rstrip("…")[:8])
    assert "agent-" in tab.text("session-title")
    tab.page.get_by_role("tab", name="Timeline").click()
    tab.page.get_by_test_id("chart-timeline").wait_for()
    tab.page.get_by_role("tab", name="Cost").click()
    tab.page.get_by_test_id("chart-token-classes").wait_for()
    assert not tab.errors, tab.errors


def test_keyboard_navigation(tab: Tab) -> None:
    tab.open("/?range=all")
    tab.page.keyboard.press("t")
    tab.page.wait_for_url(re.compile(r"/tools\?range=all"))
    tab.settle()
    tab.page.keyboard.press("/")  # search: on the sessions page, its field gets the focus
    tab.page.wait_for_url(re.compile(r"/sessions\?"))
    tab.settle()
    tab.page.keyboard.type("spotter")
    tab.page.wait_for_function("() => document.querySelector('[data-testid=session-count]').innerText !== "
                               "'74 sessions'", timeout=15_000)
    tab.page.keyboard.press("Escape")
    tab.page.locator("body").focus()
    assert not tab.errors, tab.errors
