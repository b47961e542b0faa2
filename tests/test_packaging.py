"""The bundle as a user gets it: ``packaging/build`` run on a clean clone of this repository's HEAD, then the
frozen app started headless (``--serve``) on a free loopback port, its ``/api/health`` read and its dashboard
signed into with the API key in Debian's Chromium (Playwright with ``executable_path``, never a downloaded
browser), then stopped with SIGTERM. Also: ``--version``; the parts that load only at run time (pywebview's Qt
backend, pystray's GTK/AppIndicator backends, desktop-notifier's D-Bus backend, NiceGUI's static files) import
inside the bundle; the Linux launcher and icons are there; the bundle stays lean.

The build takes minutes (about 1-3 on two cores) and needs PyInstaller (the ``test`` extra installs it).

- ``DEVHELION_SKIP_PACKAGING=1`` skips these tests (local runs); CI (scripts/test) does not set it.
- ``DEVHELION_PACKAGING_SOURCE=worktree`` builds from this working tree, uncommitted files included, instead of
  the clean clone of HEAD (copied to a temp folder; the working tree gets no build output).
- ``DEVHELION_PACKAGING_REUSE=DIR`` tests the build of an earlier run kept in DIR (its ``src``, ``build`` and
  ``dist`` folders, e.g. ``/tmp/pytest-of-$USER/pytest-N/packaging0``) instead of building: for iterating on
  these tests only.
Build time and size go to ``tests/artifacts/packaging/build.json`` and the test output.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_server import free_port
from tests.browser_tools import ALL_READY, chromium_browser
from tests.samples import build_tree

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "tests" / "artifacts" / "packaging"
BUILD_TIMEOUT_S = 1800
START_TIMEOUT_S = 60
MAX_BUNDLE_MB = 620  # fails if the exclusions stop working (the measured size is in artifacts/packaging/build.json)
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)


@dataclass
class Bundle:
    src: Path
    folder: Path
    exe: Path
    work: Path
    seconds: float
    megabytes: int
    log: str

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: float = 120,
            prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, str(self.exe), *args], capture_output=True, text=True, timeout=timeout,
                              env=env if env is not None else clean_env())


def clean_env(**extra: str) -> dict[str, str]:
    """No pytest or NiceGUI variables (NiceGUI switches to its test mode on PYTEST_CURRENT_TEST), no display."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTEST_", "NICEGUI_")) and k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(extra)
    return env


def checkout(dest: Path) -> Path:
    """A clean clone of HEAD, or with ``DEVHELION_PACKAGING_SOURCE=worktree`` a copy of the working tree's files
    (tracked and untracked, minus ignored ones: no venv, no build output)."""
    if os.environ.get("DEVHELION_PACKAGING_SOURCE") == "worktree":
        listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], capture_output=True, check=True).stdout
        for name in filter(None, listed.decode().split("\0")):
            source = REPO / name
            if source.is_file():
                target = dest / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
        return dest
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(dest)], check=True, timeout=300)
    return dest


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    if os.environ.get("DEVHELION_SKIP_PACKAGING") == "1":
        pytest.skip("DEVHELION_SKIP_PACKAGING=1: the bundle is not built")
    if not sys.platform.startswith("linux"):
        pytest.skip("the bundle is built and tested on Linux here")
    reuse = os.environ.get("DEVHELION_PACKAGING_REUSE")
    if reuse:  # iterating on these tests: a folder of an earlier run (src/, build/, dist/), not rebuilt
        tmp = Path(reuse)
        src, seconds, log = tmp / "src", float("nan"), "(reused)"
    else:
        tmp = tmp_path_factory.mktemp("packaging")
        src = checkout(tmp / "src")
        env = clean_env(PYTHON=sys.executable, DEVHELION_DIST_DIR=str(tmp / "dist"),
                        DEVHELION_BUILD_DIR=str(tmp / "build"))
        started = time.monotonic()
        done = subprocess.run(["bash", str(src / "packaging" / "build")], cwd=src, env=env, capture_output=True,
                              text=True, timeout=BUILD_TIMEOUT_S)
        seconds = time.monotonic() - started
        log = done.stdout + done.stderr
        assert done.returncode == 0, f"packaging/build failed ({done.returncode}):\n{log[-6000:]}"
    folder = tmp / "dist" / "devhelion"
    megabytes = round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())
                      / 1e6)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if reuse:
        return Bundle(src, folder, folder / "devhelion", tmp / "build", seconds, megabytes, log)
    report = {"source": "worktree" if os.environ.get("DEVHELION_PACKAGING_SOURCE") == "worktree" else "clone",
              "buildSeconds": round(seconds, 1), "bundleMB": megabytes, "cpus": os.cpu_count()}
    (ARTIFACTS / "build.json").write_text(json.dumps(report, indent=2) + "\n")
    (ARTIFACTS / "build.log").write_text(log)
    print(f"\npackaging: built {folder} ({megabytes} MB) in {seconds:.0f} s")
    return Bundle(src, folder, folder / "devhelion", tmp / "build", seconds, megabytes, log)


def test_the_bundle_is_frozen_from_the_checkout_it_was_built_in(bundle: Bundle) -> None:
    """Our modules come from the clone, not from the editable install the venv points at."""
    toc = next(bundle.work.glob("pyinstaller/devhelion/Analysis-*.toc")).read_text()
    origin = re.search(r"\('desktop\.cli',\s*'([^']+)'", toc)
    assert origin, "desktop.cli is not in the bundle"
    assert Path(origin.group(1)).is_relative_to(bundle.src), origin.group(1)
    assert re.search(r"'ui\.pages\.[a-z_]+'", toc), "the dashboard pages (imported by name) are missing"


def test_version(bundle: Bundle) -> None:
    version = re.search(r'__version__ = "([^"]+)"', (bundle.src / "desktop" / "__init__.py").read_text())
    assert version
    done = bundle.run("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"devhelion, version {version.group(1)}"


def test_runtime_backends_are_inside(bundle: Bundle) -> None:
    """What is imported by name at run time: pystray picks its backend on import and needs a display for it."""
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        if os.environ.get("DEVHELION_REQUIRE_DESKTOP_TESTS") == "1":
            pytest.fail("xvfb-run is missing (apt install xvfb)")
        pytest.skip("xvfb-run is missing (apt install xvfb)")
    done = bundle.run("--bundle-check", prefix=(xvfb_run, "-a", "-s", "-screen 0 1024x768x24"))
    results = json.loads(done.stdout[done.stdout.index("{"):])
    assert {k: v for k, v in results.items() if v != "ok"} == {}, done.stderr[-3000:]
    assert done.returncode == 0
    assert {"webview.platforms.qt", "pystray._appindicator", "pystray._gtk", "nicegui static files"} <= set(results)


def test_launcher_icons_and_exclusions(bundle: Bundle) -> None:
    from PIL import Image

    entry = (bundle.folder / "share" / "applications" / "devhelion.desktop").read_text()
    fields = dict(line.split("=", 1) for line in entry.splitlines() if "=" in line)
    assert entry.startswith("[Desktop Entry]\n")
    assert fields["Type"] == "Application" and fields["Exec"] == "devhelion" and fields["Icon"] == "devhelion"
    assert fields["Terminal"] == "false"
    for size in ICON_SIZES:
        with Image.open(bundle.folder / "share" / "icons" / "hicolor" / f"{size}x{size}" / "apps" /
                        "devhelion.png") as image:
            assert image.size == (size, size) and image.mode == "RGBA"
    assert os.access(bundle.folder / "install", os.X_OK)
    internal = bundle.folder / "_internal"
    locales = sorted(p.name for p in internal.glob("PyQt6/Qt6/translations/qtwebengine_locales/*.pak"))
    assert locales == ["en-GB.pak", "en-US.pak"]
    assert (internal / "PyQt6" / "Qt6" / "libexec" / "QtWebEngineProcess").is_file()
    for unwanted in ("PyQt6/Qt6/qml", "PyQt6/QtQml.abi3.so", "tkinter", "playwright", "pytest", "hypothesis",
                     "share/icons/Adwaita", "webview/platforms/gtk.pyc"):
        assert not (internal / unwanted).exists(), f"{unwanted} should not be bundled"
    assert bundle.megabytes <= MAX_BUNDLE_MB, f"bundle grew to {bundle.megabytes} MB"




@pytest.fixture
def served(bundle: Bundle, tmp_path: Path) -> Iterator[dict[str, Any]]:
    home, claude = tmp_path / "home", build_tree("ccusage-fixtures", tmp_path / "claude")
    port = free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(bundle.exe), "--serve", "--port", str(port), "--no-watch"], cwd=tmp_path,
                                   env=clean_env(DEVHELION_HOME=str(home), CLAUDE_CONFIG_DIR=str(claude)),
                                   stdout=log, stderr=subprocess.STDOUT)
    state = {"process": process, "port": port, "home": home, "log": log_path, "stopped": False}
    try:
        yield state
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_serve_headless_health_and_dashboard_in_chromium(served: dict[str, Any]) -> None:
    process, port, log_path = served["process"], served["port"], served["log"]
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    health = None
    while time.monotonic() - started < START_TIMEOUT_S:
        assert process.poll() is None, f"the bundle exited with {process.returncode}:\n{log_path.read_text()}"
        try:
            health = httpx.get(f"{base}/api/health", timeout=2)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    assert health is not None, f"no answer on /api/health in {START_TIMEOUT_S} s:\n{log_path.read_text()}"
    first_answer_s = time.monotonic() - started
    assert health.status_code == 200
    assert health.json()["data"]["status"] == "ok"
    key = (served["home"] / "api-key").read_text().strip()
    assert httpx.get(f"{base}/api/sync/status", timeout=10).status_code == 401  # the API is locked without the key
    synced = None
    while time.monotonic() - started < START_TIMEOUT_S and not synced:
        status = httpx.get(f"{base}/api/sync/status", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert status.status_code == 200
        data = status.json()["data"]
        synced = not data["isRunning"] and data["lastSync"] is not None and data
        time.sleep(0.1)
    assert synced, "the start-up ingest of the sample transcripts did not finish"

    with chromium_browser() as browser:
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            statics: dict[str, int] = {}
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("response", lambda r: statics.__setitem__(r.url, r.status) if "/_nicegui/" in r.url else None)
            page.goto(f"{base}/?range=all")
            assert "Enter the API key" in page.content()  # closed without the session cookie
            page.fill("#key", key)
            errors.clear()  # the sign-in page itself is served with 401
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r"/(\?range=all)?$"))
            page.wait_for_function(ALL_READY, timeout=60_000)
            assert not page.query_selector(".dh-error")
            assert page.query_selector(".nicegui-echart canvas"), "the charts render (ECharts from the bundle)"
            assert "project-alpha" in page.inner_text("body")  # the sample transcripts were ingested and shown
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert any(url.endswith(".js") for url in statics), statics  # NiceGUI's own scripts came from the bundle
    assert {url: status for url, status in statics.items() if status >= 400} == {}

    process.send_signal(signal.SIGTERM)
    stopping = time.monotonic()
    assert process.wait(30) == 0, log_path.read_text()
    stop_s = time.monotonic() - stopping
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/api/health", timeout=2)
    print(f"\npackaging: --serve answered in {first_answer_s:.2f} s, stopped in {stop_s:.2f} s")


def test_window_process_loads_a_page_with_the_bundled_qt_webengine(bundle: Bundle, tmp_path: Path) -> None:
    """``--window`` as the app starts it (URL on stdin, end-of-file closes it), on Qt's offscreen platform: the
    bundled Qt WebEngine must fetch the page, then the process must end cleanly when stdin closes."""
    import http.server
    import threading

    agents: list[str] = []

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            agents.append(f"{self.path} {self.headers.get('User-Agent', '')}")
            body = b"<!doctype html><title>bundle window</title><p>ok</p>"
            self.send_response(200 if self.path == "/window" else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(ConnectionError):  # the web engine may drop a request it no longer wants
                self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    log_path = tmp_path / "window.log"
    with open(log_path, "wb") as log:
        window = subprocess.Popen([str(bundle.exe), "--window"], stdin=subprocess.PIPE, stdout=log,
                                  stderr=subprocess.STDOUT, env=clean_env(QT_QPA_PLATFORM="offscreen",
                                                                          HOME=str(tmp_path)))
    try:
        assert window.stdin is not None
        window.stdin.write(f"http://127.0.0.1:{server.server_address[1]}/window\n".encode())
        window.stdin.flush()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not any(a.startswith("/window ") for a in agents) and time.monotonic() < deadline:
            assert window.poll() is None, f"the window exited with {window.returncode}:\n{log_path.read_text()}"
            time.sleep(0.1)
        page_requests = [a for a in agents if a.startswith("/window ")]
        assert page_requests, f"the window never fetched its page:\n{log_path.read_text()}"
        assert "QtWebEngine" in page_requests[0]
        window.stdin.close()
        assert window.wait(30) == 0, log_path.read_text()
    finally:
        server.shutdown()
        if window.poll() is None:
            window.kill()
            window.wait(10)


def test_linux_install_and_uninstall_for_one_user(bundle: Bundle, tmp_path: Path) -> None:
    """``./install`` in the bundle folder: the app under ~/.local/lib, the command, the launcher and the icons;
    ``--uninstall`` takes them all away again (and nothing else)."""
    home = tmp_path / "home"
    (home / ".local" / "share" / "devhelion").mkdir(parents=True)  # user data: must survive the uninstall
    env = clean_env(HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"))
    done = subprocess.run([str(bundle.folder / "install")], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lib, command = home / ".local" / "lib" / "devhelion", home / ".local" / "bin" / "devhelion"
    launcher = home / ".local" / "share" / "applications" / "devhelion.desktop"
    assert command.is_symlink() and command.resolve() == lib / "devhelion"
    version = subprocess.run([str(command), "--version"], env=env, capture_output=True, text=True, timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("devhelion, version ")
    assert f"Exec={lib / 'devhelion'}\n" in launcher.read_text()
    icons = sorted(p.parts[-3] for p in (home / ".local" / "share" / "icons" / "hicolor").glob("*/apps/*.png"))
    assert icons == sorted(f"{s}x{s}" for s in ICON_SIZES)

    done = subprocess.run([str(lib / "install"), "--uninstall"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert not lib.exists() and not command.exists() and not command.is_symlink() and not launcher.exists()
    assert not list((home / ".local" / "share" / "icons").rglob("devhelion.png"))
    assert (home / ".local" / "share" / "devhelion").is_dir()


def test_double_click_starts_tray_and_window(bundle: Bundle, tmp_path: Path) -> None:
    """No arguments, as a double-click or the launcher starts it, on a real X server with a tray (trayer), a
    session bus and a notification daemon: the bundle shows its tray icon (GTK backend) and the dashboard window
    (Qt WebEngine, in the bundle's own ``--window`` child); SIGTERM stops it all with status 0."""
    import psutil

    from tests.desktop_session import require_desktop, start_desktop_session, wait_for

    require_desktop()
    desktop = start_desktop_session()
    home, claude = tmp_path / "home", build_tree("ccusage-fixtures", tmp_path / "claude")
    env = {**clean_env(), **desktop.env, "DEVHELION_HOME": str(home), "CLAUDE_CONFIG_DIR": str(claude),
           "PYSTRAY_BACKEND": "gtk"}
    log_path = tmp_path / "app.log"
    with open(log_path, "wb") as log:
        app = subprocess.Popen([str(bundle.exe)], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        def status() -> dict[str, Any] | None:
            assert app.poll() is None, f"the app exited with {app.returncode}:\n{log_path.read_text()}"
            try:
                port = json.loads((home / "server.json").read_text())["port"]
                key = (home / "api-key").read_text().strip()
                answer = httpx.get(f"http://127.0.0.1:{port}/api/app/status",
                                   headers={"Authorization": f"Bearer {key}"}, timeout=5)
            except (OSError, ValueError, KeyError, httpx.TransportError):
                return None
            return answer.json()["data"] if answer.status_code == 200 else None

        ready = wait_for(lambda: (s := status()) and s["tray"]["embedded"] and s["window"]["open"]
                         and s["dashboard_clients"] >= 1 and s, 90, 0.5, "the tray icon and the dashboard window")
        assert isinstance(ready, dict)
        assert ready["tray"]["backend"] == "gtk"
        window = psutil.Process(ready["window"]["pid"])
        assert window.exe() == str(bundle.exe) and window.cmdline()[1:] == ["--window"]
        assert "QtWebEngineProcess" in [p.name() for p in window.children(recursive=True)]
        assert wait_for(lambda: desktop.visible_windows("Devhelion"), 30, 0.5, "the window on screen")
        desktop.screenshot(ARTIFACTS / "double-click.png")
        app.send_signal(signal.SIGTERM)
        assert app.wait(60) == 0, log_path.read_text()
        assert wait_for(lambda: not window.is_running(), 10, 0.1, "the window process to end")
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(10)
        desktop.close()


def test_hooks_and_statusline_installed_from_the_bundle_run_and_uninstall(bundle: Bundle, tmp_path: Path) -> None:
    """``hooks install`` / ``statusline install`` run by the bundle write the bundle into Claude Code's settings
    (``<bundle> -I -m desktop ...``); that command works as Claude Code runs it (a shell, JSON on stdin, no
    DEVHELION_HOME), and the README's uninstall commands take everything out again."""
    home, claude = tmp_path / "home", tmp_path / "claude"
    claude.mkdir()
    env = clean_env(DEVHELION_HOME=str(home), CLAUDE_CONFIG_DIR=str(claude))

    def cli(*args: str) -> str:
        done = bundle.run(*args, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    cli("statusline", "install")
    cli("hooks", "install")
    settings = json.loads((claude / "settings.json").read_text())
    command = settings["statusLine"]["command"]
    assert command.startswith(f"{bundle.exe} -I -m desktop statusline --home {home} ")
    assert settings["hooks"]["SessionStart"][0]["hooks"][0]["command"].startswith(f"{bundle.exe} -I -m desktop hook")
    claude_env = {k: v for k, v in env.items() if k != "DEVHELION_HOME"}
    stdin = json.dumps({"session_id": "packaging", "model": {"id": "claude-sonnet-4", "display_name": "Sonnet 4"},
                        "workspace": {"current_dir": str(tmp_path)}, "cwd": str(tmp_path)})
    shown = subprocess.run(["bash", "-c", command], input=stdin, env=claude_env, capture_output=True, text=True,
                           timeout=60)
    assert shown.returncode == 0 and shown.stdout.strip(), shown.stderr
    status = json.loads(cli("hooks", "status", "--json"))
    assert status["statusline"]["installed"] is True and status["statusline"]["lastRefresh"]  # the relay ran
    assert "SessionStart" in status["events"]

    cli("hooks", "uninstall")
    cli("statusline", "uninstall")
    status = json.loads(cli("hooks", "status", "--json"))
    assert status["events"] == {} and status["statusline"]["installed"] is False
    assert json.loads((claude / "settings.json").read_text()) == {}
