"""A small result cache for page loaders: flipping between filters or pages must not re-run a query whose answer
cannot have changed, and sections of one page that need the same answer share one computation. Entries are keyed
by what the answer depends on, including the bus's data version, so new transcript data invalidates them; a time
limit covers what depends on the clock."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
MAX_ENTRIES = 256
TTL_S = 120.0


class ResultCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, ttl_s: float = TTL_S) -> None:
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._pending: dict[Hashable, Future[Any]] = {}
        self._lock = threading.Lock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value, or ``compute()`` stored under ``key``; a caller asking for a key that another thread
        is computing waits for that answer instead of computing it again."""
        now = time.monotonic()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and now - found[0] < self.ttl_s:
                self._entries.move_to_end(key)
                return found[1]
            pending = self._pending.get(key)
            if pending is None:
                future: Future[Any] = Future()
                self._pending[key] = future
        if pending is not None:
            return pending.result()
        try:
            value = compute()
        except BaseException as exc:
            with self._lock:
                self._pending.pop(key, None)
            future.set_exception(exc)
            raise
        with self._lock:
            self._pending.pop(key, None)
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        future.set_result(value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


results = ResultCache()
