"""Subagent fan-out storms: many subagents started within a few minutes in one session, or agents nesting deep.

8 agents within 10 minutes, or a chain of 3 agents each started by the previous one, over the last 7 days.
One insight per session and local day.
"""

from __future__ import annotations

from collections import defaultdict

from store.insights.base import Context, Finding, duration_text, session_labels
from store.timezones import local_date

RULE = "subagent_storm"
WINDOW_DAYS = 7
FANOUT = 8
FANOUT_WINDOW_MS = 10 * 60_000
DEPTH = 3


def _depths(ctx: Context, sessions: list[str]) -> dict[str, int]:
    """Nesting depth of every agent of these sessions: 1 when the main thread started it."""
    parent: dict[str, str | None] = {}
    for start in range(0, len(sessions), 500):
        part = sessions[start:start + 500]
        parent.update(ctx.conn.execute(
            "SELECT s.agent_id, t.agent_id FROM subagent s LEFT JOIN tool_call t ON t.tool_use_id = "
            f"s.parent_tool_use_id WHERE s.session_id IN ({','.join('?' * len(part))})", part).fetchall())
    depths: dict[str, int] = {}
    for agent in parent:
        chain, node = [], agent
        while node is not None and node not in depths and node not in chain and len(chain) < 64:
            chain.append(node)
            node = parent.get(node)
        depth = depths.get(node, 0) if node is not None else 0
        for seen in reversed(chain):
            depth += 1
            depths[seen] = depth
    return depths


def evaluate(ctx: Context) -> list[Finding]:
    rows = ctx.conn.execute(
        "SELECT session_id, agent_id, first_ts_ms FROM subagent WHERE kind IN ('subagent', 'workflow') "
        "AND session_id IS NOT NULL AND first_ts_ms > ? AND first_ts_ms <= ? ORDER BY session_id, first_ts_ms, "
        "agent_id", (ctx.days_ago(WINDOW_DAYS), ctx.now_ms)).fetchall()
    started: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for sid, agent, ts in rows:
        started[sid].append((ts, agent))
    if not started:
        return []
    depths = _depths(ctx, sorted(started))
    labels = session_labels(ctx.conn, started)
    findings = []
    for sid, agents in started.items():
        burst, first = 0, 0
        lo = 0
        for hi in range(len(agents)):
            while agents[hi][0] - agents[lo][0] > FANOUT_WINDOW_MS:
                lo += 1
            if hi - lo + 1 > burst:
                burst, first = hi - lo + 1, lo
        depth = max((depths.get(agent, 1) for _, agent in agents), default=1)
        if burst < FANOUT and depth < DEPTH:
            continue
        storm = agents[first:first + burst] if burst >= FANOUT else agents
        span = storm[-1][0] - storm[0][0]
        tokens = ctx.conn.execute(
            "SELECT coalesce(sum(input_tokens + output_tokens + cache_write_5m + cache_write_1h + cache_read), 0) "
            f"FROM api_request WHERE session_id = ? AND agent_id IN ({','.join('?' * len(storm))})",
            [sid, *(agent for _, agent in storm)]).fetchone()[0]
        what = (f"started {burst} subagents within {duration_text(span)}" if burst >= FANOUT
                else f"nested subagents {depth} levels deep")
        nesting = f" (nesting up to {depth} levels)" if depth > 1 and burst >= FANOUT else ""
        findings.append(Finding(
            RULE, f"session:{sid}", "day:" + local_date(storm[0][0], ctx.tz).isoformat(), "Subagent fan-out storm",
            f"Session {labels[sid]} {what}{nesting}; together they used {int(tokens):,} "
            "tokens. Fewer, better-scoped agents usually cost less than a swarm",
            f"{burst} agents in {duration_text(span)}" if burst >= FANOUT else f"{depth} levels deep",
            "anomaly", "usage",
            {"session_id": sid, "agents": burst, "span_ms": span, "max_depth": depth, "tokens": int(tokens)}))
    return findings
