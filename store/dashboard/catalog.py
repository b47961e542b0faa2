"""The short lists behind the dashboard's filters: projects and models in the archive (cheap, index-only)."""

from __future__ import annotations

from dataclasses import dataclass

from peewee import Database

from store.pricing import PriceTable


@dataclass(frozen=True, slots=True)
class ProjectChoice:
    value: str  # what the project filter matches: the project path, or the folder name without one
    label: str
    sessions: int


def project_choices(db: Database) -> list[ProjectChoice]:
    """Projects with sessions, most sessions first; labels are the last path component, widened with the parent
    folder when two projects share a name."""
    rows = db.execute_sql(
        "SELECT coalesce(p.path, s.project_dir), count(*) FROM session s LEFT JOIN project p ON p.id = s.project_id "
        "WHERE coalesce(p.path, s.project_dir) IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
    names: dict[str, int] = {}
    for path, _ in rows:
        name = _last(path)
        names[name] = names.get(name, 0) + 1
    choices = []
    for path, count in rows:
        name = _last(path)
        if names[name] > 1:
            parts = path.rstrip("/\\").replace("\\", "/").rsplit("/", 2)
            name = "/".join(parts[-2:]) if len(parts) > 1 else name
        choices.append(ProjectChoice(path, name, count))
    return choices


def _last(path: str) -> str:
    return path.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] or path


def model_names(db: Database) -> list[str]:
    """Models with requests in the archive (from the rollup's keys), alphabetical."""
    rows = db.execute_sql("SELECT DISTINCT model FROM usage_rollup WHERE model != '<synthetic>' ORDER BY 1")
    return [r[0] for r in rows.fetchall()]


def unpriced_models(db: Database, prices: PriceTable) -> list[str]:
    """Models in the archive the price table (with the user's overrides and aliases) has no price for."""
    return [m for m in model_names(db) if prices.price_for(m) is None]


def last_request_ms(db: Database) -> int | None:
    """When the newest request in the archive was made (an index lookup)."""
    return db.execute_sql("SELECT max(ts_ms) FROM api_request").fetchone()[0]
