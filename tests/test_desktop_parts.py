"""Desktop pieces that need no display: the headless fallback of `devhelion`, the single-instance lock, start at
login, the tray icons and what the tray shows."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from desktop.app import autostart
from desktop.app.icons import STATES, icon_image
from desktop.app.instance import InstanceLock, show_running_instance
from desktop.app.tray_model import TrayModel
from desktop.app.window import prepare_qt, webview_gui
from tests.api_server import REPO, free_port, server_env


def test_without_a_display_devhelion_says_so_and_serves_headless(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    (claude / "projects").mkdir(parents=True)
    env = {k: v for k, v in server_env(tmp_path / "home", claude).items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "desktop", "app", "--port", str(port)], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert (tmp_path / "home" / "app.lock").exists()  # a desktop launch will find it running
        second = subprocess.run([sys.executable, "-m", "desktop", "app", "--port", str(free_port())], cwd=REPO,
                                env=env, capture_output=True, text=True, timeout=60)
        assert second.returncode == 0 and "already running" in second.stderr
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "No display found" in err and "headless" in err
    assert f"Dashboard: http://127.0.0.1:{port}/" in out


def test_the_lock_admits_one_holder_and_frees_on_release(tmp_path: Path) -> None:
    first, second = InstanceLock(tmp_path / "app.lock"), InstanceLock(tmp_path / "app.lock")
    assert first.acquire()
    assert not second.acquire()
    assert (tmp_path / "app.lock").read_text() == str(os.getpid())
    first.release()
    assert second.acquire()
    second.release()


def test_a_second_launch_gives_up_on_an_app_that_is_gone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVHELION_HOME", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "server.json").write_text(json.dumps({"port": free_port(), "pid": dead.pid}))
    started = time.monotonic()
    assert show_running_instance(timeout=1.0) == "unreachable"
    assert time.monotonic() - started < 5


def test_start_at_login_writes_and_removes_an_xdg_autostart_entry(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    if not autostart.supported():
        pytest.skip("XDG autostart is Linux/BSD only")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert not autostart.is_enabled()
    autostart.set_enabled(True, tmp_path / "icon.png")
    entry = (tmp_path / "config" / "autostart" / "devhelion.desktop").read_text()
    assert entry.startswith("[Desktop Entry]\n") and "Type=Application" in entry and "Name=Devhelion" in entry
    exec_line = next(line for line in entry.splitlines() if line.startswith("Exec="))
    assert exec_line.endswith(" app --hidden")
    assert f"Icon={tmp_path / 'icon.png'}" in entry
    assert autostart.is_enabled()
    autostart.set_enabled(False)
    assert not autostart.is_enabled()
    assert not (tmp_path / "config" / "autostart" / "devhelion.desktop").exists()


def test_exec_lines_quote_what_the_desktop_entry_spec_reserves() -> None:
    assert autostart.exec_line(["/opt/my apps/devhelion", "app"]) == '"/opt/my apps/devhelion" app'
    assert autostart.exec_line(["/usr/bin/devhelion", "100%"]) == "/usr/bin/devhelion 100%%"


def test_each_icon_state_has_its_own_look() -> None:
    images = {state: icon_image(state) for state in STATES}
    assert all(image.size == (64, 64) and image.mode == "RGBA" for image in images.values())
    centres = {state: image.getpixel((8, 32)) for state, image in images.items()}
    assert len(set(centres.values())) == len(STATES)
    with pytest.raises(ValueError):
        icon_image("unknown")


def test_the_tray_model_maps_states_and_says_what_matters() -> None:
    model = TrayModel(today="Today: $3.20", block="5-hour block: $1.10 (ends 17:00)")
    assert model.state == "normal"
    assert model.tooltip == "Devhelion · Today: $3.20 · 5-hour block: $1.10 (ends 17:00)"
    model.budget_level = "warning"
    assert model.state == "warning" and model.tooltip.endswith("budget warning")
    model.budget_level = "exceeded"
    assert model.state == "exceeded"
    model.paused = True
    assert model.state == "paused" and model.tooltip.endswith("watching paused")


def test_the_window_uses_qt_webengine_on_linux_unless_told_otherwise() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("the Qt default is Linux's; macOS and Windows use their native web views")
    assert webview_gui({}) == "qt"
    assert webview_gui({"DEVHELION_WEBVIEW_GUI": " GTK "}) == "gtk"
    assert webview_gui({"DEVHELION_WEBVIEW_GUI": ""}) == "qt"


def test_qt_webengine_runs_without_its_sandbox_only_as_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    user: dict[str, str] = {}
    prepare_qt(user)
    assert user == {"QT_API": "pyqt6", "QTWEBENGINE_CHROMIUM_FLAGS": "--log-level=3"}
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    root = {"QT_API": "pyside6", "QTWEBENGINE_CHROMIUM_FLAGS": "--log-level=0 --foo"}
    prepare_qt(root)
    assert root == {"QT_API": "pyside6", "QTWEBENGINE_CHROMIUM_FLAGS": "--log-level=0 --foo",
                    "QTWEBENGINE_DISABLE_SANDBOX": "1"}
