"""Error-rate jump per tool: a tool failing much more often in the last 7 days than in the 4 weeks before.

Needs real volume (10 calls each side, 3 recent errors) and a jump of 15 points that at least doubles the rate.
Rejected and interrupted calls are the user's choice, not failures, and are left out. One insight per tool a week.
"""

from __future__ import annotations

from store.insights.base import Context, Finding, percent

RULE = "tool_error_jump"
RECENT_DAYS = 7
BASELINE_DAYS = 28
MIN_CALLS = 10
MIN_ERRORS = 3
JUMP = 0.15


def evaluate(ctx: Context) -> list[Finding]:
    split = ctx.days_ago(RECENT_DAYS)
    rows = ctx.conn.execute(
        "SELECT name, sum(call_ts_ms > ?), sum(call_ts_ms > ? AND status = 'error'), sum(call_ts_ms <= ?), "
        "sum(call_ts_ms <= ? AND status = 'error') FROM tool_call WHERE call_ts_ms > ? AND call_ts_ms <= ? "
        "AND name IS NOT NULL AND status IN ('ok', 'error') GROUP BY name ORDER BY name",
        (split, split, split, split, ctx.days_ago(RECENT_DAYS + BASELINE_DAYS), ctx.now_ms))
    findings = []
    for name, calls, errors, base_calls, base_errors in rows:
        if calls < MIN_CALLS or errors < MIN_ERRORS or base_calls < MIN_CALLS:
            continue
        rate, base = errors / calls, base_errors / base_calls
        if rate < base + JUMP or rate < 2 * base:
            continue
        findings.append(Finding(
            RULE, f"tool:{name}", ctx.week, f"{name} is failing more often",
            f"{name} failed {errors} of {calls} calls ({percent(rate)}) in the last {RECENT_DAYS} days, up from "
            f"{percent(base)} ({base_errors} of {base_calls}) in the 4 weeks before",
            f"{percent(rate)} errors", "anomaly", "quality",
            {"tool": name, "calls": calls, "errors": errors, "error_rate": round(rate, 4),
             "baseline_calls": base_calls, "baseline_errors": base_errors, "baseline_error_rate": round(base, 4)}))
    return findings
