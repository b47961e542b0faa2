"""What page code reads the archive through: the archive on NiceGUI's ``app.state`` (set by the server assembly),
the user's zone and week start, the filter, and "now" fixed once per load so every section agrees on today."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Any

from nicegui import app
from peewee import Database

from store.archive import Archive
from store.monitor.params import Scope, archive_timezone
from store.pricing import PriceTable
from store.reports.usage import Filters
from store.timezones import date_range_utc_ms, local_date
from ui.filters import DashFilter


@dataclass(frozen=True)
class Ctx:
    archive: Archive
    filt: DashFilter
    now_ms: int
    tz: tzinfo = field(compare=False)

    @property
    def db(self) -> Database:
        return self.archive.db

    @property
    def prices(self) -> PriceTable:
        return self.archive.prices

    @property
    def start_of_week(self) -> int:
        return self.archive.settings.start_of_week

    @property
    def today(self) -> date:
        return local_date(self.now_ms, self.tz)

    def dates(self) -> tuple[date | None, date | None]:
        return self.filt.dates(self.today)

    def range_ms(self) -> tuple[int | None, int | None]:
        return date_range_utc_ms(*self.dates(), self.tz)

    def scope(self, **extra: Any) -> Scope:
        """The monitor queries' scope: whole local days of the range, the project, plus ``model``/``search``."""
        start, end = self.range_ms()
        return Scope(self.tz, start, end, self.filt.project, extra.get("model"), extra.get("search"))

    def report_filters(self) -> Filters:
        since, until = self.dates()
        return Filters(self.tz, since, until, self.filt.project, self.start_of_week)

    @property
    def cache_key(self) -> tuple:
        """What a cached result depends on besides its own arguments (prices and zone change with settings)."""
        return (self.filt, self.today, self.archive.prices.version, str(self.tz), self.start_of_week)


def archive() -> Archive:
    return app.state.archive


def make_ctx(filt: DashFilter, now_ms: int | None = None) -> Ctx:
    current = archive()
    return Ctx(current, filt, int(time.time() * 1000) if now_ms is None else now_ms,
               archive_timezone(current.settings.timezone))
