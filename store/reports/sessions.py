"""Per-session usage and the session title rule (custom > ai > summary via leafUuid > first prompt)."""

from __future__ import annotations

from dataclasses import dataclass, field

from peewee import Database

from store.pricing import PriceTable, is_synthetic
from store.reports.usage import Filters, Usage, display_model, grouped_usage, price_group

# A summary line names the leaf message of the conversation it titles; the leaf may live in any
# session file of the project, so it is resolved through the message table at query time.
TITLE_SQL = (
    "coalesce(s.custom_title, s.ai_title, (SELECT su.summary FROM summary su JOIN message m ON m.uuid = su.leaf_uuid "
    "WHERE m.session_id = s.session_id ORDER BY su.id DESC LIMIT 1), s.first_prompt)"
)


@dataclass(slots=True)
class SessionUsage:
    session_id: str
    project_path: str | None
    title: str | None
    first_ts_ms: int | None
    last_ts_ms: int | None
    git_branch: str | None
    total: Usage = field(default_factory=Usage)
    models: dict[str, Usage] = field(default_factory=dict)


def usage_by_session(db: Database, filters: Filters, table: PriceTable) -> list[SessionUsage]:
    """Sessions with usage in the filtered range (usage counted by request time), by last activity."""
    sessions: dict[str, SessionUsage] = {}
    for sid, model, speed, geo, lc, *counts in grouped_usage(db, filters, "r.session_id"):
        if is_synthetic(model):
            continue
        entry = sessions.get(sid)
        if entry is None:
            entry = sessions[sid] = SessionUsage(sid, None, None, None, None, None)
        usage = price_group(table, model, speed, geo, bool(lc), tuple(counts))
        entry.models.setdefault(display_model(model, speed), Usage()).add(usage)
        entry.total.add(usage)
    if sessions:
        ids = list(sessions)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ", ".join("?" for _ in part)
            meta_sql = (
                f"SELECT s.session_id, p.path, {TITLE_SQL}, s.first_ts_ms, s.last_ts_ms, s.git_branch "
                f"FROM session s LEFT JOIN project p ON p.id = s.project_id WHERE s.session_id IN ({marks})"
            )
            for sid, path, title, first, last, branch in db.execute_sql(meta_sql, part).fetchall():
                entry = sessions[sid]
                entry.project_path, entry.title, entry.first_ts_ms, entry.last_ts_ms = path, title, first, last
                entry.git_branch = branch
    return sorted(sessions.values(), key=lambda s: (s.last_ts_ms or 0, s.session_id))
