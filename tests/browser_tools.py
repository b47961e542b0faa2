"""Debian's Chromium driven by Playwright (``executable_path``; Playwright's own browser download is never used),
shared by the browser tests. Under ``bash scripts/test`` (DEVHELION_REQUIRE_DESKTOP_TESTS=1) a missing Chromium or
Playwright fails the test instead of skipping it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update"]
# every section of a dashboard page has its answer (none reloading) and the header's project list is loaded
ALL_READY = ("() => { const s = document.querySelectorAll('.dh-section');"
             " return s.length > 0 && [...s].every(e => e.classList.contains('dh-ready')"
             " && !e.classList.contains('dh-loading'))"
             " && [...document.querySelectorAll('.dh-side')].every(e => e.classList.contains('dh-ready')); }")


def _missing(what: str) -> None:
    if os.environ.get("DEVHELION_REQUIRE_DESKTOP_TESTS") == "1":
        pytest.fail(f"{what} is missing: scripts/test installs it")
    pytest.skip(f"{what} is not installed (bash scripts/test installs it)")


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """A launched headless Chromium (Playwright's sync API: keep one per module, it runs a loop of its own)."""
    if not CHROMIUM.exists():
        _missing("Debian's chromium (apt package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright (the test extra)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()
