"""`devhelion statusline install|uninstall` on real copies of settings files: an existing statusline is chained
(and really runs), and uninstall gives it back exactly."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from desktop import claude_settings as cs
from tests.relay_tools import STATUSLINE_SAMPLES, env_for, run_desktop

THEIRS = """python3 -c "import json,sys; d=json.load(sys.stdin); print('mine #1:', d['model']['id'])" """.strip()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The CLI's environment; this process gets the same, so nothing here reaches the real folders."""
    env = env_for(tmp_path / "home", tmp_path / "claude")
    monkeypatch.setenv("DEVHELION_HOME", env["DEVHELION_HOME"])
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", env["CLAUDE_CONFIG_DIR"])
    return env


def settings_file(tmp_path: Path, data: dict[str, Any] | None) -> Path:
    path = tmp_path / "claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    if data is not None:
        path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def devhelion(env: dict[str, str], *args: str) -> tuple[int, str]:
    run = run_desktop(list(args), env)
    return run.returncode, run.stdout + run.stderr


def run_installed(path: Path, env: dict[str, str], cwd: Path) -> str:
    """Run settings.json's statusline command the way Claude Code does: through the shell, JSON on stdin."""
    command = json.loads(path.read_text())["statusLine"]["command"]
    result = subprocess.run(command, shell=True, input=(STATUSLINE_SAMPLES / "statusline-test.json").read_bytes(),
                            capture_output=True, env=env, cwd=cwd, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def test_existing_statusline_is_chained_and_restored(env: dict[str, str], tmp_path: Path) -> None:
    original = {"model": "opus", "statusLine": {"type": "command", "command": THEIRS, "padding": 2}}
    path = settings_file(tmp_path, original)
    code, out = devhelion(env, "statusline", "install")
    assert code == 0 and "still runs first" in out, out
    installed = json.loads(path.read_text())
    line = installed["statusLine"]
    assert line["padding"] == 2 and line["type"] == "command" and line["command"].endswith(cs.STATUSLINE_MARK)
    assert cs.chained_command(line["command"]) == THEIRS  # their exact command, quotes and all
    assert run_installed(path, env, tmp_path) == "mine #1: claude-sonnet-4-20250514 | $0.06 session\n"
    assert len(list(path.parent.glob("settings.json.devhelion-backup-*"))) == 1

    code, out = devhelion(env, "statusline", "install")
    assert code == 0 and "nothing changed" in out and json.loads(path.read_text()) == installed

    code, out = devhelion(env, "statusline", "uninstall")
    assert code == 0 and "restored" in out
    assert json.loads(path.read_text()) == original
    code, out = devhelion(env, "statusline", "uninstall")
    assert code == 0 and "not installed" in out


def test_without_a_statusline_uninstall_removes_ours(env: dict[str, str], tmp_path: Path) -> None:
    original = {"hooks": {}, "env": {"A": "1"}}
    path = settings_file(tmp_path, original)
    assert devhelion(env, "statusline", "install")[0] == 0
    assert json.loads(path.read_text())["statusLine"] == {"type": "command", "command": cs.statusline_command(None)}
    assert run_installed(path, env, tmp_path) == "$0.06 session\n"
    assert devhelion(env, "statusline", "uninstall")[0] == 0
    assert json.loads(path.read_text()) == original


def test_missing_settings_file_gets_one(env: dict[str, str], tmp_path: Path) -> None:
    path = settings_file(tmp_path, None)
    assert devhelion(env, "statusline", "install")[0] == 0
    assert cs.is_our_statusline(json.loads(path.read_text())["statusLine"])
    assert list(path.parent.glob("*backup*")) == []


def test_a_statusline_that_is_not_an_object_is_refused(env: dict[str, str], tmp_path: Path) -> None:
    path = settings_file(tmp_path, {"statusLine": "~/sl.sh"})
    before = path.read_bytes()
    code, out = devhelion(env, "statusline", "install")
    assert code == 2 and "'statusLine' is not a JSON object" in out
    assert path.read_bytes() == before


def test_hooks_and_statusline_live_side_by_side(env: dict[str, str], tmp_path: Path) -> None:
    original = {"statusLine": {"type": "command", "command": "echo hi"}}
    path = settings_file(tmp_path, original)
    assert devhelion(env, "statusline", "install")[0] == 0
    assert devhelion(env, "hooks", "install")[0] == 0
    report = json.loads(devhelion(env, "hooks", "status", "--json")[1])
    assert report["statusline"] == {"installed": True, "chained": "echo hi", "lastRefresh": None, "error": None}
    assert devhelion(env, "hooks", "uninstall")[0] == 0
    assert cs.is_our_statusline(json.loads(path.read_text())["statusLine"])  # untouched by the hooks' uninstall
    assert devhelion(env, "statusline", "uninstall")[0] == 0
    assert json.loads(path.read_text()) == original


def test_the_installed_command_uses_the_data_folder_of_install_time(env: dict[str, str], tmp_path: Path) -> None:
    """Claude Code's environment usually lacks DEVHELION_HOME: `--home` in the command says where the archive is
    (without importing platformdirs); a DEVHELION_HOME that Claude Code does have still wins."""
    path = settings_file(tmp_path, {})
    assert devhelion(env, "statusline", "install")[0] == 0
    claude_env = {k: v for k, v in env.items() if k != "DEVHELION_HOME"} | {"HOME": str(tmp_path / "user")}
    data = json.loads((STATUSLINE_SAMPLES / "statusline-test.json").read_text())
    data["rate_limits"] = {"five_hour": {"used_percentage": 12, "resets_at": 4_102_444_800}}
    command = json.loads(path.read_text())["statusLine"]["command"]
    other = claude_env | {"DEVHELION_HOME": str(tmp_path / "other")}
    for environment, home in ((claude_env, tmp_path / "home"), (other, tmp_path / "other")):
        result = subprocess.run(command, shell=True, input=json.dumps(data).encode(), capture_output=True,
                                env=environment, cwd=tmp_path, timeout=30)
        assert result.stdout.startswith(b"$0.06 session | 5h 12%"), result.stderr
        deadline = time.monotonic() + 10
        while not (home / "statusline.json").exists():
            assert time.monotonic() < deadline
            time.sleep(0.02)
    assert not (tmp_path / "user").exists()  # the platform's default folder was never touched
    report = json.loads(devhelion(env | {"DEVHELION_HOME": str(tmp_path / "moved")}, "hooks", "status", "--json")[1])
    assert "install again" in report["statusline"]["problem"]
