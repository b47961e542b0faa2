"""The desktop app end to end on a real X server with a real D-Bus session, notification daemon and tray.

``-m desktop`` selects these. Screenshots and measured figures go to tests/artifacts/desktop/.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import pytest

from tests.api_server import REPO, free_port
from tests.budget_tools import DOLLAR_OF_OUTPUT, append, spend_line
from tests.desktop_session import DesktopSession, require_desktop, start_desktop_session, wait_for

pytestmark = pytest.mark.desktop
ARTIFACTS = REPO / "tests" / "artifacts" / "desktop"
TITLE = "Devhelion"
SERVER_RSS_LIMIT_MB = 250


@pytest.fixture(scope="module")
def desktop() -> Iterator[DesktopSession]:
    require_desktop()
    session = start_desktop_session()
    yield session
    session.close()


@dataclass
class RunningApp:
    process: subprocess.Popen
    port: int
    home: Path
    log_path: Path
    key: str = ""
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> httpx.Client:
        client = httpx.Client(base_url=self.base_url, headers={"Authorization": f"Bearer {self.key}"}, timeout=30)
        self.clients.append(client)
        return client

    def status(self) -> dict[str, Any]:
        with httpx.Client(timeout=10) as client:
            response = client.get(f"{self.base_url}/api/app/status", headers={"Authorization": f"Bearer {self.key}"})
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def app_env(desktop: DesktopSession, home: Path, claude: Path, **extra: str) -> dict[str, str]:
    return {**desktop.env, "DEVHELION_HOME": str(home), "CLAUDE_CONFIG_DIR": str(claude), "PYSTRAY_BACKEND": "gtk",
            "PYTHONUNBUFFERED": "1", **extra}


def launch(desktop: DesktopSession, home: Path, claude: Path, *args: str, port: int | None = None,
           **extra_env: str) -> RunningApp:
    port = port or free_port()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "config.json").exists():
        (home / "config.json").write_bytes(orjson.dumps({"timezone": "UTC"}))
    log_path = home.parent / f"app-{port}-{time.monotonic_ns()}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "desktop", "app", "--port", str(port), *args], cwd=REPO,
                                   env=app_env(desktop, home, claude, **extra_env), stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)  # see session_processes
    app = RunningApp(process, port, home, log_path)

    def serving() -> bool:
        assert process.poll() is None, f"the app exited with {process.returncode}:\n{app.log()}"
        try:
            return httpx.get(f"{app.base_url}/api/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(serving, 60, 0.05, "the app's server")
    app.key = (home / "api-key").read_text().strip()
    wait_for(lambda: app.status()["tray"]["embedded"], 20, 0.1, "the tray icon in trayer")
    return app


def quit_app(app: RunningApp, timeout: float = 60.0) -> int:
    for client in app.clients:
        client.close()
    if app.process.poll() is None:
        app.process.send_signal(signal.SIGTERM)
    return app.process.wait(timeout)


def window_ready(desktop: DesktopSession, app: RunningApp) -> bool:
    status = app.status()
    return bool(status["window"]["open"] and status["dashboard_clients"] >= 1 and desktop.visible_windows(TITLE))


def page_loaded(path: Path) -> bool:
    """The window's page covers the middle of the screen (the bare root window is black) with varied content, and
    the overview's figures have replaced its loading placeholders: grey skeleton blocks (grey 200-240) fill about
    70 % of the content area while the data loads, a few % once the cards show figures (white)."""
    from PIL import Image, ImageStat

    with Image.open(path) as image:
        grey = image.convert("L")
    area = grey.crop((150, 40, 1130, 700))
    values = area.tobytes()
    black = values.count(0) / len(values)
    content = grey.crop((330, 140, 1150, 700)).tobytes()
    skeleton = sum(1 for value in content if 200 <= value <= 240) / len(content)
    return black < 0.3 and ImageStat.Stat(area).stddev[0] > 12 and skeleton < 0.3


def shown(desktop: DesktopSession, name: str) -> Path:
    """Screenshot once the dashboard is loaded (checked once a second: screenshots cost CPU the window needs)."""
    path = ARTIFACTS / name
    wait_for(lambda: page_loaded(desktop.screenshot(path)), 60, 1.0, f"the dashboard to load ({name})")
    return path


def tree_names(pid: int) -> list[str]:
    root = psutil.Process(pid)
    return [p.name() for p in (root, *root.children(recursive=True))]


def tree_rss_mb(pid: int) -> dict[str, float]:
    root = psutil.Process(pid)
    processes = [root, *root.children(recursive=True)]
    return {f"{p.pid} {p.name()}": round(p.memory_info().rss / 2**20, 1) for p in processes}


def assert_gone(pids: set[int], timeout: float = 5.0) -> None:
    def alive() -> list[str]:
        out = []
        for pid in pids:
            try:
                process = psutil.Process(pid)
                if process.status() != psutil.STATUS_ZOMBIE:
                    out.append(f"{pid} {process.name()} {process.status()} ppid={process.ppid()}")
            except psutil.NoSuchProcess:
                pass
        return out

    deadline = time.monotonic() + timeout
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert alive() == []


def session_processes(app: RunningApp) -> list[str]:
    """Live processes of the app's session, whoever their parent is now (an orphan is reparented, but keeps its
    session): the app runs in a session of its own, and neither the window process nor the browser engine's helpers
    start another (Chromium's helpers get an empty environment, so it cannot tell them apart)."""
    out = []
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) == app.process.pid and process.status() != psutil.STATUS_ZOMBIE:
                out.append(f"{process.pid} {process.name()}")
        except (psutil.NoSuchProcess, ProcessLookupError, PermissionError):
            pass
    return out


def assert_none_left(app: RunningApp, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while session_processes(app) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert session_processes(app) == []  # no orphan window, browser helper or worker


def record_figures(name: str, figures: dict[str, Any]) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "figures.json"
    existing = json.loads(path.read_text()) if path.exists() else {}
    existing[name] = figures
    path.write_text(json.dumps(existing, indent=2) + "\n")
    print(f"\n{name}: {json.dumps(figures)}")


class WsEvents:
    """A real `/ws` client on a thread, keeping the budget events it receives."""

    def __init__(self, app: RunningApp) -> None:
        self.events: list[dict] = []
        self.url = f"ws://127.0.0.1:{app.port}/ws?token={app.key}&types=budget"
        self._ws: Any = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "no hello on /ws"

    def _read(self) -> None:
        from websockets.sync.client import connect

        try:
            with connect(self.url) as ws:
                self._ws = ws
                assert json.loads(ws.recv(10))["type"] == "hello"
                self._ready.set()
                for message in ws:
                    event = json.loads(message)
                    if event.get("type", "").startswith("budget"):
                        self.events.append(event)
        except Exception:
            pass

    def types(self) -> list[str]:
        return [e["type"] for e in self.events if e["type"] in ("budget.warning", "budget.exceeded")]

    def close(self) -> None:
        if self._ws is not None:
            self._ws.close()


def test_budget_notifications_once_per_level_even_across_a_restart(desktop: DesktopSession, tmp_path: Path) -> None:
    home, claude = tmp_path / "home", tmp_path / "claude"
    session_file = claude / "projects" / "-work-app" / "s1.jsonl"
    (claude / "projects").mkdir(parents=True)
    desktop.clear()
    app = launch(desktop, home, claude, "--hidden")
    ws = WsEvents(app)
    try:
        client = app.client()
        assert client.post("/api/budgets", json={"name": "Monthly test", "amount": 10}).status_code == 201
        wait_for(lambda: app.status()["budgets"]["evaluations"] >= 2, 10, 0.1, "an evaluation of the new budget")
        assert app.status()["tray"]["state"] == "normal"
        now = int(time.time() * 1000)
        append(session_file, *(spend_line(i, now - i, DOLLAR_OF_OUTPUT) for i in range(9)))  # 90%
        warning = desktop.wait_for_notification("Budget warning: Monthly test")
        assert warning["app"] == "Devhelion" and "$9.00 of $10.00 (90%)" in warning["body"]
        wait_for(lambda: app.status()["tray"]["state"] == "warning", 10, 0.1, "the warning icon")
        append(session_file, *(spend_line(100 + i, now + i, DOLLAR_OF_OUTPUT) for i in range(2)))  # 110%
        exceeded = desktop.wait_for_notification("Budget exceeded: Monthly test")
        assert "$11.00 of $10.00 (110%)" in exceeded["body"]
        wait_for(lambda: app.status()["tray"]["state"] == "exceeded", 10, 0.1, "the exceeded icon")
        wait_for(lambda: ws.types() == ["budget.warning", "budget.exceeded"], 10, 0.1, "both events on /ws")
        shown = [n["summary"] for n in desktop.notifications()]
        assert shown == ["Budget warning: Monthly test", "Budget exceeded: Monthly test"]
        status = client.get("/api/budgets/status").json()["data"][0]
        assert status["status"] == "exceeded" and status["current_spend"] == pytest.approx(11.0, abs=0.01)
        notified = {a["level"]: a["notified_at"] for a in status["alerts"]}
        assert notified["warning"] and notified["exceeded"]
        assert "Monthly test: $11.00 of $10.00 monthly (110%)" in " ".join(app.status()["tray"]["menu"])
    finally:
        ws.close()
        assert quit_app(app) == 0, app.log()
    again = launch(desktop, home, claude, "--hidden")
    try:
        wait_for(lambda: again.status()["budgets"]["evaluations"] >= 2, 20, 0.1, "evaluations after the restart")
        assert again.status()["budgets"]["level"] == "exceeded"
        assert again.status()["tray"]["state"] == "exceeded"  # the state comes back, the notifications do not
        time.sleep(1.5)
        assert [n["summary"] for n in desktop.notifications()] == shown
        after = again.client().get("/api/budgets/status").json()["data"][0]
        assert {a["level"]: a["notified_at"] for a in after["alerts"]} == notified
    finally:
        assert quit_app(again) == 0, again.log()
    assert_none_left(app)
    assert_none_left(again)


def test_window_tray_single_instance_and_memory(desktop: DesktopSession, tmp_path: Path) -> None:
    home, claude = tmp_path / "home", tmp_path / "claude"
    (claude / "projects").mkdir(parents=True)
    started = time.monotonic()
    app = launch(desktop, home, claude)
    descendants: set[int] = set()
    try:
        wait_for(lambda: window_ready(desktop, app), 60, 0.2, "the dashboard window")
        connected_s = round(time.monotonic() - started, 2)
        shown(desktop, "01-window-open.png")
        first_paint_s = round(time.monotonic() - started, 2)
        status = app.status()
        assert status["tray"]["backend"] == "gtk" and status["tray"]["embedded"] is True
        menu = status["tray"]["menu"]
        for entry in ("Open Devhelion", "Today: $0.00", "5-hour block: none active", "Pause watching", "Sync now",
                      "Budgets", "  No budgets (devhelion budgets add)", "Start at login", "Quit"):
            assert entry in menu
        window_pid = status["window"]["pid"]
        assert "QtWebEngineProcess" in tree_names(window_pid)  # the Qt WebEngine backend, not a fallback
        assert any(p.endswith("QtWebEngineProcess") for p in session_processes(app))  # what assert_none_left sees
        window_tree = tree_rss_mb(window_pid)
        descendants |= {p.pid for p in psutil.Process(app.process.pid).children(recursive=True)}

        desktop.close_window(desktop.visible_windows(TITLE)[0])  # the close button
        wait_for(lambda: not desktop.visible_windows(TITLE) and not app.status()["window"]["open"], 20, 0.1,
                 "the window to close")
        assert app.process.poll() is None and not psutil.pid_exists(window_pid)
        assert app.client().get("/api/budgets").status_code == 200  # the app lives on in the tray
        desktop.screenshot(ARTIFACTS / "02-window-closed-tray-only.png")
        time.sleep(3)  # idle
        server = psutil.Process(app.process.pid)
        memory = server.memory_full_info()
        server_rss, server_uss = memory.rss / 2**20, memory.uss / 2**20
        record_figures("memory_and_startup", {
            "server_process_rss_mb_idle_window_closed": round(server_rss, 1),
            "server_process_uss_mb_idle_window_closed": round(server_uss, 1),
            "window_process_tree_rss_mb": window_tree,
            "window_process_tree_rss_mb_total": round(sum(window_tree.values()), 1),
            "launch_to_page_connected_s": connected_s,
            "launch_to_dashboard_loaded_s_upper_bound": first_paint_s, "loaded_poll_s": 1.0})
        assert server_rss <= SERVER_RSS_LIMIT_MB

        x, y, width, height = desktop.tray_area()
        desktop.click(x + width - 16, y + height // 2)  # left click on the tray icon: Open Devhelion
        clicked = time.monotonic()
        wait_for(lambda: window_ready(desktop, app), 30, 0.2, "the window to reopen")
        reopen_connected_s = round(time.monotonic() - clicked, 2)
        shown(desktop, "03-window-reopened-from-tray.png")
        reopen_paint_s = round(time.monotonic() - clicked, 2)
        opened = app.status()["window"]["opened"]
        assert opened == 2
        record_figures("window_reopen", {"tray_click_to_page_connected_s": reopen_connected_s,
                                         "tray_click_to_dashboard_loaded_s_upper_bound": reopen_paint_s,
                                         "loaded_poll_s": 1.0})

        window_id = desktop.visible_windows(TITLE)[0]
        with desktop.covering_window() as cover:  # another window in front of ours
            order = desktop.stacking()
            assert order.index(cover) > order.index(window_id)
            second = subprocess.run([sys.executable, "-m", "desktop", "app", "--port", str(free_port())], cwd=REPO,
                                    env=app_env(desktop, home, claude), capture_output=True, text=True, timeout=60)
            assert second.returncode == 0 and "already running" in second.stdout, second.stdout + second.stderr
            wait_for(lambda: desktop.stacking().index(window_id) > desktop.stacking().index(cover), 10, 0.1,
                     "the window to be raised above the one in front")  # brought forward, not a second window
        assert app.status()["window"]["opened"] == opened and desktop.visible_windows(TITLE) == [window_id]

        desktop.close_window(desktop.visible_windows(TITLE)[0])
        wait_for(lambda: not app.status()["window"]["open"], 20, 0.1, "the window to close again")
        second = subprocess.run([sys.executable, "-m", "desktop"], cwd=REPO, env=app_env(desktop, home, claude),
                                capture_output=True, text=True, timeout=60)  # plain `devhelion`
        assert second.returncode == 0 and "brought forward" in second.stdout, second.stdout + second.stderr
        wait_for(lambda: window_ready(desktop, app), 30, 0.2, "the window opened by a second launch")
        assert app.status()["window"]["opened"] == opened + 1
        shown(desktop, "04-window-opened-by-second-launch.png")

        desktop.click(x + width - 16, y + height // 2, button=3)  # right click: the menu
        time.sleep(0.7)
        desktop.screenshot(ARTIFACTS / "05-tray-menu.png")
        desktop.key("Escape")

        client = app.client()
        client.post("/api/live/pause")
        wait_for(lambda: app.status()["tray"]["state"] == "paused", 10, 0.1, "the paused icon")
        assert "Resume watching" in app.status()["tray"]["menu"]
        client.post("/api/live/resume")
        wait_for(lambda: app.status()["tray"]["state"] == "normal", 10, 0.1, "the normal icon")
        descendants |= {p.pid for p in psutil.Process(app.process.pid).children(recursive=True)}

        assert app.status()["window"]["open"]
        desktop.click(x + width - 16, y + height // 2, button=3)  # the menu again: Quit, its last entry
        time.sleep(0.7)
        desktop.key("Up")
        desktop.key("Return")
        wait_for(lambda: app.process.poll() is not None, 60, 0.1, "the app to quit from its tray menu")
    finally:
        code = quit_app(app)  # a no-op once Quit worked
    assert code == 0, app.log()
    assert "Devhelion stopped" in app.log()
    assert_gone(descendants)  # no window or browser process left
    assert_none_left(app)


def test_the_gtk_override_opens_the_window_with_webkitgtk(desktop: DesktopSession, tmp_path: Path) -> None:
    """``DEVHELION_WEBVIEW_GUI=gtk`` (documented for desktops without Qt WebEngine): the same window on WebKitGTK."""
    try:
        import gi

        gi.require_version("WebKit2", "4.1")
        from gi.repository import WebKit2  # noqa: F401
    except (ImportError, ValueError) as exc:
        message = f"WebKit2GTK 4.1 typelib missing ({exc}; scripts/bootstrap installs gir1.2-webkit2-4.1)"
        if os.environ.get("DEVHELION_REQUIRE_DESKTOP_TESTS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    home, claude = tmp_path / "home", tmp_path / "claude"
    (claude / "projects").mkdir(parents=True)
    app = launch(desktop, home, claude, DEVHELION_WEBVIEW_GUI="gtk")
    try:
        wait_for(lambda: window_ready(desktop, app), 60, 0.2, "the dashboard window (WebKitGTK)")
        names = tree_names(app.status()["window"]["pid"])
        assert "WebKitWebProcess" in names and "QtWebEngineProcess" not in names, names
        shown(desktop, "06-window-gtk-override.png")
        desktop.close_window(desktop.visible_windows(TITLE)[0])
        wait_for(lambda: not desktop.visible_windows(TITLE) and not app.status()["window"]["open"], 20, 0.1,
                 "the window to close")
        assert app.process.poll() is None
    finally:
        code = quit_app(app)
    assert code == 0, app.log()
    assert_none_left(app)


def test_sigterm_while_ingesting_stops_at_a_commit_and_leaves_nothing_behind(desktop: DesktopSession,
                                                                           tmp_path: Path) -> None:
    home, claude = tmp_path / "home", tmp_path / "claude"
    files, per_file = 120, 700
    start = int(time.time() * 1000) - 10 * 86_400_000
    for f in range(files):
        append(claude / "projects" / f"-work-p{f % 7}" / f"s{f}.jsonl",
               *(spend_line(i, start + f * per_file + i, 1000, session=f"s{f}", cwd=f"/work/p{f % 7}")
                 for i in range(per_file)))
    app = launch(desktop, home, claude)  # window open too: it must not be left behind
    try:
        wait_for(lambda: httpx.get(f"{app.base_url}/api/health").json()["data"]["syncRunning"], 10, 0.01,
                 "the start-up ingest")
        wait_for(lambda: app.status()["window"]["pid"], 10, 0.05, "the window process")
        time.sleep(0.3)
        descendants = {p.pid for p in psutil.Process(app.process.pid).children(recursive=True)}
        assert descendants, "no window process to leave behind"
        assert httpx.get(f"{app.base_url}/api/health").json()["data"]["syncRunning"], "ingest ended too soon"
        begun = time.monotonic()
        app.process.send_signal(signal.SIGTERM)
        code = app.process.wait(120)
        quit_s = round(time.monotonic() - begun, 2)
    finally:
        if app.process.poll() is None:
            quit_app(app)
    assert code == 0, app.log()
    assert "Traceback" not in app.log(), app.log()
    assert_gone(descendants)
    assert_none_left(app)
    db = home / "devhelion.db"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        archived = conn.execute("SELECT count(*) FROM api_request").fetchone()[0]
        statuses = [s for (s,) in conn.execute("SELECT status FROM ingest_run ORDER BY id")]
    # the run in progress committed what it had parsed and was recorded as cancelled, not cut mid-transaction
    assert statuses[-1] == "cancelled", statuses
    assert archived < files * per_file, archived  # stopped early (at its next commit: possibly the first)
    rerun = subprocess.run([sys.executable, "-m", "desktop", "ingest", "--quiet"], cwd=REPO,
                           env=app_env(desktop, home, claude), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    with sqlite3.connect(db) as conn:
        total = conn.execute("SELECT count(*) FROM api_request").fetchone()[0]
    assert total == files * per_file  # nothing lost, nothing counted twice
    record_figures("sigterm_while_ingesting", {"requests_archived_at_quit": archived, "requests_total": total,
                                               "quit_seconds": quit_s})
