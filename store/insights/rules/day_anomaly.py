"""Day anomalies: a recent day whose tokens lie more than 2 standard deviations above the 4 weeks before it.

Days are local days (the user's time zone); the baseline counts active days only (a weekend off is not "usual
usage of zero"), and needs at least 7 of them. Each of the last 7 complete days is checked once per day.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import date, timedelta

from store.insights.base import Context, Finding, tokens_text
from store.timezones import SLOT_MS, slot_local_date

RULE = "day_anomaly"
SIGMA = 2.0
BASELINE_DAYS = 28
MIN_ACTIVE_DAYS = 7
CHECK_DAYS = 7


def daily_tokens(ctx: Context, first: date, end: date) -> dict[date, int]:
    """Tokens per local day from the usage rollup (15-minute slots map exactly to local days)."""
    days: dict[date, int] = defaultdict(int)
    rows = ctx.conn.execute(
        "SELECT slot, sum(input_tokens + output_tokens + cache_write_5m + cache_write_1h + cache_read) "
        "FROM usage_rollup WHERE slot >= ? AND slot < ? GROUP BY slot",
        (ctx.day_start(first) // SLOT_MS, ctx.day_start(end) // SLOT_MS))
    for slot, tokens in rows:
        days[slot_local_date(slot, ctx.tz)] += int(tokens or 0)
    return days


def evaluate(ctx: Context) -> list[Finding]:
    today = ctx.today
    first = today - timedelta(days=CHECK_DAYS + BASELINE_DAYS)
    daily = daily_tokens(ctx, first, today)
    findings = []
    for back in range(CHECK_DAYS, 0, -1):
        day = today - timedelta(days=back)
        tokens = daily.get(day, 0)
        baseline = [daily[d] for d in (day - timedelta(days=i) for i in range(1, BASELINE_DAYS + 1))
                    if daily.get(d, 0) > 0]
        if tokens == 0 or len(baseline) < MIN_ACTIVE_DAYS:
            continue
        mean, sd = statistics.fmean(baseline), statistics.stdev(baseline)
        if sd == 0 or (tokens - mean) / sd <= SIGMA:
            continue
        sigmas = (tokens - mean) / sd
        findings.append(Finding(
            RULE, "day:tokens", "day:" + day.isoformat(), f"Unusual usage on {day:%A %d %B}",
            f"{day.isoformat()} used {tokens:,} tokens, {sigmas:.1f} standard deviations above your average of "
            f"{mean:,.0f} per active day over the 4 weeks before ({tokens / mean:.1f}x)",
            tokens_text(tokens), "anomaly", "usage",
            {"date": day.isoformat(), "tokens": tokens, "baseline_mean": round(mean), "baseline_sd": round(sd),
             "sigmas": round(sigmas, 2)}))
    return findings
