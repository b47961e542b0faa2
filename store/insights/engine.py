"""Run every insight rule over an archive and store what is new."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from store.insights import records
from store.insights.base import Context, Finding
from store.insights.rules import (
    cache_drop,
    cache_expiry,
    compactions,
    day_anomaly,
    expensive_sessions,
    session_spike,
    subagent_storm,
    tool_errors,
    unpriced_model,
)

log = logging.getLogger(__name__)

RULES = (session_spike, day_anomaly, cache_drop, cache_expiry, tool_errors, unpriced_model, subagent_storm,
         compactions, expensive_sessions)


def evaluate(ctx: Context) -> list[Finding]:
    """Every rule's findings, in rule order; a rule that fails is logged and skipped (the others still run)."""
    findings: list[Finding] = []
    for rule in RULES:
        try:
            findings.extend(rule.evaluate(ctx))
        except sqlite3.Error as exc:
            log.warning("insight rule %s failed: %s", rule.RULE, exc)
    return findings


def run_insights(ctx: Context) -> list[dict[str, Any]]:
    """Evaluate and store; returns the insights created by this run (as the data API shows them)."""
    return records.save(ctx.conn, evaluate(ctx), ctx.now_ms)
