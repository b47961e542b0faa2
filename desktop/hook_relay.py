"""``devhelion hook``: Claude Code's command-hook form, for events (SessionStart) and versions without HTTP hooks.

Reads the hook payload on stdin and hands it to the running app (``POST /api/hooks``, which stores and broadcasts
it); when the app is not running, stores it in the archive itself, or, when the archive cannot take it at once
(none yet, an older schema, locked), in the spool that the next opening of the archive empties into it.
Whatever happens it prints nothing (a SessionStart hook's stdout would be added to Claude's context), exits 0
and is gone within a second.
"""

from __future__ import annotations

import sys

DEADLINE_S = 0.9
POST_TIMEOUT_S = 0.4
HOOK_ROUTE = "/api/hooks?source=devhelion"


def main() -> int:
    from desktop.fast_entry import exit_after

    exit_after(DEADLINE_S)
    try:
        relay(sys.stdin.buffer.read())
    except Exception as exc:  # a hook must never fail Claude Code; say why on stderr (shown in verbose mode)
        print(f"devhelion hook: {exc}", file=sys.stderr)
    return 0


def relay(body: bytes) -> str:
    """Deliver one payload; returns how (``app``, ``archive``, ``spooled`` or ``sent``) for tests and diagnostics."""
    import time

    from desktop.relay import post_to_app, write_existing_archive
    from store.hooks import parse_hook_payload, record_hook_event

    payload = parse_hook_payload(body)  # invalid input is not worth a request
    delivered = post_to_app(HOOK_ROUTE, body, POST_TIMEOUT_S)
    if delivered:
        return "app"
    if delivered is None:
        return "sent"  # the app has it or is too busy to say; storing it again could duplicate it
    received_ms = int(time.time() * 1000)
    if write_existing_archive(lambda conn: record_hook_event(conn, payload, received_ms=received_ms)):
        return "archive"
    from store.spool import HOOKS, append

    append(HOOKS, {"received_ms": received_ms, "payload": payload})
    return "spooled"
