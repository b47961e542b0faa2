"""Memory of the desktop app: the server/tray process idle with the window closed, and the window's process tree.

    python bench/bench_desktop_memory.py [--settle 10] [--idle 15] [--claude-dir DIR] [--gui qt|gtk] [--xvfb]
                                         [--json out.json]

Starts ``devhelion app`` on a scratch ``DEVHELION_HOME`` (an empty archive, or your transcripts with
``--claude-dir ~/.claude``: they are only read), on your display, or, without one or with ``--xvfb``, on a private
Xvfb with a D-Bus session bus, dunst and trayer (the tools ``scripts/test`` installs). Then:

1. waits until the dashboard in the window is connected, lets it settle ``--settle`` seconds and measures the
   window's process tree (pywebview's process and its browser-engine helpers): RSS, PSS and USS of each process;
2. closes the window as its close button does (``WM_DELETE_WINDOW``; X11 only, else the window process is
   terminated) and waits until its processes are gone;
3. samples the app process (server, watcher, tray) once a second for ``--idle`` seconds: RSS, PSS and USS, the
   last sample and the largest.

Target (issue 6): the app process <= 250 MB RSS idle with the window closed. The exit status is 1 above it.
With ``--xvfb`` the app is the first one on a fresh X session, which costs more than a later start in a
desktop session already running (GTK's caches): read it as the high end.
RSS counts shared libraries in full in every process, so the window tree's RSS sum counts them several times;
PSS splits shared pages between the processes that map them, so PSS sums add up (reading PSS needs the same user).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.api_server import free_port  # noqa: E402
from tests.desktop_session import wait_for  # noqa: E402

TITLE = "Devhelion"
TARGET_SERVER_RSS_MB = 250
MB = 2**20


def memory(process: psutil.Process) -> dict[str, Any]:
    try:
        info = process.memory_full_info()
        return {"pid": process.pid, "name": process.name(), "rss_mb": round(info.rss / MB, 1),
                "pss_mb": round(info.pss / MB, 1), "uss_mb": round(info.uss / MB, 1)}
    except psutil.AccessDenied:  # PSS/USS need /proc/<pid>/smaps
        return {"pid": process.pid, "name": process.name(), "rss_mb": round(process.memory_info().rss / MB, 1),
                "pss_mb": None, "uss_mb": None}


def tree_memory(pid: int) -> list[dict[str, Any]]:
    root = psutil.Process(pid)
    out = []
    for process in (root, *root.children(recursive=True)):
        with contextlib.suppress(psutil.NoSuchProcess):
            out.append(memory(process))
    return out


def total(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [row[key] for row in rows]
    return None if any(v is None for v in values) else round(sum(values), 1)


def maps_qt(pid: int) -> bool:
    """Whether the process has Qt loaded (the app process should not: Qt lives in the window process only)."""
    try:
        return "libQt6" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def close_window_x11(display_name: str | None, title: str = TITLE) -> bool:
    """Send WM_DELETE_WINDOW to every viewable top-level window titled ``title`` (what a close button does)."""
    try:
        from Xlib import X, display, protocol
    except ImportError:
        return False
    try:
        d = display.Display(display_name)
    except Exception:
        return False
    try:
        net_wm_name, utf8 = d.intern_atom("_NET_WM_NAME"), d.intern_atom("UTF8_STRING")
        found = []

        def walk(window: Any) -> None:
            for child in window.query_tree().children:
                try:
                    name = child.get_full_property(net_wm_name, utf8)
                    text = name.value.decode() if name is not None else child.get_wm_name()
                    if text == title and child.get_attributes().map_state == X.IsViewable:
                        found.append(child)
                    walk(child)
                except Exception:  # a window went away meanwhile
                    continue

        walk(d.screen().root)
        for window in found:
            event = protocol.event.ClientMessage(window=window, client_type=d.intern_atom("WM_PROTOCOLS"),
                                                 data=(32, [d.intern_atom("WM_DELETE_WINDOW"), X.CurrentTime, 0, 0,
                                                            0]))
            window.send_event(event, event_mask=X.NoEventMask)
        d.flush()
        return bool(found)
    finally:
        d.close()


def run(args: argparse.Namespace) -> dict[str, Any]:
    session = None
    scratch = Path(tempfile.mkdtemp(prefix="devhelion-bench-mem-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    if args.xvfb or not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")):
        from tests.desktop_session import missing_requirements, start_desktop_session

        missing = missing_requirements()
        if missing:
            raise SystemExit(f"no display, and the private desktop needs: {', '.join(missing)}")
        session = start_desktop_session()
        env = {**session.env, "PYSTRAY_BACKEND": "gtk"}
    home = scratch / "home"
    home.mkdir()
    if args.claude_dir:
        claude = Path(args.claude_dir).expanduser()
    else:
        claude = scratch / "claude"
        (claude / "projects").mkdir(parents=True)
    env.update(DEVHELION_HOME=str(home), CLAUDE_CONFIG_DIR=str(claude), PYTHONUNBUFFERED="1")
    if args.gui:
        env["DEVHELION_WEBVIEW_GUI"] = args.gui
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = scratch / "app.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        app = subprocess.Popen([sys.executable, "-m", "desktop", "app", "--port", str(port)], cwd=REPO, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    result: dict[str, Any] = {}
    try:
        def serving() -> bool:
            if app.poll() is not None:
                raise RuntimeError(f"the app exited with {app.returncode}:\n{log_path.read_text(errors='replace')}")
            try:
                return httpx.get(f"{base}/api/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(serving, 120, what="the app's server")
        headers = {"Authorization": f"Bearer {(home / 'api-key').read_text().strip()}"}

        def status() -> dict[str, Any]:
            return httpx.get(f"{base}/api/app/status", headers=headers, timeout=10).json()["data"]

        wait_for(lambda: status()["window"]["open"] and status()["dashboard_clients"] >= 1, 120,
                 what="the dashboard to connect in the window")
        result["launch_to_dashboard_connected_s"] = round(time.monotonic() - started, 1)
        time.sleep(args.settle)
        window_pid = status()["window"]["pid"]
        window = tree_memory(window_pid)
        result["window_tree"] = window
        result["window_tree_total"] = {"rss_mb": total(window, "rss_mb"), "pss_mb": total(window, "pss_mb"),
                                       "uss_mb": total(window, "uss_mb")}
        result["app_process_window_open"] = memory(psutil.Process(app.pid))
        window_pids = {row["pid"] for row in window}

        how = "WM_DELETE_WINDOW"
        if not close_window_x11(env.get("DISPLAY")):
            how = "SIGTERM to the window process (no X11 window found)"
            os.kill(window_pid, signal.SIGTERM)
        wait_for(lambda: not status()["window"]["open"] and not any(psutil.pid_exists(p) and
                                                                    psutil.Process(p).status() != "zombie"
                                                                    for p in window_pids),
                 30, what="the window's processes to end")
        result["window_closed_by"] = how

        samples = []
        server = psutil.Process(app.pid)
        for _ in range(max(1, int(args.idle))):
            time.sleep(1)
            samples.append(memory(server))
        result["app_process_idle_window_closed"] = {
            "last": samples[-1],
            "max_rss_mb": max(s["rss_mb"] for s in samples),
            "max_pss_mb": None if samples[-1]["pss_mb"] is None else max(s["pss_mb"] for s in samples),
            "children": [f"{p.pid} {p.name()}" for p in server.children(recursive=True)],
            "maps_qt": maps_qt(app.pid),
        }
        result["idle_seconds"] = int(args.idle)
        result["cpu_count"] = os.cpu_count()
        result["load_1min"] = round(os.getloadavg()[0], 2)
    finally:
        if app.poll() is None:
            app.send_signal(signal.SIGTERM)
            try:
                app.wait(60)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait(10)
        if session is not None:
            session.close()
        if args.keep:
            print(f"kept {scratch} (app log: {log_path})", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return result


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def report(result: dict[str, Any]) -> str:
    lines = [f"dashboard connected in the window {result['launch_to_dashboard_connected_s']} s after launch "
             f"(load {result['load_1min']} on {result['cpu_count']} cores)", "",
             "window process tree (open, idle)            RSS MB    PSS MB    USS MB"]
    for row in result["window_tree"]:
        lines.append(f"  {row['pid']:>7} {row['name']:<32} {fmt(row['rss_mb']):>8}  {fmt(row['pss_mb']):>8}  "
                     f"{fmt(row['uss_mb']):>8}")
    t = result["window_tree_total"]
    lines.append(f"  {'total':<40} {fmt(t['rss_mb']):>8}  {fmt(t['pss_mb']):>8}  {fmt(t['uss_mb']):>8}")
    o = result["app_process_window_open"]
    lines += ["", f"app process (server + tray), window open     {fmt(o['rss_mb']):>8}  {fmt(o['pss_mb']):>8}  "
                  f"{fmt(o['uss_mb']):>8}"]
    idle = result["app_process_idle_window_closed"]
    last = idle["last"]
    lines.append(f"app process, window closed, idle {result['idle_seconds']} s     {fmt(last['rss_mb']):>8}  "
                 f"{fmt(last['pss_mb']):>8}  {fmt(last['uss_mb']):>8}   (max RSS {fmt(idle['max_rss_mb'])})")
    verdict = "OK" if idle["max_rss_mb"] <= TARGET_SERVER_RSS_MB else "OVER"
    lines += [f"  target <= {TARGET_SERVER_RSS_MB} MB RSS: {verdict}; window closed by {result['window_closed_by']}; "
              f"child processes left: {len(idle['children'])}; Qt loaded in the app process: {idle['maps_qt']}"]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settle", type=float, default=10.0, help="seconds after the dashboard connects")
    parser.add_argument("--idle", type=float, default=15.0, help="seconds sampled once the window is closed")
    parser.add_argument("--claude-dir", help="a Claude Code config folder to read (default: an empty one)")
    parser.add_argument("--gui", choices=("qt", "gtk"), help="pywebview backend (default: the app's choice)")
    parser.add_argument("--xvfb", action="store_true", help="use a private Xvfb even if a display is set")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder and the app's log")
    args = parser.parse_args()
    result = run(args)
    print(report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["app_process_idle_window_closed"]["max_rss_mb"] <= TARGET_SERVER_RSS_MB else 1


if __name__ == "__main__":
    sys.exit(main())
