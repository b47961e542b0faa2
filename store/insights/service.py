"""Runs the insights engine on a worker thread: after each ingest (coalesced) and on a schedule.

A run first compares a fingerprint (the highest row ids of the tables the rules read, and the local date) with the
previous run's: when nothing changed it costs four index lookups. New insights go to ``publish`` (the event bus)
as ``{"type": "insight.created", "insight": {...}}``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from store.archive import Archive
from store.insights.base import Context
from store.insights.engine import run_insights
from store.timezones import local_date, resolve_timezone

log = logging.getLogger(__name__)

FINGERPRINT_TABLES = ("api_request", "tool_call", "compaction", "subagent")
MIN_GAP_S = 5.0  # ingests during active use come every few seconds: one run covers a burst of them


class InsightsService:
    def __init__(self, archive: Archive, publish: Callable[[dict[str, Any]], None],
                 min_gap_s: float = MIN_GAP_S) -> None:
        self.archive = archive
        self.publish = publish
        self.min_gap_s = min_gap_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._fingerprint: tuple | None = None
        self.runs = 0  # engine runs that were not skipped

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="devhelion-insights", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)

    def notify(self) -> None:
        """An ingest finished (called on the sync runner's thread): run soon, on this service's thread."""
        self._wake.set()

    @property
    def interval_s(self) -> float:
        return self.archive.settings.data_api.insights_interval_minutes * 60.0

    # -- work ----------------------------------------------------------------------------------------
    def run_once(self, now_ms: int | None = None) -> list[dict[str, Any]]:
        """Evaluate the rules unless nothing changed since the last run; publish and return the new insights."""
        archive = self.archive
        conn = archive.db.connection()
        now = int(time.time() * 1000) if now_ms is None else now_ms
        tz = resolve_timezone(archive.settings.timezone)
        fingerprint = (tuple(conn.execute(f"SELECT coalesce(max(rowid), 0) FROM {t}").fetchone()[0]
                             for t in FINGERPRINT_TABLES), local_date(now, tz), archive.prices.version, str(tz))
        if fingerprint == self._fingerprint:
            return []
        created = run_insights(Context(conn, now, archive.prices, tz, archive.settings.start_of_week))
        self._fingerprint = fingerprint
        self.runs += 1
        for insight in created:
            self.publish({"type": "insight.created", "insight": insight})
        return created

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                self._wake.wait(self.interval_s)
                self._wake.clear()
                if self._stop.is_set():
                    break
                try:
                    self.run_once()
                except Exception as exc:  # the service must outlive a bad run; the next one retries
                    log.warning("insights run failed: %s", exc)
                self._stop.wait(self.min_gap_s)
        finally:
            self.archive.db.close()  # this thread's connection
