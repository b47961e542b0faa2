"""The dashboard's link to the event bus: a version counter that pages poll to know they are stale, and
subscriptions drained by a timer for the Live page.

Listeners run on the publishing thread (ingest, hooks), so the counter's listener only increments an integer;
pages compare it with the version they last loaded at from a timer on the event loop and reload then.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from desktop.live.bus import Event, EventBus, Subscription, event_kind

# event kinds (or their family before the dot) after which figures on the pages may have changed
DATA_KINDS = frozenset({"request", "session", "tool", "subagent", "compaction", "sync", "insight", "budget",
                        "budgets"})


class DataVersion:
    """Counts data-changing events; a page whose loaded version is behind reloads its live sections."""

    def __init__(self) -> None:
        self.value = 0
        self.last_event_ms: int | None = None

    def __call__(self, event: Event) -> None:
        kind = event_kind(event)
        if kind.split(".", 1)[0] in DATA_KINDS and kind not in ("sync.started", "budgets.status"):
            self.value += 1
            self.last_event_ms = event.get("published_at")


version = DataVersion()


def attach(bus: EventBus) -> None:
    """Count the bus's events from now on (called once when the pages are registered)."""
    bus.add_listener(version)


def drain(sub: Subscription, limit: int = 500) -> list[Event]:
    """Events waiting in a subscription's queue (at most ``limit``), oldest first; never waits."""
    events: list[Event] = []
    while len(events) < limit and not sub.queue.empty():
        events.append(sub.queue.get_nowait())
    return events


def summarize(event: Event) -> dict[str, Any]:
    """A row for the Live page: kind, session, one line of detail."""
    kind = event_kind(event)
    detail = ""
    if kind == "request.added":
        cost = event.get("cost_usd")
        detail = f"{event.get('model') or '?'} · {int(event.get('total_tokens') or 0):,} tokens" + (
            f" · ${float(cost):.4f}" if cost is not None else "")
    elif kind.startswith("tool."):
        detail = str(event.get("tool") or event.get("name") or "")
        if event.get("error"):
            detail += f" · {str(event['error'])[:120]}"
    elif kind.startswith("session."):
        detail = str(event.get("project_path") or "")
    elif kind.startswith("sync."):
        detail = ", ".join(f"{k.replace('_', ' ')} {event[k]}" for k in ("files_changed", "requests_added", "seconds")
                           if event.get(k) is not None)
    elif kind == "insight.created":
        detail = str((event.get("insight") or {}).get("title") or "")
    elif kind.startswith("budget"):
        detail = str(event.get("name") or event.get("message") or "")
    elif "hook_event_name" in event:
        detail = str(event.get("tool_name") or event.get("prompt") or event.get("message") or "")[:160]
    return {"kind": kind, "family": family(event), "session_id": event.get("session_id"),
            "ts_ms": event.get("published_at"), "detail": detail}


FAMILIES: dict[str, str] = {"request": "Requests", "tool": "Tools", "session": "Sessions", "hook": "Hooks",
                            "sync": "Sync", "other": "Other"}


def family(event: Event) -> str:
    if "hook_event_name" in event and not event.get("type"):
        return "hook"
    head = event_kind(event).split(".", 1)[0]
    if head in ("request", "tool", "session", "sync"):
        return head
    if head in ("subagent", "compaction"):
        return "session"
    return "other"


def wanted(event: Event, families: Iterable[str]) -> bool:
    return family(event) in set(families)
