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
ARCHIVE_TIMEOUT_S = 0.3  # waiting longer for a busy archive risks the deadline: the event is spooled
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
    from desktop.relay import connect_archive, post_to_app
    from store.hooks import parse_hook_payload, record_or_spool_hook_event
    from store.paths import data_home

    payload = parse_hook_payload(body)  # invalid input is not worth a request
    delivered = post_to_app(HOOK_ROUTE, body, POST_TIMEOUT_S)
    if delivered:
        return "app"
    if delivered is None:
        return "sent"  # the app has it or is too busy to say; storing it again could duplicate it
    conn = connect_archive(timeout=ARCHIVE_TIMEOUT_S)  # None when there is no archive yet: creating one takes long
    try:
        _, archived = record_or_spool_hook_event(conn, payload, data_home())
    finally:
        if conn is not None:
            conn.close()
    return "archive" if archived else "spooled"
