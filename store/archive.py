"""The archive as the rest of the app sees it: database, settings, price table and log roots together."""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

from peewee import SqliteDatabase

from store.config import Settings, load_settings
from store.db import open_archive
from store.ingest.runner import IngestStats, ProgressCallback, run_ingest
from store.paths import database_path, resolve_roots
from store.pricing import PriceTable

log = logging.getLogger(__name__)


@dataclass
class Archive:
    db: SqliteDatabase
    path: Path
    settings: Settings
    prices: PriceTable
    roots: list[Path] = field(default_factory=list)

    def refresh(self, progress: ProgressCallback | None = None, parallel: bool | None = None,
                paths: list[str] | None = None, cancel: threading.Event | None = None,
                bulk: bool | None = None) -> IngestStats:
        """Ingest whatever changed under the log roots since the last run (only ``paths``, when given; until
        ``cancel`` is set, when given; ``bulk``: see ``run_ingest``)."""
        return run_ingest(self.db, self.roots, progress=progress, parallel=parallel, paths=paths, cancel=cancel,
                          bulk=bulk)

    def apply_settings(self, settings: Settings, extra_roots: list[str] | None = None) -> None:
        """Use new settings from now on (prices and roots included), without reopening the database."""
        self.prices = price_table(settings)
        self.roots = resolve_roots([*settings.extra_roots, *(extra_roots or [])])
        self.settings = settings

    def take_spooled(self) -> int:
        """Move hook events the relay had to spool (``store/spool.py``) into the archive; a locked archive
        leaves them for the next call (every sync run makes one)."""
        from store.hooks import drain_spooled_hooks

        try:
            return drain_spooled_hooks(self.db, self.path.parent)
        except (sqlite3.Error, OSError) as exc:
            log.warning("spooled hook events stay spooled for now: %s", exc)
            return 0

    def close(self) -> None:
        self.db.close()


def price_table(settings: Settings) -> PriceTable:
    """The bundled price table with the user's overrides and aliases applied."""
    prices = PriceTable.bundled()
    if settings.price_overrides or settings.model_aliases:
        prices = prices.with_overrides(settings.price_overrides, settings.model_aliases)
    return prices


def open_default(extra_roots: list[str] | None = None, path: Path | None = None) -> Archive:
    """Open the user's archive with their settings (extra roots, price overrides and aliases)."""
    settings = load_settings()
    path = path or database_path()
    db = open_archive(path)
    archive = Archive(db=db, path=path, settings=settings, prices=PriceTable.bundled())
    try:
        archive.apply_settings(settings, extra_roots)
    except BaseException:
        db.close()
        raise
    archive.take_spooled()
    return archive
