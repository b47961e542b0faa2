"""A real desktop for GUI tests: Xvfb, a private D-Bus session bus, the dunst notification daemon and trayer as
the system tray, started for the test session and stopped after it.

Notifications are read back from dunst (``dunstctl history`` lists closed ones, so open ones are closed first);
windows are found with xdotool and closed with a real WM_DELETE_WINDOW; screenshots come from ImageMagick.
Set ``DEVHELION_REQUIRE_DESKTOP_TESTS=1`` (scripts/test does) to fail instead of skipping when a tool is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TOOLS = ("Xvfb", "dbus-daemon", "dunst", "dunstctl", "trayer", "xdotool", "import", "xwininfo")
SCREEN = (1280, 800)


def missing_requirements() -> list[str]:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    try:  # the tray
        import gi

        gi.require_version("Gtk", "3.0")
        from gi.repository import Gtk  # noqa: F401
    except (ImportError, ValueError) as exc:
        missing.append(f"PyGObject with GTK 3 ({exc})")
    # the window (Qt WebEngine); imported in a child so this process stays free of Qt, as the app's tray process is
    probe = subprocess.run([sys.executable, "-c", "from PyQt6 import QtWebEngineWidgets, QtWebChannel"],
                           capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        missing.append(f"PyQt6 with Qt WebEngine ({probe.stderr.strip().splitlines()[-1:]})")
    return missing


def require_desktop() -> None:
    missing = missing_requirements()
    if missing:
        message = f"desktop test tools missing: {', '.join(missing)} (scripts/test installs them)"
        if os.environ.get("DEVHELION_REQUIRE_DESKTOP_TESTS") == "1":
            pytest.fail(message)
        pytest.skip(message)


def wait_for(predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.1, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


@dataclass
class DesktopSession:
    env: dict[str, str]
    tmp: Path
    procs: list[subprocess.Popen] = field(default_factory=list)
    _hidden_ids: set[int] = field(default_factory=set)

    def run(self, *cmd: str, check: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=30, check=check)

    # -- notifications -------------------------------------------------------------------------------
    def notifications(self) -> list[dict[str, str]]:
        """Every notification shown since the last :meth:`clear`: ``{"id", "app", "summary", "body"}``."""
        self.run("dunstctl", "close-all")
        history = json.loads(self.run("dunstctl", "history").stdout or '{"data": [[]]}')
        out = []
        for item in history["data"][0]:
            nid = item["id"]["data"]
            if nid in self._hidden_ids:
                continue
            out.append({"id": nid, "app": item["appname"]["data"], "summary": item["summary"]["data"],
                        "body": item["body"]["data"]})
        return sorted(out, key=lambda n: n["id"])

    def clear(self) -> None:
        self._hidden_ids |= {n["id"] for n in self.notifications()}

    def wait_for_notification(self, summary: str, timeout: float = 20.0) -> dict[str, str]:
        return wait_for(lambda: next((n for n in self.notifications() if n["summary"] == summary), None),
                        timeout, 0.2, f"notification {summary!r}")  # type: ignore[return-value]

    # -- windows -------------------------------------------------------------------------------------
    def visible_windows(self, title: str) -> list[int]:
        result = self.run("xdotool", "search", "--onlyvisible", "--name", f"^{title}$")
        return [int(line) for line in result.stdout.split()]

    def close_window(self, window_id: int) -> None:
        """What a window manager does when the user clicks the close button."""
        from Xlib import X, display, protocol

        d = display.Display(self.env["DISPLAY"])
        try:
            window = d.create_resource_object("window", window_id)
            event = protocol.event.ClientMessage(window=window, client_type=d.intern_atom("WM_PROTOCOLS"),
                                                 data=(32, [d.intern_atom("WM_DELETE_WINDOW"), X.CurrentTime, 0, 0,
                                                            0]))
            window.send_event(event, event_mask=X.NoEventMask)
            d.flush()
        finally:
            d.close()

    @contextlib.contextmanager
    def covering_window(self) -> Iterator[int]:
        """A plain X window over the whole screen, on top of the others while it lasts (another app in front)."""
        from Xlib import X, display

        d = display.Display(self.env["DISPLAY"])
        try:
            screen = d.screen()
            window = screen.root.create_window(0, 0, SCREEN[0], SCREEN[1], 0, screen.root_depth, X.InputOutput,
                                               X.CopyFromParent, background_pixel=screen.white_pixel)
            window.set_wm_name("cover")
            window.map()
            window.raise_window()
            d.sync()
            yield window.id
            window.destroy()
            d.sync()
        finally:
            d.close()

    def stacking(self) -> list[int]:
        """The top-level windows from bottom to top (no window manager here: they are the root's children)."""
        from Xlib import display

        d = display.Display(self.env["DISPLAY"])
        try:
            return [child.id for child in d.screen().root.query_tree().children]
        finally:
            d.close()

    def tray_area(self) -> tuple[int, int, int, int]:
        """``(x, y, width, height)`` of trayer's panel, where embedded icons sit."""
        panel = self.run("xdotool", "search", "--name", "^panel$").stdout.split()[0]
        info = self.run("xwininfo", "-id", panel).stdout
        values = {line.split(":")[0].strip(): line.split(":")[1].strip() for line in info.splitlines() if ":" in line}
        return (int(values["Absolute upper-left X"]), int(values["Absolute upper-left Y"]), int(values["Width"]),
                int(values["Height"]))

    def click(self, x: int, y: int, button: int = 1) -> None:
        self.run("xdotool", "mousemove", str(x), str(y), "click", str(button), check=True)

    def key(self, name: str) -> None:
        self.run("xdotool", "key", name, check=True)

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.run("import", "-window", "root", str(path), check=True)
        return path

    def close(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        shutil.rmtree(self.tmp, ignore_errors=True)


def _bus_has(env: dict[str, str], name: str) -> bool:
    result = subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus",
                             "/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", f"string:{name}"],
                            env=env, capture_output=True, text=True, timeout=10)
    return "true" in result.stdout


def start_desktop_session() -> DesktopSession:
    tmp = Path(tempfile.mkdtemp(prefix="devhelion-desk-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_", "DBUS_", "WAYLAND"))}
    env.update(NO_AT_BRIDGE="1", XDG_RUNTIME_DIR=str(tmp), XDG_CONFIG_HOME=str(tmp / "config"),
               XDG_CACHE_HOME=str(tmp / "cache"), XDG_DATA_HOME=str(tmp / "data"))
    session = DesktopSession(env, tmp)
    try:
        read_fd, write_fd = os.pipe()
        session.procs.append(subprocess.Popen(
            ["Xvfb", "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten", "tcp", "-displayfd", str(write_fd)],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        os.close(write_fd)
        with os.fdopen(read_fd) as reader:
            env["DISPLAY"] = ":" + reader.readline().strip()
        bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                                f"--address=unix:path={tmp}/bus", "--print-address=1"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        session.procs.append(bus)
        assert bus.stdout is not None
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
        session.procs.append(subprocess.Popen(["dunst"], env=env, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))
        wait_for(lambda: _bus_has(env, "org.freedesktop.Notifications"), 15, 0.1, "dunst on the session bus")
        session.procs.append(subprocess.Popen(
            ["trayer", "--edge", "bottom", "--align", "right", "--widthtype", "request", "--height", "32",
             "--SetDockType", "true"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_for(lambda: session.run("xdotool", "search", "--name", "^panel$").stdout.strip(), 15, 0.1,
                 "trayer's panel")
    except BaseException:
        session.close()
        raise
    return session
