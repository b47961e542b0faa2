"""Claude Code's ``settings.json``: add and remove Devhelion's hooks and statusline without disturbing the user's.

Pure functions on the parsed settings plus one careful read and one careful write. Claude Code rewrites this file
itself and drops keys it does not know, so our entries carry no private marker key: they are recognised by what
they are (an HTTP hook to ``/api/hooks?source=devhelion`` on this machine, or a command ending in a
``# devhelion-...`` shell comment). An unknown hook event name makes Claude Code skip the *whole* file, so we
only ever write event names that Claude Code versions with HTTP hooks (2.1.63+) all know.
"""

from __future__ import annotations

import copy
import json
import os
import shlex
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from store.paths import data_home, default_config_dirs

HOOK_PATH = "/api/hooks"
HOOK_SOURCE = "devhelion"
RELAY_MARK = "# devhelion-hook"
STATUSLINE_MARK = "# devhelion-statusline"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
HTTP_TIMEOUT_S = 3  # a hung app may delay Claude Code by this much, never more
COMMAND_TIMEOUT_S = 5  # the relay exits within 1 s; this only bounds a broken interpreter

# Events known to every Claude Code with HTTP hooks. SessionStart takes command hooks only, so it gets the relay.
HTTP_EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest", "PostToolUse",
               "PostToolUseFailure", "Notification", "SubagentStart", "SubagentStop", "Stop", "TeammateIdle",
               "TaskCompleted", "PreCompact", "SessionEnd")
# The command form is for older versions: only the long-standing events.
COMMAND_EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Notification", "Stop",
                  "SubagentStop", "PreCompact", "SessionEnd")
COMMAND_ONLY_EVENTS = frozenset({"SessionStart", "Setup"})
REFUSED_EVENTS = frozenset({"WorktreeCreate"})  # a hook there *replaces* git's worktree creation


class SettingsFileError(Exception):
    """The settings file cannot be edited safely; the message names the file and what to do."""


@dataclass
class SettingsFile:
    path: Path
    data: dict[str, Any]
    original: bytes | None  # None: the file does not exist yet


def settings_path() -> Path:
    """``settings.json`` of the config dir Claude Code uses: the first of ``CLAUDE_CONFIG_DIR``, else ``~/.claude``."""
    return default_config_dirs()[0] / "settings.json"


# -- hooks -------------------------------------------------------------------------------------------


def hook_url(port: int) -> str:
    return f"http://127.0.0.1:{port}{HOOK_PATH}?source={HOOK_SOURCE}"


def http_handler(port: int, key: str | None = None, key_env: str | None = None) -> dict[str, Any]:
    """An HTTP hook to the app; authorised by the key itself or, with ``key_env``, by Claude Code's environment."""
    handler: dict[str, Any] = {"type": "http", "url": hook_url(port), "timeout": HTTP_TIMEOUT_S}
    if key_env:
        handler["headers"] = {"Authorization": f"Bearer ${{{key_env}}}"}
        handler["allowedEnvVars"] = [key_env]
    elif key:
        handler["headers"] = {"Authorization": f"Bearer {key}"}
    return handler


def relay_command(kind: str, *args: str, mark: str = RELAY_MARK) -> str:
    """``'<python>' -I -m desktop <kind> --home <data home> ...``: the fast entry (no click import), isolated
    from the project's ``PYTHONPATH`` and current directory (Claude Code runs it in the user's project).

    ``--home`` names the data folder in use now, so the command need not import platformdirs to find it (a
    third of the statusline's time); ``DEVHELION_HOME`` in Claude Code's environment still wins over it."""
    return f"{shlex.join([sys.executable, '-I', '-m', 'desktop', kind, '--home', str(data_home()), *args])} {mark}"


def command_handler() -> dict[str, Any]:
    """The ``devhelion hook`` relay, run in the background so Claude Code never waits for it."""
    return {"type": "command", "command": relay_command("hook"), "timeout": COMMAND_TIMEOUT_S, "async": True}


def hook_plan(events: list[str] | tuple[str, ...], http: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Our handler per event: ``http`` where Claude Code accepts HTTP hooks, the command relay elsewhere."""
    refused = sorted(set(events) & REFUSED_EVENTS)
    if refused:
        raise ValueError(f"refusing to hook {', '.join(refused)}: a hook there replaces Claude Code's own behaviour")
    return {event: (http if http is not None and event not in COMMAND_ONLY_EVENTS else command_handler())
            for event in dict.fromkeys(events)}


def is_our_hook(handler: Any) -> bool:
    if not isinstance(handler, dict):
        return False
    if handler.get("type") == "http" and isinstance(handler.get("url"), str):
        url = urlsplit(handler["url"])
        return (url.hostname in LOCAL_HOSTS and url.path == HOOK_PATH
                and HOOK_SOURCE in parse_qs(url.query).get("source", []))
    return handler.get("type") == "command" and str(handler.get("command", "")).rstrip().endswith(RELAY_MARK)


def our_hooks(settings: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Our handlers per event, wherever they sit in the event's matcher groups."""
    found: dict[str, list[dict[str, Any]]] = {}
    hooks = settings.get("hooks")
    if not isinstance(hooks, dict):
        return found
    for event, groups in hooks.items():
        for group in groups if isinstance(groups, list) else []:
            for handler in group.get("hooks", []) if isinstance(group, dict) else []:
                if is_our_hook(handler):
                    found.setdefault(event, []).append(handler)
    return found


def install_hooks(settings: dict[str, Any], plan: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A copy with exactly our planned handlers (each in its own matcher group), the user's hooks untouched.

    Unchanged (equal) when they are already there, so running install twice writes nothing the second time.
    """
    if our_hooks(settings) == {event: [handler] for event, handler in plan.items()}:
        return settings
    updated, _ = uninstall_hooks(settings)
    hooks = updated.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise SettingsFileError("'hooks' is not a JSON object; fix it (or remove it) and run again")
    for event, handler in plan.items():
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise SettingsFileError(f"'hooks.{event}' is not a list; fix it and run again")
        groups.append({"matcher": "*", "hooks": [copy.deepcopy(handler)]})
    return updated


def uninstall_hooks(settings: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """A copy without our handlers, and how many were removed. Only containers we emptied are dropped."""
    updated = copy.deepcopy(settings)
    hooks = updated.get("hooks")
    if not isinstance(hooks, dict):
        return updated, 0
    removed = 0
    for event in list(hooks):
        groups = hooks[event]
        if not isinstance(groups, list):
            continue
        kept_groups = []
        for group in groups:
            handlers = group.get("hooks") if isinstance(group, dict) else None
            if not isinstance(handlers, list):
                kept_groups.append(group)
                continue
            kept = [h for h in handlers if not is_our_hook(h)]
            removed += len(handlers) - len(kept)
            if kept or len(kept) == len(handlers):
                kept_groups.append({**group, "hooks": kept})
        if len(kept_groups) != len(groups) or kept_groups != groups:
            if kept_groups:
                hooks[event] = kept_groups
            else:
                del hooks[event]
    if removed and not hooks:
        del updated["hooks"]
    return updated, removed


# -- statusline ----------------------------------------------------------------------------------------


def statusline_command(chain: str | None) -> str:
    return relay_command("statusline", *(["--chain", chain] if chain else []), mark=STATUSLINE_MARK)


def is_our_statusline(statusline: Any) -> bool:
    return (isinstance(statusline, dict)
            and str(statusline.get("command", "")).rstrip().endswith(STATUSLINE_MARK))


def chained_command(command: str) -> str | None:
    """The user's own statusline command that ours runs first (``--chain``), if any."""
    return command_option(command, "--chain")


def command_option(command: str, name: str) -> str | None:
    """The value of option ``name`` in one of our commands (``--chain``, ``--home``)."""
    try:
        args = shlex.split(command, comments=True)
    except ValueError:
        return None
    for i, arg in enumerate(args[:-1]):
        if arg == name:
            return args[i + 1]
    return None


def install_statusline(settings: dict[str, Any]) -> dict[str, Any]:
    """A copy whose statusline is ours; an existing one is chained (ours runs it and shows both) and kept for
    uninstall inside our command itself, so nothing else needs remembering."""
    current = settings.get("statusLine")
    if current is not None and not isinstance(current, dict):
        raise SettingsFileError("'statusLine' is not a JSON object; fix it (or remove it) and run again")
    if current is None:
        chain = None
    elif is_our_statusline(current):
        chain = chained_command(current["command"])
    else:
        chain = current.get("command") if isinstance(current.get("command"), str) and current["command"].strip() \
            else None
    command = statusline_command(chain)
    if current is not None and current.get("command") == command and current.get("type") == "command":
        return settings
    updated = copy.deepcopy(settings)
    updated["statusLine"] = {**(current or {}), "type": "command", "command": command}
    return updated


def uninstall_statusline(settings: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A copy with the user's previous statusline restored (or none, if there was none); False if ours is absent."""
    current = settings.get("statusLine")
    if not is_our_statusline(current):
        return settings, False
    updated = copy.deepcopy(settings)
    chain = chained_command(current["command"])
    if chain:
        updated["statusLine"] = {**current, "command": chain}
    else:
        del updated["statusLine"]
    return updated, True


# -- the file --------------------------------------------------------------------------------------------


def read_settings(path: Path) -> SettingsFile:
    """Parse the file; refuse (``SettingsFileError``) anything that is not a JSON object, touching nothing."""
    try:
        original = path.read_bytes()
    except FileNotFoundError:
        return SettingsFile(path, {}, None)
    except OSError as exc:
        raise SettingsFileError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    if not original.strip():
        return SettingsFile(path, {}, original)
    try:
        data = json.loads(original)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SettingsFileError(f"{path} is not valid JSON ({exc}). Nothing was changed: fix the file (Claude Code "
                                "skips it too while it is invalid) and run again.") from exc
    if not isinstance(data, dict):
        raise SettingsFileError(f"{path} does not hold a JSON object. Nothing was changed.")
    return SettingsFile(path, data, original)


def write_settings(current: SettingsFile, data: dict[str, Any], private: bool = False) -> Path | None:
    """Write ``data`` atomically, after a timestamped backup of what was there; returns the backup's path.

    Refuses if the file changed since it was read (Claude Code writes it too). A symlinked file (dotfiles) is
    written through the link. ``private`` narrows the mode to the owner (the file then holds the API key).
    """
    target = current.path.resolve() if current.path.is_symlink() else current.path
    try:
        now = target.read_bytes()
    except FileNotFoundError:
        now = None
    if now != current.original:
        raise SettingsFileError(f"{current.path} changed while it was being edited. Nothing was changed; run again.")
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = target.stat().st_mode & 0o777 if now is not None else 0o600
    if private:
        mode &= 0o700
    backup = _backup(target, now) if now is not None else None
    text = json.dumps(data, indent=_indent(now), ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return backup


def _backup(target: Path, content: bytes) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        backup = target.with_name(f"{target.name}.devhelion-backup-{stamp}{f'-{n}' if n else ''}")
        try:
            fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, target.stat().st_mode & 0o777)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        return backup
    raise SettingsFileError(f"Too many backups of {target} this second; try again")


def _indent(original: bytes | None) -> int | str:
    """Keep the file's own indentation (2 spaces when unknown, as Claude Code writes it)."""
    for line in (original or b"").decode("utf-8", "replace").splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and stripped != line:
            prefix = line[: len(line) - len(stripped)]
            return "\t" if prefix.startswith("\t") else len(prefix)
    return 2
