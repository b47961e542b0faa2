"""The most expensive sessions of last week (the last complete week, by the user's first day of the week)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from store.insights.base import PRICE_GROUP, PRICE_SUMS, Context, Finding, group_cost, money, session_labels

RULE = "expensive_sessions"
TOP = 3


def evaluate(ctx: Context) -> list[Finding]:
    first, nxt = ctx.last_full_week()
    costs: dict[str, Decimal] = defaultdict(Decimal)
    for sid, *group in ctx.conn.execute(
            f"SELECT session_id, {PRICE_GROUP}, {PRICE_SUMS} FROM api_request WHERE ts_ms >= ? AND ts_ms < ? "
            "AND model IS NOT NULL GROUP BY session_id, 2, 3, 4, 5", (ctx.day_start(first), ctx.day_start(nxt))):
        costs[sid] += group_cost(ctx.prices, tuple(group)) or 0
    ranked = sorted(((cost, sid) for sid, cost in costs.items() if cost > 0), key=lambda c: (-c[0], c[1]))
    if not ranked:
        return []
    total = sum((cost for cost, _ in ranked), Decimal(0))
    top = ranked[:TOP]
    labels = session_labels(ctx.conn, (sid for _, sid in top))
    listing = "; ".join(f"{i}. {labels[sid]}: {money(cost)}" for i, (cost, sid) in enumerate(top, 1))
    share = sum((cost for cost, _ in top), Decimal(0)) / total
    return [Finding(
        RULE, "week", "week:" + first.isoformat(), "Most expensive sessions last week",
        f"Week of {first.isoformat()}: {listing} ({float(share):.0%} of the week's {money(total)} over "
        f"{len(ranked)} sessions)",
        money(top[0][0]), "trend", "cost",
        {"week": first.isoformat(), "total_usd": str(total.quantize(Decimal("0.000001"))),
         "sessions": [{"session_id": sid, "cost_usd": str(cost.quantize(Decimal("0.000001")))} for cost, sid in top]})]
