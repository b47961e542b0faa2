"""``devhelion keys create|list|rotate|revoke`` on a data home of the test's own (no server running)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson

from tests.api_server import REPO


def _keys(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEVHELION_HOME": str(home), "CLAUDE_CONFIG_DIR": str(home / "no-logs")}
    return subprocess.run([sys.executable, "-m", "desktop", "keys", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


def test_create_prints_the_key_once_on_stdout(tmp_path: Path) -> None:
    result = _keys(tmp_path, "create", "--name", "ci")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert key.startswith("sk_live_") and "\n" not in key and len(key) == 51
    assert "only time it is shown" in result.stderr and "'ci'" in result.stderr
    listed = orjson.loads(_keys(tmp_path, "list", "--json").stdout)
    assert [(k["name"], k["mode"], k["status"]) for k in listed] == [("ci", "live", "active")]
    assert key not in _keys(tmp_path, "list").stdout and key[:16] in _keys(tmp_path, "list").stdout


def test_test_keys_and_expiry(tmp_path: Path) -> None:
    made = orjson.loads(_keys(tmp_path, "create", "--name", "sandbox", "--test", "--expires-days", "7",
                              "--json").stdout)
    assert made["key"].startswith("sk_test_") and made["mode"] == "test"
    assert made["expires_at"][:10] > made["created_at"][:10]
    bad = _keys(tmp_path, "create", "--name", "x", "--expires-days", "0")
    assert bad.returncode == 2 and "expires-days" in bad.stderr


def test_rotate_and_revoke(tmp_path: Path) -> None:
    first = _keys(tmp_path, "create", "--name", "ci").stdout.strip()
    rotated = _keys(tmp_path, "rotate", "ci")
    second = rotated.stdout.strip()
    assert rotated.returncode == 0 and second.startswith("sk_live_") and second != first
    assert "Rotated live key 'ci'" in rotated.stderr
    listed = orjson.loads(_keys(tmp_path, "list", "--json").stdout)
    assert sorted(k["status"] for k in listed) == ["active", "revoked"]
    revoked = _keys(tmp_path, "revoke", second[:14])
    assert revoked.returncode == 0 and "Revoked key 'ci'" in revoked.stdout
    assert {k["status"] for k in orjson.loads(_keys(tmp_path, "list", "--json").stdout)} == {"revoked"}


def test_errors_exit_2_with_a_message(tmp_path: Path) -> None:
    _keys(tmp_path, "create", "--name", "ci")
    duplicate = _keys(tmp_path, "create", "--name", "ci")
    assert duplicate.returncode == 2 and "already named 'ci'" in duplicate.stderr
    missing = _keys(tmp_path, "revoke", "nope")
    assert missing.returncode == 2 and "No API key named or starting with 'nope'" in missing.stderr
    assert _keys(tmp_path, "create").returncode == 2  # --name is required


def test_empty_list(tmp_path: Path) -> None:
    result = _keys(tmp_path, "list")
    assert result.returncode == 0 and "No keys yet" in result.stdout
