"""The in-process event bus: ingest, hooks and budgets publish from any thread; `/ws` clients and the tray listen.

Every subscriber owns a bounded queue. Publishing never waits for a subscriber: when a client's queue is full
the event is dropped for that client only, counted, and the client is marked so its connection can be closed
(a slow browser tab must never slow ingest or the other clients).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Event = dict[str, Any]
DEFAULT_QUEUE_SIZE = 1_000


def event_kind(event: Event) -> str:
    """Our events carry ``type``; Claude Code hook events keep their own ``hook_event_name``."""
    return str(event.get("type") or event.get("hook_event_name") or "unknown")


@dataclass(eq=False)
class Subscription:
    """One consumer: a bounded asyncio queue on the bus's loop, with an optional kind filter."""

    kinds: frozenset[str] | None
    queue: asyncio.Queue[Event]
    id: int
    dropped: int = 0
    overflowed: asyncio.Event = field(default_factory=asyncio.Event)

    def wants(self, event: Event) -> bool:
        if self.kinds is None:
            return True
        kind = event_kind(event)
        # "hook" selects every hook event; "session" selects session.created and session.updated
        return (kind in self.kinds or kind.split(".", 1)[0] in self.kinds
                or ("hook" in self.kinds and "hook_event_name" in event))


class EventBus:
    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscriptions: set[Subscription] = set()
        self._listeners: list[Callable[[Event], None]] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.published = 0

    # -- wiring --------------------------------------------------------------------------------------
    def attach_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Deliver to subscribers on ``loop`` (the server's); before this, events reach only listeners."""
        self._loop = loop

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        """A plain callback, run on the publishing thread (the tray, tests): it must return quickly."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Event], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def subscribe(self, kinds: Iterable[str] | None = None, queue_size: int | None = None) -> Subscription:
        """A new subscription; call from the bus's event loop (a `/ws` handler)."""
        wanted = frozenset(k.strip() for k in kinds if k.strip()) if kinds is not None else None
        sub = Subscription(wanted or None, asyncio.Queue(queue_size or self.queue_size), next(self._ids))
        with self._lock:
            self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    # -- publishing ----------------------------------------------------------------------------------
    def publish(self, event: Event) -> None:
        """Publish from any thread; stamps ``published_at`` (epoch ms) when the event has none."""
        event.setdefault("published_at", int(time.time() * 1000))
        self.published += 1
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken listener must not stop the others or the publisher
                log.exception("event listener failed")
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._deliver(event)
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed since the check (shutdown)
                loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: Event) -> None:
        with self._lock:
            subscriptions = list(self._subscriptions)
        for sub in subscriptions:
            if not sub.wants(event):
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.dropped += 1
                sub.overflowed.set()
