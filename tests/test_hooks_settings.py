"""`devhelion hooks install|uninstall|status` on real copies of settings files, through the real CLI."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from desktop import claude_settings as cs
from tests.relay_tools import env_for, run_desktop

# A settings file as people have them: their own hooks (one in a group of its own, one next to a matcher),
# permissions, env, a statusline, 4-space indentation.
USER_SETTINGS: dict[str, Any] = {
    "model": "opus",
    "permissions": {"allow": ["Bash(git status:*)"], "deny": ["Read(./.env)"]},
    "env": {"BASH_DEFAULT_TIMEOUT_MS": "60000"},
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "~/.claude/guard.sh"}]}],
        "Stop": [{"hooks": [{"type": "command", "command": "notify-send done", "timeout": 5}]}],
        "Notification": [{"matcher": "", "hooks": [{"type": "http", "url": "http://localhost:9000/notify"}]}],
    },
    "statusLine": {"type": "command", "command": "~/.claude/statusline.sh", "padding": 0},
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def env(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The CLI's environment; this process gets the same, so nothing here reaches the real folders."""
    env = env_for(home, tmp_path / "claude")
    monkeypatch.setenv("DEVHELION_HOME", env["DEVHELION_HOME"])
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", env["CLAUDE_CONFIG_DIR"])
    return env


def write(path: Path, data: Any, indent: int = 4) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = (json.dumps(data, indent=indent) + "\n").encode()
    path.write_bytes(raw)
    return raw


def devhelion(env: dict[str, str], *args: str) -> tuple[int, str]:
    run = run_desktop(list(args), env)
    return run.returncode, run.stdout + run.stderr


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.devhelion-backup-*"))


def key_of(home: Path) -> str:
    return (home / "api-key").read_text().strip()


def without_ours(data: dict[str, Any]) -> dict[str, Any]:
    return cs.uninstall_hooks(data)[0]


def test_install_into_a_missing_file_creates_it_private(env: dict[str, str], home: Path, tmp_path: Path) -> None:
    settings = tmp_path / "claude" / "settings.json"  # CLAUDE_CONFIG_DIR's file, found without --settings
    code, out = devhelion(env, "hooks", "install")
    assert code == 0, out
    data = json.loads(settings.read_text())
    ours = cs.our_hooks(data)
    assert sorted(ours) == sorted(cs.HTTP_EVENTS)
    for event, handlers in ours.items():
        (handler,) = handlers
        if event == "SessionStart":  # Claude Code runs only command hooks there
            assert handler["type"] == "command" and handler["async"] is True
            assert handler["command"] == cs.relay_command("hook")
            assert f" -I -m desktop hook --home {home} " in handler["command"]
        else:
            assert handler == {"type": "http", "url": "http://127.0.0.1:8787/api/hooks?source=devhelion",
                               "timeout": cs.HTTP_TIMEOUT_S, "headers": {"Authorization": f"Bearer {key_of(home)}"}}
    assert stat.S_IMODE(settings.stat().st_mode) == 0o600  # it holds the API key
    assert backups(settings) == []  # nothing was there to keep
    assert "restart running sessions" in out


def test_install_next_to_user_hooks_is_idempotent_and_uninstall_restores(env: dict[str, str],
                                                                         tmp_path: Path) -> None:
    settings = tmp_path / "claude" / "settings.json"
    original = write(settings, USER_SETTINGS)
    os.chmod(settings, 0o644)

    code, out = devhelion(env, "hooks", "install", "--port", "9123")
    assert code == 0, out
    installed = settings.read_bytes()
    data = json.loads(installed)
    assert without_ours(data) == USER_SETTINGS  # every user setting and hook is still there, unchanged
    assert data["hooks"]["PreToolUse"][0] == USER_SETTINGS["hooks"]["PreToolUse"][0]  # theirs stay first
    assert cs.our_hooks(data)["PreToolUse"][0]["url"] == "http://127.0.0.1:9123/api/hooks?source=devhelion"
    assert installed.startswith(b'{\n    "model"')  # the file's own 4-space indentation is kept
    (backup,) = backups(settings)
    assert backup.read_bytes() == original

    code, out = devhelion(env, "hooks", "install", "--port", "9123")
    assert code == 0 and "nothing changed" in out
    assert settings.read_bytes() == installed and len(backups(settings)) == 1

    code, out = devhelion(env, "hooks", "uninstall")
    assert code == 0 and f"Removed {len(cs.HTTP_EVENTS)} Devhelion hooks" in out
    assert json.loads(settings.read_text()) == USER_SETTINGS
    assert len(backups(settings)) == 2
    code, out = devhelion(env, "hooks", "uninstall")
    assert code == 0 and "nothing changed" in out and len(backups(settings)) == 2


def test_reinstall_moves_ours_and_keeps_exactly_one_per_event(env: dict[str, str], tmp_path: Path) -> None:
    settings = tmp_path / "claude" / "settings.json"
    write(settings, {})
    assert devhelion(env, "hooks", "install", "--port", "9001")[0] == 0
    assert devhelion(env, "hooks", "install", "--port", "9002")[0] == 0
    ours = cs.our_hooks(json.loads(settings.read_text()))
    assert all(len(h) == 1 for h in ours.values())
    assert ours["Stop"][0]["url"].startswith("http://127.0.0.1:9002/")
    assert devhelion(env, "hooks", "uninstall")[0] == 0
    assert json.loads(settings.read_text()) == {}  # the empty object we found


def test_uninstall_removes_only_ours(env: dict[str, str], tmp_path: Path) -> None:
    """Look-alikes stay: another local /api/hooks service, a relay-like command without our mark, and the user's
    own handler that shares a matcher group with ours."""
    settings = tmp_path / "claude" / "settings.json"
    write(settings, {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "python -m desktop hook"}]}]}})
    assert devhelion(env, "hooks", "install")[0] == 0
    data = json.loads(settings.read_text())
    stop_group = data["hooks"]["Stop"][1]
    stop_group["hooks"].append({"type": "command", "command": "say finished"})  # the user adds theirs to our group
    data["hooks"]["SubagentStop"].append(
        {"hooks": [{"type": "http", "url": "http://127.0.0.1:8787/api/hooks"}]})  # someone else's, no source
    write(settings, data)
    assert devhelion(env, "hooks", "uninstall")[0] == 0
    assert json.loads(settings.read_text()) == {"hooks": {
        "Stop": [{"hooks": [{"type": "command", "command": "python -m desktop hook"}]},
                 {"matcher": "*", "hooks": [{"type": "command", "command": "say finished"}]}],
        "SubagentStop": [{"hooks": [{"type": "http", "url": "http://127.0.0.1:8787/api/hooks"}]}]}}


@pytest.mark.parametrize("content", [b'{"hooks": {"Stop": []},\n', b"[1, 2]\n", b'{"a": 1} trailing'])
@pytest.mark.parametrize("command", [["hooks", "install"], ["hooks", "install", "--command"], ["hooks", "uninstall"],
                                     ["statusline", "install"], ["statusline", "uninstall"], ["hooks", "status"]])
def test_a_file_that_is_not_a_json_object_is_refused_untouched(env: dict[str, str], tmp_path: Path,
                                                                content: bytes, command: list[str]) -> None:
    settings = tmp_path / "claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_bytes(content)
    before = settings.stat()
    code, out = devhelion(env, *command)
    assert code == 2
    assert "Nothing was changed" in out and str(settings) in out
    assert settings.read_bytes() == content and settings.stat().st_mtime_ns == before.st_mtime_ns
    assert list(settings.parent.iterdir()) == [settings]  # no backup, no temp file


def test_a_malformed_hooks_section_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    settings = tmp_path / "claude" / "settings.json"
    content = write(settings, {"hooks": {"Stop": {"type": "command", "command": "x"}}})
    code, out = devhelion(env, "hooks", "install")
    assert code == 2 and "'hooks.Stop' is not a list" in out
    assert settings.read_bytes() == content and backups(settings) == []


def test_command_form_everywhere(env: dict[str, str], tmp_path: Path) -> None:
    settings = tmp_path / "claude" / "settings.json"
    code, out = devhelion(env, "hooks", "install", "--command")
    assert code == 0, out
    data = json.loads(settings.read_text())
    ours = cs.our_hooks(data)
    assert sorted(ours) == sorted(cs.COMMAND_EVENTS)
    assert {h[0]["command"] for h in ours.values()} == {cs.relay_command("hook")}
    assert "sk_live_" not in settings.read_text()  # no key in the file: the relay reads it itself
    code, out = devhelion(env, "hooks", "status")
    assert code == 0 and out.count("command relay (devhelion hook)") == len(cs.COMMAND_EVENTS)


def test_key_from_claude_codes_environment(env: dict[str, str], tmp_path: Path) -> None:
    settings = tmp_path / "claude" / "settings.json"
    code, out = devhelion(env, "hooks", "install", "--key-env", "DEVHELION_API_KEY", "--events", "Stop,PreToolUse")
    assert code == 0, out
    text = settings.read_text()
    assert "sk_live_" not in text
    handler = cs.our_hooks(json.loads(text))["Stop"][0]
    assert handler["headers"] == {"Authorization": "Bearer ${DEVHELION_API_KEY}"}
    assert handler["allowedEnvVars"] == ["DEVHELION_API_KEY"]
    code, out = devhelion(env, "hooks", "status")
    assert "key from DEVHELION_API_KEY" in out


def test_events_that_would_break_claude_code_are_refused(env: dict[str, str], tmp_path: Path) -> None:
    code, out = devhelion(env, "hooks", "install", "--events", "Stop,WorktreeCreate")
    assert code == 2 and "WorktreeCreate" in out
    assert not (tmp_path / "claude" / "settings.json").exists()


def test_any_event_name_can_be_chosen(env: dict[str, str], tmp_path: Path) -> None:
    code, out = devhelion(env, "hooks", "install", "--events", "TaskCreated,Setup,Stop")
    assert code == 0, out
    ours = cs.our_hooks(json.loads((tmp_path / "claude" / "settings.json").read_text()))
    assert ours["TaskCreated"][0]["type"] == "http" and ours["Setup"][0]["type"] == "command"


def test_status_reports_an_outdated_key_and_the_statusline(env: dict[str, str], home: Path, tmp_path: Path) -> None:
    assert devhelion(env, "hooks", "install")[0] == 0
    (home / "api-key").write_text("sk_live_" + "x" * 43 + "\n")  # the key was replaced since
    report = json.loads(devhelion(env, "hooks", "status", "--json")[1])
    assert report["events"]["Stop"][0]["problem"].startswith("outdated API key")
    assert report["statusline"] == {"installed": False, "chained": None, "lastRefresh": None, "error": None}
    assert devhelion(env, "hooks", "install")[0] == 0  # install again refreshes the key
    assert "problem" not in json.loads(devhelion(env, "hooks", "status", "--json")[1])["events"]["Stop"][0]


def test_first_config_dir_of_a_list_and_settings_behind_a_symlink(env: dict[str, str], tmp_path: Path) -> None:
    """CLAUDE_CONFIG_DIR may list several dirs (the first is Claude Code's); a dotfiles symlink stays a link."""
    dotfiles = tmp_path / "dotfiles" / "claude-settings.json"
    write(dotfiles, {"model": "sonnet"})
    first = tmp_path / "first"
    first.mkdir()
    (first / "settings.json").symlink_to(dotfiles)
    env = {**env, "CLAUDE_CONFIG_DIR": f"{first},{tmp_path / 'second'}"}
    code, out = devhelion(env, "hooks", "install", "--events", "Stop")
    assert code == 0, out
    assert (first / "settings.json").is_symlink()
    assert cs.our_hooks(json.loads(dotfiles.read_text()))["Stop"]
    assert not (tmp_path / "second").exists()


def test_a_file_changed_during_the_edit_is_not_overwritten(env: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    write(path, {"model": "opus"})
    current = cs.read_settings(path)
    write(path, {"model": "sonnet"})  # Claude Code saved it in between
    with pytest.raises(cs.SettingsFileError, match="changed while"):
        cs.write_settings(current, cs.install_hooks(current.data, cs.hook_plan(["Stop"], None)))
    assert json.loads(path.read_text()) == {"model": "sonnet"} and backups(path) == []


def test_whitespace_only_file_counts_as_empty_and_is_backed_up(env: dict[str, str], tmp_path: Path) -> None:
    settings = tmp_path / "claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    settings.write_bytes(b"\n")
    assert devhelion(env, "hooks", "install", "--command")[0] == 0
    assert [b.read_bytes() for b in backups(settings)] == [b"\n"]
