"""``devhelion hooks|hook|statusline``: connect Claude Code to Devhelion through its settings file.

Only click is imported here (the CLI's start-up stays fast); the work is in ``desktop.claude_settings`` (the
settings file), ``desktop.hook_relay`` and ``desktop.statusline`` (the commands Claude Code runs, which Claude
Code reaches through ``python -m desktop`` without this module).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from desktop.claude_settings import SettingsFile

SETTINGS_OPTION = click.option("--settings", "settings_file", type=click.Path(dir_okay=False, path_type=Path),
                               help="Claude Code settings file (default: settings.json of the config dir in use).")
RESTART_NOTE = "Claude Code reads hooks when a session starts: restart running sessions (or review them in /hooks)."


def _fail(message: str) -> NoReturn:
    click.echo(f"devhelion: {message}", err=True)
    sys.exit(2)


def _read(settings_file: Path | None) -> SettingsFile:
    from desktop.claude_settings import SettingsFileError, read_settings, settings_path

    try:
        return read_settings(settings_file or settings_path())
    except SettingsFileError as exc:
        _fail(str(exc))


def _write(current: SettingsFile, data: dict[str, Any], private: bool = False) -> None:
    from desktop.claude_settings import SettingsFileError, write_settings

    try:
        backup = write_settings(current, data, private=private)
    except (SettingsFileError, OSError) as exc:
        _fail(str(exc))
    click.echo(f"Updated {current.path}" + (f" (previous version kept as {backup.name})" if backup else ""))


# -- hooks -----------------------------------------------------------------------------------------------


@click.group()
def hooks() -> None:
    """Send Claude Code's hook events (tool calls, prompts, sessions...) to Devhelion as they happen."""


@hooks.command("install")
@click.option("--command", "use_command", is_flag=True,
              help="Use the command-hook relay (`devhelion hook`) everywhere, for Claude Code before 2.1.63.")
@click.option("--port", type=click.IntRange(1, 65535), help="The app's port (default: the running app's, or 8787).")
@click.option("--events", help="Comma-separated hook events instead of the default set (any name Claude Code knows).")
@click.option("--key-env", metavar="VAR",
              help="Authorise with Claude Code's environment variable VAR instead of writing the API key into "
                   "the settings file (VAR must hold the key wherever Claude Code runs).")
@SETTINGS_OPTION
def hooks_install(use_command: bool, port: int | None, events: str | None, key_env: str | None,
                  settings_file: Path | None) -> None:
    """Add Devhelion's hooks next to your own (idempotent; a backup is kept before any change)."""
    from desktop import claude_settings as cs
    from desktop.relay import DEFAULT_PORT, app_port

    current = _read(settings_file)
    names = [e.strip() for e in events.split(",") if e.strip()] if events else None
    if names is not None and not names:
        _fail("--events names no event")
    http = None
    if not use_command:
        if key_env and not key_env.replace("_", "").isalnum():
            _fail(f"--key-env {key_env!r} is not an environment variable name")
        http = cs.http_handler(port or app_port() or DEFAULT_PORT, key=None if key_env else _api_key(),
                               key_env=key_env)
    try:
        plan = cs.hook_plan(names or (cs.COMMAND_EVENTS if use_command else cs.HTTP_EVENTS), http)
        updated = cs.install_hooks(current.data, plan)
    except (ValueError, cs.SettingsFileError) as exc:
        _fail(str(exc))
    if updated == current.data:
        click.echo(f"Devhelion hooks are already installed in {current.path}; nothing changed.")
        return
    _write(current, updated, private=http is not None and not key_env)
    relayed = sorted(e for e, h in plan.items() if h["type"] == "command")
    if http is not None:
        how = f"HTTP to {http['url']}" + (f"; command relay for {', '.join(relayed)}" if relayed else "")
    else:
        how = "command relay `devhelion hook`"
    click.echo(f"Hooks installed for {len(plan)} events ({how}).")
    if http is not None and not key_env:
        click.echo("The hooks carry the local API key, so the settings file is now readable by you only.")
    if current.data.get("disableAllHooks") is True:
        click.echo("Note: 'disableAllHooks' is true in this file, so Claude Code runs no hooks at all.")
    click.echo(RESTART_NOTE)


@hooks.command("uninstall")
@SETTINGS_OPTION
def hooks_uninstall(settings_file: Path | None) -> None:
    """Remove Devhelion's hooks, and only them."""
    from desktop.claude_settings import uninstall_hooks

    current = _read(settings_file)
    updated, removed = uninstall_hooks(current.data)
    if not removed:
        click.echo(f"No Devhelion hooks in {current.path}; nothing changed.")
        return
    _write(current, updated)
    click.echo(f"Removed {removed} Devhelion hook{'s' if removed != 1 else ''}. {RESTART_NOTE}")


@hooks.command("status")
@SETTINGS_OPTION
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def hooks_status(settings_file: Path | None, as_json: bool) -> None:
    """Which events reach Devhelion, how, and whether the statusline relay is on."""
    current = _read(settings_file)
    report = status_report(current.data)
    report["settings"] = str(current.path)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"Settings: {current.path}" + ("" if current.original is not None else " (does not exist)"))
    if not report["events"]:
        click.echo("Hooks: not installed (`devhelion hooks install`)")
    for event, handlers in report["events"].items():
        for h in handlers:
            click.echo(f"  {event:<20} {h['via']}" + (f"  [{h['problem']}]" if h.get("problem") else ""))
    if report["disableAllHooks"]:
        click.echo("Warning: 'disableAllHooks' is true: Claude Code runs no hooks.")
    line = report["statusline"]
    click.echo("Statusline: " + ("Devhelion" + (f" (chained after `{line['chained']}`)" if line["chained"] else "")
                                 if line["installed"] else "not installed (`devhelion statusline install`)"))
    if line.get("problem"):
        click.echo(f"  [{line['problem']}]")
    if line["lastRefresh"]:
        click.echo(f"  last refreshed {line['lastRefresh']}" + (f"; error: {line['error']}" if line["error"] else ""))


def status_report(settings: dict[str, Any]) -> dict[str, Any]:
    from desktop.claude_settings import chained_command, is_our_statusline, our_hooks

    key = _current_key()
    events: dict[str, list[dict[str, Any]]] = {}
    for event, handlers in our_hooks(settings).items():
        for h in handlers:
            entry: dict[str, Any] = {"type": h["type"]}
            if h["type"] == "http":
                entry["via"] = f"HTTP {h['url']}"
                auth = str((h.get("headers") or {}).get("Authorization", ""))
                if not auth:
                    entry["problem"] = "no Authorization header: the app will refuse it"
                elif "$" in auth:
                    entry["via"] += f" (key from {auth.split('$', 1)[1].strip('{}')})"
                elif key is not None and auth != f"Bearer {key}":
                    entry["problem"] = "outdated API key: run `devhelion hooks install` again"
            else:
                entry["via"] = "command relay (devhelion hook)"
                _check_home(entry, h["command"])
            events.setdefault(event, []).append(entry)
    line = settings.get("statusLine")
    ours = is_our_statusline(line)
    line_report: dict[str, Any] = {}
    if ours:
        _check_home(line_report, line["command"])
    return {"events": events, "disableAllHooks": settings.get("disableAllHooks") is True,
            "statusline": {"installed": ours, "chained": chained_command(line["command"]) if ours else None,
                           **_last_refresh(), **line_report}}


def _check_home(entry: dict[str, Any], command: str) -> None:
    """A command installed for another data folder writes to another archive: say so."""
    from desktop.claude_settings import command_option
    from store.paths import data_home

    home = command_option(command, "--home")
    if home and Path(home).expanduser() != data_home():
        entry["problem"] = f"writes to {home}, not the data folder in use ({data_home()}): install again"


def _last_refresh() -> dict[str, Any]:
    """When the statusline last refreshed its figures from the archive, and what went wrong then."""
    from desktop.statusline import read_cache
    from store.timezones import format_utc_iso_ms

    cache = read_cache()
    at = cache.get("computed_at_ms")
    return {"lastRefresh": format_utc_iso_ms(at) if isinstance(at, int) else None, "error": cache.get("error")}


def _api_key() -> str:
    from store.api_key import ApiKeyError, load_or_create_key

    try:
        return load_or_create_key()
    except (ApiKeyError, OSError) as exc:
        _fail(str(exc))


def _current_key() -> str | None:
    from store.api_key import key_path

    try:
        return key_path().read_text("ascii", "replace").strip() or None
    except OSError:
        return None


# -- the commands Claude Code runs ----------------------------------------------------------------------------


HOME_OPTION = click.option("--home", type=click.Path(file_okay=False),
                           help="Data folder to use unless DEVHELION_HOME is set (the installers write it).")


def _use_home(home: str | None) -> None:
    if home:
        os.environ.setdefault("DEVHELION_HOME", home)


@click.command("hook")
@HOME_OPTION
def hook(home: str | None) -> None:
    """Claude Code command hook: forward the payload on stdin to Devhelion (always exits 0, prints nothing)."""
    from desktop.hook_relay import main

    _use_home(home)
    sys.exit(main())


@click.group("statusline", invoke_without_command=True)
@click.option("--chain", metavar="CMD", help="Run this statusline command too and show its output first.")
@HOME_OPTION
@click.pass_context
def statusline(ctx: click.Context, chain: str | None, home: str | None) -> None:
    """Claude Code statusline: reads its JSON on stdin, prints costs, quota and context, records the quota."""
    if ctx.invoked_subcommand is None:
        from desktop.statusline import main

        _use_home(home)
        sys.exit(main(chain))


@statusline.command("install")
@SETTINGS_OPTION
def statusline_install(settings_file: Path | None) -> None:
    """Make Devhelion Claude Code's statusline; an existing statusline is kept and shown first."""
    from desktop.claude_settings import SettingsFileError, chained_command, install_statusline

    current = _read(settings_file)
    try:
        updated = install_statusline(current.data)
    except SettingsFileError as exc:
        _fail(str(exc))
    if updated == current.data:
        click.echo(f"The Devhelion statusline is already installed in {current.path}; nothing changed.")
        return
    _write(current, updated)
    chained = chained_command(updated["statusLine"]["command"])
    click.echo("Statusline installed" + (f"; your statusline `{chained}` still runs first." if chained else "."))


@statusline.command("uninstall")
@SETTINGS_OPTION
def statusline_uninstall(settings_file: Path | None) -> None:
    """Remove the Devhelion statusline, restoring the one it chained (if any)."""
    from desktop.claude_settings import uninstall_statusline

    current = _read(settings_file)
    updated, found = uninstall_statusline(current.data)
    if not found:
        click.echo(f"The Devhelion statusline is not installed in {current.path}; nothing changed.")
        return
    _write(current, updated)
    restored = (updated.get("statusLine") or {}).get("command")
    click.echo(f"Statusline removed; `{restored}` restored." if restored else "Statusline removed.")

