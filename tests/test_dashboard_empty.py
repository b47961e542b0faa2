"""A first start: an archive with nothing in it yet. Every page renders and says what to do instead of showing
blank charts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from nicegui.testing import User

from tests.dashboard_tools import SampleHome, settled, use_home, write_config

PAGES = {"/": "No usage in this range", "/sessions": "No sessions", "/projects": "No projects in this range",
         "/models": "No model usage", "/tools": "No tool calls", "/errors": "No errors",
         "/efficiency": "No requests in this range", "/activity": "No activity in this range",
         "/live": "Waiting for events", "/budgets": "No budgets yet", "/insights": "No unread insights"}


@pytest.fixture(scope="module", autouse=True)
def empty_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleHome]:
    root = tmp_path_factory.mktemp("empty")
    (root / "claude").mkdir()
    write_config(root / "home")
    yield from use_home(SampleHome(root / "home", root / "claude"))


@pytest.mark.parametrize("path", list(PAGES))
async def test_empty_archive_pages_say_what_to_do(user: User, path: str) -> None:
    await user.open(path)
    await settled(user)
    await user.should_see(PAGES[path])
    errors = [e for e in user.client.elements.values() if "dh-error" in e.classes]
    assert not errors
