"""Dashboard pages that change data, on a copy of the sample archive: budgets (create, edit, delete), insights
(mark read), session notes and tags, API keys, the theme and other settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from nicegui import app
from nicegui.testing import User

from store.config import load_settings
from store.notes import update_annotations
from tests.dashboard_tools import SampleHome, one, present, settled, text, until, use_home


@pytest.fixture(scope="module", autouse=True)
def home(sample_home: SampleHome, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleHome]:
    yield from use_home(sample_home.copy(tmp_path_factory.mktemp("changes")))


async def test_budgets_create_edit_and_delete(user: User) -> None:
    await user.open("/budgets")
    await settled(user)
    await user.should_see("No budgets yet")
    user.find(marker="budget-new").click()
    await until(lambda: present(user, "budget-name"), what="budget dialog")
    user.find(marker="budget-name").type("Monthly cap")
    user.find(marker="budget-amount").type("50")
    user.find(marker="budget-save").click()
    await until(lambda: present(user, "budget-card"), what="budget card")
    await settled(user)
    assert text(user, "budget-spend") == "$0.00 of $50.00"  # the samples are older than this month
    user.find(marker="budget-edit").click()
    await until(lambda: present(user, "budget-amount"), what="edit dialog")
    amount = one(user, "budget-amount")
    amount.set_value(None)
    user.find(marker="budget-amount").type("0")  # invalid: the dialog names the field and stays open
    user.find(marker="budget-save").click()
    await user.should_see("amount: amount must be a positive amount")
    amount.set_value(75)
    user.find(marker="budget-save").click()
    await until(lambda: text(user, "budget-spend") == "$0.00 of $75.00", what="edited budget")
    await until(lambda: not present(user, "budget-amount"), what="dialog closed")
    user.find(marker="budget-delete").click()
    await until(lambda: present(user, "budget-confirm"), what="confirmation")
    user.find(marker="budget-confirm").click()
    await until(lambda: not present(user, "budget-card"), what="deleted budget")
    await user.should_see("No budgets yet")


async def test_insights_can_be_marked_read(user: User) -> None:
    await user.open("/insights")
    await settled(user)
    assert user.find(marker="insight").elements
    await until(lambda: 'data-unread="1"' in one(user, "nav").content, what="unread badge")
    user.find(marker="mark-all-read").click()
    await until(lambda: not present(user, "insight"), what="read insights hidden")
    await user.should_see("No unread insights")
    await until(lambda: "data-unread" not in one(user, "nav").content, what="badge cleared")
    one(user, "insights-filter").set_value("all")
    await until(lambda: present(user, "insight"), what="all insights")


async def test_notes_and_tags_are_saved(user: User) -> None:
    from store.notes import annotations

    sid = "741790a4-4fe2-4644-9a51-fb4482074060"
    await user.open(f"/sessions/{sid}")
    await settled(user)
    one(user, "notes").set_value("Reviewed the PR helper here.")
    one(user, "tags").set_value(["Review", "bot"])
    user.find(marker="save-notes").click()
    await user.should_see("Notes saved")
    saved = annotations(app.state.archive.db, sid)
    assert saved["notes"] == "Reviewed the PR helper here." and saved["tags"] == ["bot", "review"]


async def test_keys_are_created_once_and_revoked(user: User) -> None:
    await user.open("/settings")
    await settled(user)
    user.find(marker="key-name").type("script")
    user.find(marker="key-create").click()
    await until(lambda: present(user, "new-key"), what="new key dialog")
    secret = text(user, "new-key")
    assert secret.startswith("sk_live_")
    assert app.state.keys.verify(secret).ok
    created = next(k for k in app.state.keys.list() if k.name == "script")
    assert secret not in str(created.as_json())  # only the prefix is kept


async def test_theme_and_time_zone_are_saved(user: User) -> None:
    await user.open("/settings")
    await settled(user)
    one(user, "theme").set_value("dark")
    await until(lambda: (load_settings().extra.get("dashboard") or {}).get("theme") == "dark", what="theme saved")
    from store.config import config_path
    from ui.theme import theme

    assert theme() == "dark" and '"theme": "dark"' in Path(config_path()).read_text()
    await user.open("/")
    dark = next(e for e in user.client.elements.values() if type(e).__name__ == "DarkMode")
    assert dark.value is True  # pages are built dark from the first paint


async def test_sessions_filter_by_tag(user: User) -> None:
    await user.open("/sessions?range=all")  # starts the app: its archive is on app.state
    await settled(user)
    tagged = [r["id"] for r in one(user, "sessions-table").rows[3:5]]
    for sid in tagged:
        update_annotations(app.state.archive.db, sid, tags=["Needs Review"])
    await user.open("/sessions?range=all&tag=needs+review")
    await settled(user)
    rows = one(user, "sessions-table").rows
    assert sorted(r["id"] for r in rows) == sorted(tagged) and all(r["tags"] == ["needs review"] for r in rows)
    assert text(user, "session-count") == "2 sessions"
    await until(lambda: "needs review (2)" in one(user, "tag").options.values(), what="tag list")
    one(user, "tag").set_value("")
    await until(lambda: one(user, "sessions-table").pagination["rowsNumber"] > 2, what="tag cleared")
