"""Overview page: figures, charts and the global filter, through NiceGUI's simulated user."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from nicegui import ui
from nicegui.testing import User

from tests.dashboard_tools import SampleHome, settled, use_home


@pytest.fixture(scope="module", autouse=True)
def home(sample_home: SampleHome) -> Iterator[SampleHome]:
    yield from use_home(sample_home)


async def test_overview_all_time(user: User) -> None:
    await user.open("/?range=all")
    await settled(user)
    await user.should_see("Cost per week by model")
    chart = user.find(marker="chart-daily-cost").elements.pop()
    assert isinstance(chart, ui.echart)
    assert chart.options["series"]
