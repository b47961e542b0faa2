"""The HTML report: one self-contained page (inline CSS and SVG, no script, no request) that can be emailed.

Figures come from the same queries as the API: usage priced per pricing group, days in the archive's zone. The
figures are also embedded as JSON (``<script type="application/json" id="report-data">``), for tools.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from html import escape
from typing import Any

import orjson
from peewee import Database

from store.export.charts import bar_list, column_chart, count_fmt, money_fmt
from store.export.scope import ExportScope, range_label
from store.gitlink.costs import branch_stats
from store.monitor.fmt import iso, money, usage_json
from store.monitor.sessions import project_name
from store.monitor.sql import Where, chunks, marks, requests_where, sessions_where, tool_calls_where
from store.monitor.usage import KeyUsage, grouped_rows, price_rows, rekey_rows
from store.notes import tags_of
from store.pricing import PriceTable
from store.reports.sessions import TITLE_SQL
from store.reports.usage import Usage
from store.timezones import SLOT_MS, slot_local_date

MAX_DAILY_BARS = 120  # longer ranges are shown per month
TOP = 12


def _with_session(where: Where, es: ExportScope, column: str) -> Where:
    return where.add(f"{column} = ?", es.session_id) if es.session_id else where


def report_data(db: Database, prices: PriceTable, es: ExportScope) -> dict[str, Any]:
    """Every figure the page shows, JSON-ready."""
    s = es.scope
    where = _with_session(requests_where(s), es, "r.session_id")
    slots = grouped_rows(db, where, f"r.ts_ms / {SLOT_MS}")
    total = price_rows(rekey_rows(slots, lambda _: None), prices).get(None) or KeyUsage()
    days = price_rows(rekey_rows(slots, lambda slot: slot_local_date(slot, s.tz)), prices)
    per_session = price_rows(grouped_rows(db, where, "r.session_id"), prices)
    sessions_where_ = _with_session(sessions_where(s), es, "s.session_id")
    session_count = db.execute_sql(f"SELECT count(*) FROM session s{sessions_where_.sql}",
                                   sessions_where_.params).fetchone()[0]
    tools_where = _with_session(tool_calls_where(s), es, "t.session_id")
    tools = db.execute_sql(f"SELECT coalesce(t.name, '?'), count(*), sum(t.status = 'error') FROM tool_call t"
                           f"{tools_where.sql} GROUP BY 1 ORDER BY 2 DESC, 1", tools_where.params).fetchall()
    meta = _sessions_meta(db, list(per_session))
    projects: dict[str, Usage] = {}
    for sid, entry in per_session.items():
        projects.setdefault(meta.get(sid, {}).get("project_path") or "(unknown)", Usage()).add(entry.total)
    top_sessions = sorted(per_session.items(), key=lambda kv: (-kv[1].total.cost, kv[0]))[:25]
    tags = tags_of(db, [sid for sid, _ in top_sessions])
    branches = branch_stats(db, prices, s)["branches"] if not es.session_id else []
    return {
        "range": {"from": iso(s.start_ms), "to": iso(s.end_ms), "label": range_label(es), "timezone": str(s.tz)},
        "project": s.project, "session_id": es.session_id,
        "totals": {**usage_json(total.total), "sessions": session_count,
                   "tool_calls": sum(n for _, n, _ in tools), "tool_errors": sum(e or 0 for _, _, e in tools)},
        "periods": _periods(days, s.start_ms, s.end_ms, s.tz),
        "models": sorted(({"model": m, **usage_json(u)} for m, u in total.models.items()),
                         key=lambda r: (-r["cost_usd"], r["model"])),
        "projects": sorted(({"project_path": p, "project_name": project_name(p) or p, **usage_json(u)}
                            for p, u in projects.items()), key=lambda r: (-r["cost_usd"], r["project_path"])),
        "tools": [{"tool": name, "calls": n, "errors": e or 0} for name, n, e in tools],
        "top_sessions": [{"id": sid, **meta.get(sid, {}), "tags": tags.get(sid, []), **usage_json(e.total)}
                         for sid, e in top_sessions],
        "branches": branches[:TOP],
    }


def _sessions_meta(db: Database, ids: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for part in chunks(ids):
        for sid, title, path, branch, first in db.execute_sql(
                f"SELECT s.session_id, {TITLE_SQL}, coalesce(p.path, s.cwd), s.git_branch, s.first_ts_ms "
                f"FROM session s LEFT JOIN project p ON p.id = s.project_id WHERE s.session_id IN ({marks(part)})",
                list(part)).fetchall():
            out[sid] = {"title": title, "project_path": path, "git_branch": branch, "started_at": iso(first)}
    return out


def _periods(days: dict[Any, KeyUsage], start_ms: int | None, end_ms: int | None, tz: Any) -> dict[str, Any]:
    """Cost and tokens per local day, or per month for long ranges. A range of up to a year is shown whole (empty
    days too); a longer or open one from its first to its last day with usage."""
    first = slot_local_date(start_ms // SLOT_MS, tz) if start_ms is not None else None
    last = slot_local_date((end_ms - 1) // SLOT_MS, tz) if end_ms is not None else None
    if first is None or last is None or (last - first).days >= 366:
        if not days:
            return {"unit": "day", "points": []}
        first, last = max(first or min(days), min(days)), min(last or max(days), max(days))
    span = (last - first).days + 1
    unit = "day" if span <= MAX_DAILY_BARS else "month"
    buckets: dict[str, Usage] = {}
    d = first
    while d <= last:
        buckets.setdefault(_bucket(d, unit), Usage())
        d += timedelta(days=1)
    for day, entry in days.items():
        if first <= day <= last:
            buckets[_bucket(day, unit)].add(entry.total)
    return {"unit": unit, "points": [{"period": k, "cost_usd": money(u.cost), "total_tokens": u.total_tokens,
                                      "requests": u.requests} for k, u in sorted(buckets.items())]}


def _bucket(d: date, unit: str) -> str:
    return d.isoformat() if unit == "day" else d.strftime("%Y-%m")


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#0f172a;background:#f8fafc;margin:0}
main{max-width:960px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 10px}
.sub{color:#475569;margin:0 0 18px}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px}
.kpi{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:10px 12px}
.kpi b{display:block;font-size:20px}.kpi span{color:#64748b;font-size:12px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px;margin-bottom:12px}
.card h2{margin-top:0}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:12px}
@media (max-width:760px){.grid2{grid-template-columns:1fr}}
svg .grid{stroke:#e2e8f0}svg .base{stroke:#94a3b8}svg text{font:11px system-ui,sans-serif;fill:#475569}
svg .label,svg .value{fill:#0f172a}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e2e8f0;vertical-align:top}
th{background:#f1f5f9;font-weight:600}td.n,th.n{text-align:right;white-space:nowrap}
.tag{display:inline-block;background:#eef2ff;color:#3730a3;border-radius:9px;padding:0 7px;margin:1px;font-size:11px}
footer{color:#64748b;font-size:12px;margin-top:28px}
"""


def _kpi(value: str, label: str) -> str:
    return f'<div class="kpi"><b>{escape(value)}</b><span>{escape(label)}</span></div>'


def _table(headers: list[str], rows: list[list[str]], numeric: set[int]) -> str:
    if not rows:
        return '<p class="sub">Nothing in this range.</p>'
    head = "".join(f'<th{" class=n" if i in numeric else ""}>{escape(h)}</th>' for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f'<td{" class=n" if i in numeric else ""}>{c}</td>' for i, c in enumerate(r))
                   + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(data: dict[str, Any], generated_ms: int) -> str:
    t = data["totals"]
    scope = " · ".join(x for x in (data["range"]["label"].replace("_to_", " to "),
                                   data["project"] and f"project {data['project']}",
                                   data["session_id"] and f"session {data['session_id']}") if x)
    periods = data["periods"]
    sessions = [[escape(s["title"] or s["id"])[:120] + "".join(f' <span class="tag">{escape(g)}</span>'
                                                              for g in s["tags"]),
                 escape(project_name(s.get("project_path")) or ""), escape((s.get("started_at") or "")[:10]),
                 count_fmt(s["total_tokens"]), money_fmt(s["cost_usd"])] for s in data["top_sessions"]]
    models = [[escape(m["model"]), str(m["requests"]), count_fmt(m["total_tokens"]),
               "unpriced" if m["unpriced_models"] else money_fmt(m["cost_usd"])] for m in data["models"]]
    branches = [[escape(b["project_name"] or ""), escape(b["branch"] or "(none)"), str(b["sessions"]),
                 str(b["commits"]), money_fmt(b["usage"]["cost_usd"]),
                 money_fmt(b["cost_per_commit_usd"]) if b["cost_per_commit_usd"] is not None else "–"]
                for b in data["branches"]]
    island = orjson.dumps(data).decode().replace("</", "<\\/")
    return "".join([
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name=viewport content="width=device-width,initial-scale=1">',
        f"<title>Devhelion report · {escape(scope)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>Claude Code usage report</h1><p class=sub>{escape(scope)} · times in {escape(data['range']['timezone'])}"
        "</p><div class=kpis>",
        _kpi(money_fmt(t["cost_usd"]), "cost (USD)"), _kpi(count_fmt(t["total_tokens"]), "tokens"),
        _kpi(f"{t['requests']:,}", "API requests"), _kpi(f"{t['sessions']:,}", "sessions"),
        _kpi(f"{t['tool_calls']:,}", f"tool calls ({t['tool_errors']:,} failed)"), "</div>",
        f"<h2>Cost per {periods['unit']}</h2><div class=card>",
        column_chart([(p["period"], p["cost_usd"]) for p in periods["points"]], "cost-over-time",
                     f"Cost per {periods['unit']}"), "</div><div class=grid2><div class=card><h2>Cost by model</h2>",
        bar_list([(m["model"], m["cost_usd"]) for m in data["models"][:TOP]], "cost-by-model", "Cost by model"),
        "</div><div class=card><h2>Cost by project</h2>",
        bar_list([(p["project_name"], p["cost_usd"]) for p in data["projects"][:TOP]], "cost-by-project",
                 "Cost by project"),
        "</div></div><div class=card><h2>Tool calls</h2>",
        bar_list([(x["tool"], x["calls"]) for x in data["tools"][:TOP]], "tool-calls", "Tool calls", count_fmt,
                 width=900),
        "</div>",
        f"<p class=sub>Unpriced models (cost unknown, not counted): {escape(', '.join(t['unpriced_models']))}</p>"
        if t["unpriced_models"] else "",
        "<h2>Models</h2>", _table(["Model", "Requests", "Tokens", "Cost"], models, {1, 2, 3}),
        "<h2>Costliest sessions</h2>", _table(["Session", "Project", "Started", "Tokens", "Cost"], sessions, {2, 3, 4}),
        "<h2>Branches</h2>" if branches else "",
        _table(["Project", "Branch", "Sessions", "Commits", "Cost", "Per commit"], branches, {2, 3, 4, 5})
        if branches else "",
        f"<footer>Generated by Devhelion on {escape(iso(generated_ms) or '')} from the local archive. Costs are "
        "computed from token counts with the bundled price table.</footer>",
        f'<script type="application/json" id="report-data">{island}</script></main></body></html>\n',
    ])


def html_stream(db: Database, prices: PriceTable, es: ExportScope, generated_ms: int) -> Iterator[bytes]:
    yield render(report_data(db, prices, es), generated_ms).encode()
