"""Health checks a user can read: roots, files, malformed lines, unpriced models, size, retention risk."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from store.archive import Archive
from store.paths import projects_dir
from store.pricing import is_synthetic

CLAUDE_DEFAULT_CLEANUP_DAYS = 30


@dataclass
class RootReport:
    path: str
    exists: bool
    files: int = 0
    lines: int = 0
    malformed_lines: int = 0
    cleanup_period_days: int | None = None
    cleanup_is_default: bool = True


@dataclass
class DoctorReport:
    archive_path: str
    archive_bytes: int
    roots: list[RootReport] = field(default_factory=list)
    files_with_malformed: list[tuple[str, int, str | None]] = field(default_factory=list)
    unpriced_models: list[tuple[str, int]] = field(default_factory=list)
    missing_files: int = 0
    requests: int = 0
    sessions: int = 0
    warnings: list[str] = field(default_factory=list)


def _cleanup_setting(config_dir: Path) -> tuple[int | None, bool]:
    """Claude Code's ``cleanupPeriodDays`` from settings.json (default 30 days when absent)."""
    settings = config_dir / "settings.json"
    try:
        data = orjson.loads(settings.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return CLAUDE_DEFAULT_CLEANUP_DAYS, True
    value = data.get("cleanupPeriodDays") if isinstance(data, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        return value, False
    return CLAUDE_DEFAULT_CLEANUP_DAYS, True


def run_doctor(archive: Archive) -> DoctorReport:
    db = archive.db
    size = sum(os.path.getsize(p) for p in (archive.path, Path(f"{archive.path}-wal")) if os.path.exists(p))
    report = DoctorReport(archive_path=str(archive.path), archive_bytes=size)
    for root in archive.roots:
        projects = projects_dir(root)
        rr = RootReport(path=str(root), exists=projects.is_dir())
        if rr.exists:
            prefix = str(projects).rstrip(os.sep) + os.sep  # by path component: not /a/root2 for /a/root
            rr.files, rr.lines, rr.malformed_lines = db.execute_sql(
                "SELECT count(*), coalesce(sum(lines), 0), coalesce(sum(malformed_lines), 0) FROM source_file "
                "WHERE substr(path, 1, ?) = ? AND missing = 0", (len(prefix), prefix)
            ).fetchone()
            rr.cleanup_period_days, rr.cleanup_is_default = _cleanup_setting(root)
            days = rr.cleanup_period_days
            if days is not None and days >= 0:
                how = "by default" if rr.cleanup_is_default else "(cleanupPeriodDays in settings.json)"
                report.warnings.append(
                    f"Claude Code deletes transcripts in {root} older than {days} days {how}. Devhelion keeps "
                    "everything it has ingested; run it (or `devhelion ingest`) at least that often."
                )
        report.roots.append(rr)
    report.files_with_malformed = [
        tuple(row) for row in db.execute_sql(
            "SELECT path, malformed_lines, last_error FROM source_file WHERE malformed_lines > 0 "
            "ORDER BY malformed_lines DESC LIMIT 50").fetchall()
    ]
    report.missing_files = db.execute_sql("SELECT count(*) FROM source_file WHERE missing = 1").fetchone()[0]
    report.requests = db.execute_sql("SELECT count(*) FROM api_request").fetchone()[0]
    report.sessions = db.execute_sql("SELECT count(*) FROM session").fetchone()[0]
    for model, n in db.execute_sql(
            "SELECT model, count(*) FROM api_request WHERE model IS NOT NULL GROUP BY model").fetchall():
        if not is_synthetic(model) and archive.prices.resolve(model) is None:
            report.unpriced_models.append((model, n))
    if report.unpriced_models:
        report.warnings.append(
            "Some models have no price: their cost is reported as unpriced, never $0. Add a price override or "
            "an alias in config.json (price_overrides / model_aliases)."
        )
    if not any(r.exists for r in report.roots):
        report.warnings.append("No Claude Code log folder found. Set CLAUDE_CONFIG_DIR or add extra_roots.")
    return report
