"""The HTML report opened in Debian's Chromium (driven by Playwright) with the network off and JavaScript
disabled: every chart renders its bars, nothing is fetched. A screenshot is kept in tests/artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import orjson
import pytest

from tests.browser_tools import chromium_browser

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with chromium_browser() as browser:
        yield browser


def test_report_renders_offline_in_chromium(api_client: httpx.Client, chromium: Browser, tmp_path: Path) -> None:
    response = api_client.get("/api/export", params={"format": "html", "from": "2025-06-01", "to": "2025-06-30"})
    assert response.status_code == 200
    report = tmp_path / "report.html"
    report.write_bytes(response.content)
    data = orjson.loads(re.search(r'id="report-data">(.*?)</script>', response.text, re.S).group(1))
    context = chromium.new_context(offline=True, java_script_enabled=False,
                                              viewport={"width": 1100, "height": 900})
    requested: list[str] = []
    context.route("**/*", lambda route: (requested.append(route.request.url), route.continue_()
                                         if route.request.url.startswith("file://") else route.abort()))
    page = context.new_page()
    try:
        page.goto(report.as_uri(), wait_until="load")
        assert requested == [report.as_uri()]  # the page itself and nothing else
        charts = page.locator("svg.chart")
        assert charts.count() == 4
        for i in range(4):
            box = charts.nth(i).bounding_box()
            assert box and box["width"] > 300 and box["height"] > 20
        bars = page.locator('svg[data-chart="cost-over-time"] rect.bar')
        points = data["periods"]["points"]
        assert bars.count() == len(points) > 0
        heights = [bars.nth(i).bounding_box()["height"] for i in range(bars.count())]
        assert all((h > 0.5) == (p["cost_usd"] > 0) for h, p in zip(heights, points, strict=True))
        top = max(range(len(points)), key=lambda i: points[i]["cost_usd"])
        assert heights[top] == max(heights)  # the tallest bar is the costliest day
        for chart in ("cost-by-model", "cost-by-project", "tool-calls"):
            first = page.locator(f'svg[data-chart="{chart}"] rect.bar').first.bounding_box()
            assert first and first["width"] > 10, chart
        assert page.get_by_text("Claude Code usage report").is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "workbench-report.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        context.close()
