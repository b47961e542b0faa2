"""First meaningful paint of every dashboard page and the latency of filter changes, in a real browser, over a
large archive.

    python bench/bench_dashboard.py [--source /tmp/perfw/home-1m/devhelion.db] [--work DIR] [--repeat 5]
                                    [--json out.json]

The source archive (1 M requests by default; ``bench/archivegen.py`` writes others) is copied to ``DIR/home``
and never touched; the copy is reused while the source's size and mtime are unchanged. The server runs as
``python -m desktop serve --no-watch`` with an empty log root, so nothing is ingested while measuring, and
Debian's Chromium (``/usr/bin/chromium``) is driven by Playwright after signing in with the API key.

* First meaningful paint: from the navigation's start (``performance.timeOrigin``) until the page's primary
  section (the one that answers the page's question: the period figures, the session table, ...) holds its
  data and a frame has been painted, measured inside the page. "cold" is the first visit after the server
  started (the server's result cache is empty), "warm" the median of ``--repeat`` later visits.
* Filter change: from the click that applies a new range or project until a frame is painted with the primary
  section's new answer (its generation number changes and it is no longer dimmed), measured inside the page from
  the click event (Playwright's own waits are not counted); the time until every section has its new answer is
  reported next to it. Each change is one the server has not answered before.
* The machine's load average is recorded before and after: figures on a busy machine are not comparable.

Targets: 1.5 s first meaningful paint, 300 ms filter change.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.api_server import free_port  # noqa: E402
from tests.browser_tools import CHROMIUM, FLAGS  # noqa: E402

PAINT_TARGET_MS = 1500.0
FILTER_TARGET_MS = 300.0

# resolves with ms since navigation start once the primary section has its data and a frame was painted
PRIMARY_PAINT = """() => new Promise(resolve => {
  const check = () => {
    const el = document.querySelector('.dh-primary.dh-ready');
    if (el) requestAnimationFrame(() => resolve(performance.now()));
    else requestAnimationFrame(check);
  };
  check();
})"""
GENERATION = "() => { const el = document.querySelector('.dh-primary'); return el ? el.dataset.generation : null; }"
# Armed before a filter change: the time of the user's click (the first click or pointer-up after arming), of the
# frame painted after the primary section shows the new answer (its generation changed, no longer dimmed), and of
# the frame after every section of the page has its new answer. Measured inside the page, so Playwright's own
# waits (actionability, menu animations) are not counted.
ARM = """(before) => {
  const t = window.__dhFilter = {click: null, primary: null, all: null};
  const clicked = () => { if (t.click === null) t.click = performance.now(); };
  document.addEventListener('click', clicked, {capture: true, once: true});
  const check = () => {
    const el = document.querySelector('.dh-primary');
    if (t.primary === null && t.click !== null && el && el.dataset.generation !== before
        && el.classList.contains('dh-ready') && !el.classList.contains('dh-loading')) {
      t.primary = -1; requestAnimationFrame(() => { t.primary = performance.now() - t.click; });
    }
    const sections = [...document.querySelectorAll('.dh-section')];
    if (t.primary !== null && t.all === null
        && sections.every(s => s.classList.contains('dh-ready') && !s.classList.contains('dh-loading'))) {
      t.all = -1; requestAnimationFrame(() => { t.all = performance.now() - t.click; });
      observer.disconnect();
    }
  };
  const observer = new MutationObserver(check);
  observer.observe(document.body, {subtree: true, attributes: true, attributeFilter: ['class', 'data-generation']});
}"""
DONE = "() => { const t = window.__dhFilter; return t && t.primary > 0 && t.all > 0 ? t : null; }"


@dataclass
class Result:
    paint_cold: dict[str, float] = field(default_factory=dict)
    paint_warm: dict[str, list[float]] = field(default_factory=dict)
    filters: dict[str, tuple[float, float]] = field(default_factory=dict)  # (primary, every section) in ms
    setup: dict[str, Any] = field(default_factory=dict)


def prepare_home(source: Path, work: Path) -> Path:
    """A copy of the source archive (and its config) that the benchmark may open and migrate."""
    home = work / "home"
    stamp = work / "source.json"
    stat = source.stat()
    wanted = {"source": str(source), "size": stat.st_size, "mtime": stat.st_mtime}
    if not (home / "devhelion.db").exists() or not stamp.exists() or json.loads(stamp.read_text()) != wanted:
        if home.exists():
            shutil.rmtree(home)
        home.mkdir(parents=True)
        print(f"copying {source} ({stat.st_size / 1e9:.2f} GB) ...", flush=True)
        shutil.copy2(source, home / "devhelion.db")
        config = source.parent / "config.json"
        if config.exists():
            shutil.copy2(config, home / "config.json")
        stamp.write_text(json.dumps(wanted))
    return home


def start_server(home: Path, claude: Path, port: int, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    env.update(DEVHELION_HOME=str(home), CLAUDE_CONFIG_DIR=str(claude), PYTHONUNBUFFERED="1")
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "desktop", "serve", "--no-watch", "--port", str(port)],
                                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(base: str, home: Path, process: subprocess.Popen, timeout: float = 900.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("the server did not start")
        time.sleep(0.2)
    key = (home / "api-key").read_text().strip()
    while True:
        status = httpx.get(f"{base}/api/sync/status", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        data = status.json()["data"]
        if not data["isRunning"] and data["lastSync"] is not None:
            return key
        if time.monotonic() > deadline:
            raise TimeoutError("the start-up sync did not finish")
        time.sleep(0.2)


def data_window(base: str, key: str) -> tuple[date, str | None]:
    """The last day with requests, and the project of the latest session (for the project views)."""
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    overview = client.get("/api/analytics/overview").json()["data"]
    last = date.fromisoformat(overview["dateRange"]["to"][:10])
    sessions = client.get("/api/sessions", params={"limit": 1}).json()["sessions"]
    project = sessions[0]["project_path"] if sessions else None
    return last, project


def pages(last: date, project: str | None, session_id: str | None) -> dict[str, str]:
    window = {"from": (last - timedelta(days=29)).isoformat(), "to": last.isoformat()}
    query = "?" + urlencode(window)
    found = {name: f"/{path}{query}" for name, path in (
        ("overview", ""), ("sessions", "sessions"), ("projects", "projects"), ("models", "models"),
        ("tools", "tools"), ("errors", "errors"), ("efficiency", "efficiency"), ("activity", "activity"))}
    if project:
        found["project"] = "/projects?" + urlencode({**window, "project": project})
    if session_id:
        found["session"] = f"/sessions/{session_id}"
    found.update({"live": "/live", "budgets": "/budgets", "insights": "/insights", "settings": "/settings"})
    return found


def measure(base: str, key: str, repeat: int, result: Result) -> None:
    from playwright.sync_api import sync_playwright

    last, project = data_window(base, key)
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    top = client.get("/api/sessions", params={"limit": 1, "from": last.isoformat()}).json()["sessions"]
    targets = pages(last, project, top[0]["id"] if top else None)
    result.setup.update(last_day=last.isoformat(), project=project)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.goto(base + "/auth/login")
        page.fill("#key", key)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        for name, path in targets.items():
            page.goto(base + path, wait_until="commit")
            result.paint_cold[name] = page.evaluate(PRIMARY_PAINT)
            print(f"  {name:<11} cold {result.paint_cold[name]:7.0f} ms", flush=True)
        for name, path in targets.items():
            times = []
            for _ in range(repeat):
                page.goto(base + path, wait_until="commit")
                times.append(page.evaluate(PRIMARY_PAINT))
            result.paint_warm[name] = times
        filter_changes(page, base, last, project, result)
        browser.close()


def _timed(page: Any, action: Any) -> tuple[float, float]:
    """In-page milliseconds from the click to the painted new primary answer, and to every section's."""
    time.sleep(0.4)  # menus and dialogs finish opening (the user sees them before clicking)
    page.evaluate(ARM, page.evaluate(GENERATION))
    action()
    times = page.wait_for_function(DONE, timeout=60_000, polling="raf").json_value()
    return times["primary"], times["all"]


def _custom(page: Any, first: date, last: date) -> None:
    if page.get_by_test_id("range-label").is_visible():  # a custom range already: its label opens the dialog
        page.get_by_test_id("range-label").click()
    else:
        page.get_by_test_id("range").click()
        page.get_by_role("option", name="Custom dates…").click()
    for testid, value in (("date-from", first), ("date-to", last)):
        page.locator(f"input[data-testid={testid}], [data-testid={testid}] input").first.fill(value.isoformat())


def filter_changes(page: Any, base: str, last: date, project: str | None, result: Result) -> None:
    """Changes the server has not answered before, on the overview and the models page."""
    for page_path in ("/", "/models"):
        window = {"from": (last - timedelta(days=29)).isoformat(), "to": last.isoformat()}
        page.goto(base + page_path + "?" + urlencode(window))
        page.wait_for_selector(".dh-primary.dh-ready")
        label = page_path.strip("/") or "overview"
        for days in (7, 90):
            _custom(page, last - timedelta(days=days - 1), last)
            result.filters[f"{label}: custom {days} days"] = _timed(
                page, lambda: page.get_by_test_id("date-apply").click())
        for preset in ("Last 12 months", "All time"):
            page.get_by_test_id("range").click()
            option = page.get_by_role("option", name=preset)
            option.wait_for()
            result.filters[f"{label}: {preset.lower()}"] = _timed(page, option.click)
        if project:
            page.get_by_test_id("project").click()
            option = page.get_by_role("option").nth(1)  # the project with the most sessions
            option.wait_for()
            result.filters[f"{label}: one project"] = _timed(page, option.click)
        for name, (primary, every) in result.filters.items():
            if name.startswith(label):
                print(f"  {name:<32} {primary:7.0f} ms (every section {every:.0f} ms)", flush=True)


def report(result: Result) -> str:
    lines = [f"| page | first paint, cold (ms) | first paint, warm median (ms) | target {PAINT_TARGET_MS:.0f} ms |",
             "|---|---|---|---|"]
    for name, cold in result.paint_cold.items():
        warm = statistics.median(result.paint_warm.get(name) or [cold])
        verdict = "met" if max(cold, warm) <= PAINT_TARGET_MS else "warm met" if warm <= PAINT_TARGET_MS else \
            "missed"
        lines.append(f"| {name} | {cold:.0f} | {warm:.0f} | {verdict} |")
    lines += ["", f"| filter change | primary answer painted (ms) | every section painted (ms) | "
                  f"target {FILTER_TARGET_MS:.0f} ms |",
              "|---|---|---|---|"]
    for name, (primary, every) in result.filters.items():
        lines.append(f"| {name} | {primary:.0f} | {every:.0f} | {'met' if primary <= FILTER_TARGET_MS else 'missed'} |")
    load = result.setup.get("load")
    if load:
        lines += ["", "load average (1, 5, 15 min) before / after: " + " / ".join(
            ", ".join(f"{x:.2f}" for x in value) for value in load.values())
                  + f" on {os.cpu_count()} CPUs"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=Path("/tmp/perfw/home-1m/devhelion.db"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/devhelion-bench-dashboard"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: apt install chromium", file=sys.stderr)
        return 2
    home = prepare_home(args.source.resolve(), args.work)
    claude = args.work / "claude-empty"
    claude.mkdir(exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    process = start_server(home, claude, port, args.work / "server.log")
    result = Result()
    try:
        key = wait_ready(base, home, process)
        result.setup["server_start_s"] = round(time.monotonic() - started, 1)
        result.setup["sessions"] = httpx.get(f"{base}/api/sync/stats", headers={"Authorization": f"Bearer {key}"},
                                             timeout=60).json()["data"]["totalSessions"]
        print(f"server ready in {result.setup['server_start_s']} s on {base}", flush=True)
        result.setup["load"] = {"before": os.getloadavg()}
        measure(base, key, args.repeat, result)
        result.setup["load"]["after"] = os.getloadavg()
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
    print()
    print(report(result))
    if args.json:
        args.json.write_text(json.dumps({"paint_cold_ms": result.paint_cold, "paint_warm_ms": result.paint_warm,
                                         "filter_change_ms": result.filters, "setup": result.setup}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
