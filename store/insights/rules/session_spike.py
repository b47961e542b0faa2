"""Token and cost spikes: the last 5 sessions against the user's own baseline (the sessions before them).

"Your last 5 sessions used 40% more tokens than average" is only said when there are at least 10 earlier sessions
in the last 90 days, so a new user's first sessions never look like a spike. One insight per day at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from store.insights.base import PRICE_GROUP, PRICE_SUMS, Context, Finding, group_cost, money, tokens_text

RULE = "session_spike"
RECENT = 5
MIN_BASELINE = 10
THRESHOLD = 0.30  # 30 % above the baseline average
LOOKBACK_DAYS = 90


@dataclass
class _Session:
    last_ms: int = 0
    tokens: int = 0
    cost: Decimal = Decimal(0)


def sessions(ctx: Context) -> list[tuple[str, _Session]]:
    """Sessions with requests in the lookback window, newest activity first."""
    result: dict[str, _Session] = {}
    rows = ctx.conn.execute(
        f"SELECT session_id, max(ts_ms), {PRICE_GROUP}, {PRICE_SUMS} FROM api_request "
        "WHERE ts_ms > ? AND ts_ms <= ? AND model IS NOT NULL GROUP BY session_id, 3, 4, 5, 6",
        (ctx.days_ago(LOOKBACK_DAYS), ctx.now_ms))
    for sid, last_ms, *group in rows:
        s = result.setdefault(sid, _Session())
        s.last_ms = max(s.last_ms, last_ms)
        s.tokens += sum(int(t or 0) for t in group[4:9])
        s.cost += group_cost(ctx.prices, tuple(group)) or 0
    return sorted(result.items(), key=lambda item: (-item[1].last_ms, item[0]))


def evaluate(ctx: Context) -> list[Finding]:
    ordered = sessions(ctx)
    recent, baseline = ordered[:RECENT], ordered[RECENT:]
    if len(recent) < RECENT or len(baseline) < MIN_BASELINE:
        return []
    period = "day:" + ctx.today.isoformat()
    findings = []
    recent_tokens = sum(s.tokens for _, s in recent) / RECENT
    base_tokens = sum(s.tokens for _, s in baseline) / len(baseline)
    if base_tokens > 0 and recent_tokens >= base_tokens * (1 + THRESHOLD):
        more = recent_tokens / base_tokens - 1
        findings.append(Finding(
            RULE, "sessions:tokens", period, "High Token Usage Detected",
            f"Your last {RECENT} sessions used {more:.0%} more tokens than average "
            f"({recent_tokens:,.0f} vs {base_tokens:,.0f} per session over the {len(baseline)} sessions before them)",
            tokens_text(recent_tokens), "trend", "performance",
            {"recent_avg_tokens": round(recent_tokens), "baseline_avg_tokens": round(base_tokens),
             "increase": round(more, 4), "sessions": [sid for sid, _ in recent]}))
    recent_cost = sum((s.cost for _, s in recent), Decimal(0)) / RECENT
    base_cost = sum((s.cost for _, s in baseline), Decimal(0)) / len(baseline)
    if base_cost > 0 and recent_cost >= base_cost * Decimal(1 + THRESHOLD):
        more = float(recent_cost / base_cost) - 1
        findings.append(Finding(
            RULE, "sessions:cost", period, "Session costs are up",
            f"Your last {RECENT} sessions cost {more:.0%} more than average ({money(recent_cost)} vs "
            f"{money(base_cost)} per session over the {len(baseline)} sessions before them)",
            money(recent_cost), "trend", "cost",
            {"recent_avg_usd": str(recent_cost.quantize(Decimal("0.000001"))),
             "baseline_avg_usd": str(base_cost.quantize(Decimal("0.000001"))), "increase": round(more, 4)}))
    return findings
