"""Report JSON in ccusage's field names and shape, so a ccusage user can diff the two outputs.

Extra fields (the 5m/1h cache split, request counts, unpriced models, price table version) are
additions; nothing ccusage prints is renamed. Money is exact internally and printed to 6 decimals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from store.reports.sessions import SessionUsage
from store.reports.usage import PeriodUsage, Usage, grand_total
from store.timezones import format_utc_iso_ms

PERIOD_FIELD = {"daily": "date", "weekly": "week", "monthly": "month"}
_SIX = Decimal("0.000001")


def money(amount: Decimal) -> float:
    return float(amount.quantize(_SIX))


def usage_fields(u: Usage) -> dict[str, Any]:
    return {
        "inputTokens": u.input_tokens,
        "outputTokens": u.output_tokens,
        "cacheCreationTokens": u.cache_creation_tokens,
        "cacheReadTokens": u.cache_read,
        "totalTokens": u.total_tokens,
        "totalCost": money(u.cost),
        "cacheWrite5mTokens": u.cache_write_5m,
        "cacheWrite1hTokens": u.cache_write_1h,
        "webSearchRequests": u.web_search_requests,
        "requests": u.requests,
    }


def breakdowns(models: dict[str, Usage]) -> list[dict[str, Any]]:
    rows = []
    for name, u in sorted(models.items(), key=lambda kv: (-kv[1].cost, kv[0])):
        rows.append({
            "modelName": name,
            "inputTokens": u.input_tokens,
            "outputTokens": u.output_tokens,
            "cacheCreationTokens": u.cache_creation_tokens,
            "cacheReadTokens": u.cache_read,
            "cost": money(u.cost),
            "priced": not u.unpriced,
        })
    return rows


def period_report(kind: str, periods: list[PeriodUsage], meta: dict[str, Any]) -> dict[str, Any]:
    field = PERIOD_FIELD[kind]
    rows = []
    for p in periods:
        row = {field: p.key, "period": p.key, **usage_fields(p.total)}
        row["modelsUsed"] = sorted(p.models)
        row["modelBreakdowns"] = breakdowns(p.models)
        rows.append(row)
    total = grand_total(periods)
    return {kind: rows, "totals": usage_fields(total), "unpricedModels": sorted(total.unpriced), **meta}


def session_report(sessions: list[SessionUsage], meta: dict[str, Any]) -> dict[str, Any]:
    rows = []
    total = Usage()
    for s in sessions:
        total.add(s.total)
        rows.append({
            "sessionId": s.session_id,
            "projectPath": s.project_path,
            "title": s.title,
            "gitBranch": s.git_branch,
            "firstActivity": format_utc_iso_ms(s.first_ts_ms) if s.first_ts_ms is not None else None,
            "lastActivity": format_utc_iso_ms(s.last_ts_ms) if s.last_ts_ms is not None else None,
            **usage_fields(s.total),
            "modelsUsed": sorted(s.models),
            "modelBreakdowns": breakdowns(s.models),
        })
    return {"sessions": rows, "totals": usage_fields(total), "unpricedModels": sorted(total.unpriced), **meta}
