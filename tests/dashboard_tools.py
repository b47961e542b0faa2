"""Shared set-up of the dashboard tests: one archive of the real sample transcripts per test session, and a
fresh copy of it for a test module that changes data (budgets, settings).

The archive is built by the real ingest (``devhelion ingest``) in a temp ``DEVHELION_HOME``; the ``user``
fixture's main file (``tests/dashboard_main.py``) opens whatever ``DEVHELION_HOME`` points at.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.api_server import REPO, TIMEZONE, build_sample_logs, server_env, write_config

__all__ = ["write_config"]


@dataclass(frozen=True)
class SampleHome:
    home: Path
    claude: Path

    def copy(self, dest: Path) -> SampleHome:
        shutil.copytree(self.home, dest / "home")
        return SampleHome(dest / "home", self.claude)


def build_sample_home(tmp: Path) -> SampleHome:
    claude = build_sample_logs(tmp / "claude")
    home = tmp / "home"
    write_config(home)
    subprocess.run([sys.executable, "-m", "desktop", "ingest"], cwd=REPO, env=server_env(home, claude), check=True,
                   capture_output=True, timeout=300)
    return SampleHome(home, claude)


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> SampleHome:
    return build_sample_home(tmp_path_factory.mktemp("dashboard"))


def use_home(sample: SampleHome) -> Iterator[SampleHome]:
    """Point the process (and so the ``user`` fixture's main file) at ``sample`` while a module runs."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DEVHELION_HOME", str(sample.home))
        mp.setenv("CLAUDE_CONFIG_DIR", str(sample.claude))
        yield sample


def tz_name() -> str:
    return TIMEZONE


def environ_home() -> Path:
    return Path(os.environ["DEVHELION_HOME"])


async def settled(user: Any, timeout: float = 20.0) -> None:
    """Wait until every section of the open page has loaded (or shows its error) and none is reloading, and the
    header's project list has loaded."""
    deadline = time.monotonic() + timeout
    while True:
        elements = list(user.client.elements.values())
        sections = [e for e in elements if "dh-section" in e.classes]
        side = [e for e in elements if "dh-side" in e.classes]
        if sections and all("dh-ready" in e.classes and "dh-loading" not in e.classes for e in sections) \
                and all("dh-ready" in e.classes for e in side):
            return
        if time.monotonic() > deadline:
            pending = [e.props.get("data-section") for e in sections if "dh-ready" not in e.classes]
            raise TimeoutError(f"sections still loading after {timeout} s: {pending}")
        await asyncio.sleep(0.05)


def texts(user: Any, marker: str) -> list[str]:
    """The texts of the elements with ``marker`` and of everything inside them."""
    found = []
    for element in user.find(marker=marker).elements:
        for child in element.descendants(include_self=True):
            text = getattr(child, "text", None)
            if isinstance(text, str) and text:
                found.append(text)
    return found


def text(user: Any, marker: str) -> str:
    return " ".join(texts(user, marker))


async def until(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``predicate`` on the event loop until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached in {timeout} s")
        await asyncio.sleep(0.05)


def one(user: Any, marker: str) -> Any:
    """The single element with ``marker`` on the open page."""
    found = user.find(marker=marker).elements
    assert len(found) == 1, f"{len(found)} elements marked {marker!r}"
    return next(iter(found))


def api_key() -> str:
    return (environ_home() / "api-key").read_text().strip()


def present(user: Any, marker: str) -> bool:
    """Whether the open page has an element with ``marker`` (``user.find`` raises when there is none)."""
    try:
        return bool(user.find(marker=marker).elements)
    except AssertionError:
        return False
