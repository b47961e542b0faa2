"""Settings (``/settings``): where the data lives and which folders are read, time zone and week start, prices
(overrides and the models without one), API keys, the Claude Code hooks and statusline, notifications, exports
and the theme. Changes are validated by ``store.config`` and applied without a restart, as ``POST /api/config``
does."""

from __future__ import annotations

import contextlib
import functools
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import orjson
from nicegui import app, run, ui

from desktop.claude_settings import read_settings, settings_path
from store.analytics.sync import archive_stats, last_run
from store.config import ConfigError, load_settings, save_settings, update_settings
from store.dashboard.catalog import unpriced_models
from store.export import FORMATS, export_stream, file_name, make_export_scope
from store.keys import KeyStoreError
from store.paths import data_home, default_config_dirs
from store.sync_runner import SyncInProgress
from ui import fmt, widgets
from ui.context import Ctx, archive, make_ctx
from ui.filters import PRESETS, DashFilter
from ui.layout import Frame
from ui.pages.common import sync_now
from ui.theme import THEMES, save_theme, theme

WEEKDAYS = {0: "Monday", 1: "Tuesday", 2: "Wednesday", 3: "Thursday", 4: "Friday", 5: "Saturday", 6: "Sunday"}
REPO_ROOT = Path(__file__).resolve().parents[2]


def load_overview(ctx: Ctx) -> dict[str, Any]:
    a = ctx.archive
    return {"stats": archive_stats(ctx.db, a.path, a.settings.retention_days), "last": last_run(ctx.db),
            "unpriced": unpriced_models(ctx.db, ctx.prices), "keys": [k.as_json() for k in app.state.keys.list()],
            "integration": integration_status()}


def integration_status() -> dict[str, Any]:
    """Hooks and statusline as ``devhelion hooks status`` reports them (an unreadable settings file says so)."""
    from desktop.cli_live import status_report

    try:
        current = read_settings(settings_path())
    except Exception as exc:  # an invalid settings.json is reported, never touched
        return {"error": str(exc), "path": str(settings_path())}
    return {**status_report(current.data), "path": str(current.path)}


def apply_changes(changes: dict[str, Any]) -> None:
    """Validate, save to config.json and apply at once (new roots are watched and read)."""
    a = archive()
    new = update_settings(load_settings(), changes)
    save_settings(new)
    old_roots = list(a.roots)
    a.apply_settings(new)
    live = getattr(app.state, "live", None)
    if live is not None and a.roots != old_roots:
        live.roots_changed()
    if a.roots != old_roots:
        with contextlib.suppress(SyncInProgress):
            app.state.sync.start()


def run_cli(*args: str) -> tuple[bool, str]:
    """``devhelion <args>`` (hooks and statusline installs keep their backups and checks in one place)."""
    done = subprocess.run([sys.executable, "-m", "desktop", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60)
    return done.returncode == 0, (done.stdout + done.stderr).strip()


def export_file(fmt_name: str, preset: str) -> tuple[Path, str]:
    """Write an export of the preset range to a temporary file; returns it and its download name."""
    ctx = make_ctx(DashFilter(preset))
    since, until = ctx.dates()
    es = make_export_scope(ctx.tz, since.isoformat() if since else None, until.isoformat() if until else None)
    name = file_name(es, FORMATS[fmt_name].extension)
    target = Path(tempfile.mkdtemp(prefix="devhelion-export-")) / name
    with open(target, "wb") as out:
        for chunk in export_stream(ctx.archive.path, ctx.prices, es, fmt_name):
            out.write(chunk)
    return target, name


class SettingsPage:
    def __init__(self, frame: Frame) -> None:
        self.frame = frame

    def render(self, data: dict[str, Any], ctx: Ctx) -> None:
        with ui.grid().classes("w-full gap-4 grid-cols-1 xl:grid-cols-2"):
            self._data(data, ctx)
            self._roots(ctx)
            self._time(ctx)
            self._prices(data, ctx)
            self._keys(data, ctx)
            self._integration(data)
            self._notifications(ctx)
            self._export_and_theme()

    async def _save(self, changes: dict[str, Any], what: str) -> None:
        try:
            await run.io_bound(apply_changes, changes)
        except ConfigError as exc:
            ui.notify(f"{what} not saved: {exc}", type="negative", multi_line=True)
            return
        ui.notify(f"{what} saved", type="positive")

    def _data(self, data: dict[str, Any], ctx: Ctx) -> None:
        stats, last = data["stats"], data["last"]
        with widgets.card().mark("settings-data"):
            widgets.heading("Your archive", "Everything Devhelion read, kept in one SQLite file; nothing leaves this "
                            "machine.")
            rows = [("Location", str(ctx.archive.path)), ("Size", stats["databaseSize"]),
                    ("Sessions", fmt.integer(stats["totalSessions"])),
                    ("Requests", fmt.integer(stats.get("totalRequests"))),
                    ("Oldest session", fmt.iso_local(stats["oldestSession"], ctx.tz)),
                    ("Retention", f"{stats.get('retentionDays')} days" if stats.get("retentionDays")
                     else "keep everything"),
                    ("Last sync", f"{fmt.iso_local(last['lastSync'], ctx.tz)} ({last['lastSyncStatus'] or '–'})"
                     if last["lastSync"] else "never")]
            for label, value in rows:
                with ui.row().classes("w-full justify-between text-sm no-wrap gap-4"):
                    ui.label(label).classes("dh-muted")
                    ui.label(value).classes("text-right break-all")

            ui.button("Sync now", icon="sync", on_click=sync_now).props("flat no-caps")

    def _roots(self, ctx: Ctx) -> None:
        s = ctx.archive.settings
        with widgets.card():
            widgets.heading("Log folders", "Claude Code config folders whose projects/ Devhelion reads: "
                            "CLAUDE_CONFIG_DIR (or ~/.claude and ~/.config/claude) plus the extra ones below.")
            for root in ctx.archive.roots:
                ui.label(str(root)).classes("dh-mono")
            ui.label("Defaults: " + ", ".join(str(p) for p in default_config_dirs())).classes("text-xs dh-muted")
            extra = ui.input_chips("Extra folders", value=list(s.extra_roots)).props("outlined dense") \
                .classes("w-full").mark("extra-roots")
            ui.button("Save folders", on_click=lambda: self._save({"extra_roots": list(extra.value)}, "Folders")) \
                .props("flat no-caps")

    def _time(self, ctx: Ctx) -> None:
        s = ctx.archive.settings
        with widgets.card():
            widgets.heading("Time zone and week", "Days, weeks and months of every report and budget follow this "
                            "zone (daylight saving included).")
            zones = {"": f"This machine's zone ({getattr(ctx.tz, 'key', ctx.tz)})",
                     **{z: z for z in zone_names()}}
            zone = ui.select(zones, value=s.timezone or "", with_input=True, label="Time zone") \
                .props("outlined dense options-dense").classes("w-full").mark("timezone")
            week = ui.select(WEEKDAYS, value=s.start_of_week, label="Reports start weeks on") \
                .props("outlined dense").classes("w-full")
            ui.button("Save time settings", on_click=lambda: self._save(
                {"timezone": zone.value or None, "start_of_week": week.value}, "Time settings")).props("flat no-caps")

    def _prices(self, data: dict[str, Any], ctx: Ctx) -> None:
        s = ctx.archive.settings
        with widgets.card():
            widgets.heading("Prices", "Costs are computed when you look, from the bundled dated price table plus "
                            "your overrides (US$ per million tokens). A model without a price is reported as "
                            "unpriced, never as $0.")
            ui.label(f"Price table: {ctx.prices.version}").classes("text-sm")
            if data["unpriced"]:
                ui.label("Models without a price: " + ", ".join(data["unpriced"])).classes("text-sm text-warning") \
                    .mark("unpriced")
            else:
                ui.label("Every model in the archive has a price.").classes("text-sm dh-muted")
            text = orjson.dumps(s.price_overrides, option=orjson.OPT_INDENT_2).decode() if s.price_overrides else ""
            overrides = ui.textarea("Price overrides (JSON)", value=text,
                                    placeholder='{"claude-opus-5": {"input": "5", "output": "25"}}') \
                .props("outlined autogrow").classes("w-full dh-mono").mark("price-overrides")

            async def save() -> None:
                try:
                    value = orjson.loads(overrides.value) if (overrides.value or "").strip() else {}
                except orjson.JSONDecodeError as exc:
                    ui.notify(f"Not valid JSON: {exc}", type="negative")
                    return
                await self._save({"price_overrides": value}, "Price overrides")

            ui.button("Save overrides", on_click=save).props("flat no-caps")

    def _keys(self, data: dict[str, Any], ctx: Ctx) -> None:
        with widgets.card().mark("settings-keys"):
            widgets.heading("API keys", "Keys for the local API and /ws. A new key is shown once; revoked keys stop "
                            "working at once. The local key (in the data folder) is used by hooks and the statusline.")
            for key in data["keys"]:
                with ui.row().classes("w-full items-center justify-between no-wrap text-sm gap-2"):
                    expires = fmt.iso_local(key["expires_at"], ctx.tz)[:10] if key["expires_at"] else "never"
                    with ui.column().classes("gap-0 min-w-0"):
                        ui.label(f"{key['name']} · {key['prefix']}…").classes("font-medium truncate")
                        ui.label(f"{key['status']} · created {fmt.iso_local(key['created_at'], ctx.tz)[:10]} · "
                                 f"expires {expires}").classes("text-xs dh-muted")
                    if key["status"] == "active" and not key["local"]:
                        ui.button("Revoke", on_click=lambda k=key: self._revoke(k)).props("flat dense no-caps "
                                                                                           "color=negative")
            with ui.row().classes("items-center gap-2"):
                name = ui.input("New key name").props("outlined dense").classes("w-56").mark("key-name")
                ui.button("Create key", icon="key", on_click=lambda: self._create_key(name.value)) \
                    .props("flat no-caps").mark("key-create")

    async def _create_key(self, name: str) -> None:
        try:
            secret, info = await run.io_bound(app.state.keys.create, name or "dashboard")
        except KeyStoreError as exc:
            ui.notify(str(exc), type="negative")
            return
        with ui.dialog() as dialog, ui.card().classes("gap-3 p-5 max-w-xl"):
            ui.label(f"New key “{info.name}”").classes("dh-h2")
            ui.label("Copy it now: it is not shown again.").classes("text-sm")
            ui.label(secret).classes("dh-mono dh-soft p-2 w-full").mark("new-key")
            with ui.row().classes("justify-end w-full gap-2"):
                ui.button("Copy", icon="content_copy", on_click=lambda: ui.clipboard.write(secret)).props("flat")
                ui.button("Done", on_click=dialog.close)
        await dialog
        dialog.delete()
        await self.frame.reload()

    async def _revoke(self, key: dict[str, Any]) -> None:
        await run.io_bound(app.state.keys.revoke, key["id"])
        ui.notify(f"Key {key['name']} revoked")
        await self.frame.reload()

    def _integration(self, data: dict[str, Any]) -> None:
        status = data["integration"]
        with widgets.card().mark("settings-integration"):
            widgets.heading("Claude Code hooks and statusline", "Hooks send tool calls, prompts and session events "
                            "as they happen; the statusline shows cost and records your real plan quota.")
            ui.label(f"Settings file: {status.get('path')}").classes("text-xs dh-muted break-all")
            if "error" in status:
                ui.label(f"Cannot read it: {status['error']}").classes("text-sm text-negative")
                return
            events = status.get("events") or {}
            ui.label(f"Hooks: {len(events)} events go to Devhelion" if events else "Hooks: not installed") \
                .classes("text-sm").mark("hooks-status")
            line = status.get("statusline") or {}
            ui.label("Statusline: installed" + (f" (after `{line['chained']}`)" if line.get("chained") else "")
                     if line.get("installed") else "Statusline: not installed").classes("text-sm")
            with ui.row().classes("gap-2"):
                for label, args in (("Install hooks", ("hooks", "install")), ("Remove hooks", ("hooks", "uninstall")),
                                    ("Install statusline", ("statusline", "install")),
                                    ("Remove statusline", ("statusline", "uninstall"))):
                    ui.button(label, on_click=lambda a=args: self._cli(a)).props("flat dense no-caps")

    async def _cli(self, args: tuple[str, ...]) -> None:
        ok, output = await run.io_bound(run_cli, *args)
        ui.notify(output or ("Done" if ok else "Failed"), type="positive" if ok else "negative", multi_line=True)
        await self.frame.reload()

    def _notifications(self, ctx: Ctx) -> None:
        n = ctx.archive.settings.notifications
        with widgets.card():
            widgets.heading("Notifications", "Desktop notifications for budgets (set them on the Budgets page), a "
                            "daily spend threshold and failed syncs; quiet hours hold budget notifications back.")
            enabled = ui.switch("Notifications on", value=n.enabled)
            limit = ui.input("Notify when a day's spend passes (US$)", value=n.daily_cost_limit_usd or "") \
                .props("outlined dense").classes("w-full")
            sync_errors = ui.switch("Notify about failed syncs", value=n.sync_errors)
            quiet = ui.input("Quiet hours (HH:MM-HH:MM)", value=n.quiet_hours or "").props("outlined dense") \
                .classes("w-full")
            ui.button("Save notifications", on_click=lambda: self._save({"notifications": {
                "enabled": bool(enabled.value), "daily_cost_limit_usd": (limit.value or "").strip() or None,
                "sync_errors": bool(sync_errors.value), "quiet_hours": (quiet.value or "").strip() or None}},
                "Notifications")).props("flat no-caps")

    def _export_and_theme(self) -> None:
        with widgets.card():
            widgets.heading("Export", "Sessions, requests and tool calls with their costs: JSON, a ZIP of CSV files, "
                            "or a self-contained HTML report.")
            with ui.row().classes("items-center gap-2"):
                kind = ui.select({name: name.upper() for name in FORMATS}, value="html", label="Format") \
                    .props("outlined dense").classes("w-32")
                preset = ui.select(PRESETS, value="30d", label="Range").props("outlined dense").classes("w-44")

                async def export() -> None:
                    ui.notify("Preparing the export…")
                    path, name = await run.io_bound(export_file, kind.value, preset.value)
                    ui.download.file(path, name)

                ui.button("Export", icon="download", on_click=export).props("unelevated no-caps")
            ui.separator()
            widgets.heading("Appearance", "Light or dark theme for the dashboard (also: press d).")

            async def set_theme(value: str) -> None:
                await run.io_bound(save_theme, value)
                ui.navigate.reload()

            ui.toggle({t: t.capitalize() for t in THEMES}, value=theme(), on_change=lambda e: set_theme(e.value)) \
                .props("no-caps").mark("theme")
            ui.label(f"Data folder: {data_home()}").classes("text-xs dh-muted break-all")


def register() -> None:
    @ui.page("/settings", title="Settings · Devhelion")
    async def page() -> None:
        frame = Frame("/settings", "Settings", filters=False, explain="Folders, time zone, prices, keys, Claude "
                      "Code integration, notifications, exports and appearance.")
        view = SettingsPage(frame)
        with frame.content:
            frame.section("settings", load_overview, view.render, height="h-96", classes="dh-primary", cache=False,
                          live=False)
        await frame.start()


@functools.cache
def zone_names() -> list[str]:
    """Every IANA zone, sorted: read from disk once (about 600 files without tzdata), not on every render."""
    return sorted(available_timezones())
