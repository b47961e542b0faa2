"""Deterministic demo transcripts: six weeks of three projects, written the way Claude Code writes them.

``sk_test_`` keys read an archive ingested from these files, so the numbers script authors see never change: the
output depends only on ``SEED`` and ends at the fixed ``DEMO_NOW`` (the demo's "now"). The last week holds one
example of each insight rule (heavier sessions on a pricier model, an unusually busy day, idle gaps that let the
prompt cache expire, failing Bash calls, a model without a price, a subagent swarm, repeated compactions).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

SEED = 2026
DEMO_NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)  # a Monday: "last week" is 2026-06-08 .. 2026-06-14
DEMO_NOW_MS = int(DEMO_NOW.timestamp() * 1000)
WEEKS = 6
VERSION = "2.1.42"

SONNET = "claude-sonnet-4-5-20250929"
OPUS = "claude-opus-4-6"
HAIKU = "claude-haiku-4-5-20251001"
UNPRICED = "claude-nova-1-preview"  # a model the bundled price table does not know

PROJECTS = ("/home/demo/webshop", "/home/demo/data-pipeline", "/home/demo/mobile-app")
PROMPTS = (
    "Add pagination to the orders endpoint", "Why does the checkout test fail on CI?",
    "Refactor the CSV loader into smaller functions", "Write tests for the discount rules",
    "Fix the flaky retry logic in the sync job", "Explain how the cache invalidation works here",
    "Rename the user service to accounts and update the imports", "Add a dark mode toggle to settings",
    "Profile the nightly import and make it faster", "Review my last commit for bugs",
)
TOOLS = ("Read", "Read", "Grep", "Edit", "Bash", "Bash", "Glob")
MINUTE = 60_000


@dataclass
class Plan:
    """How one session behaves; the defaults are an ordinary session."""

    turns: int
    model: str = SONNET
    context: int = 14_000  # prompt tokens carried from request to request
    growth: int = 1_800  # new prompt tokens per request
    bash_errors: float = 0.04
    idle_every: int = 0  # every n-th turn starts after an idle gap longer than the cache's 5 minutes
    compact_at: tuple[int, ...] = ()
    swarm: int = 0  # this many subagents started one after the other by the first turn


@dataclass
class _Thread:
    sid: str
    cwd: str
    out: list[bytes]
    agent: str | None = None
    parent: str | None = None
    context: int = 0
    cache_warm_until: int = 0


@dataclass
class _Writer:
    root: Path
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    files: dict[Path, list[bytes]] = field(default_factory=dict)
    t: int = 0

    # -- ids and lines -------------------------------------------------------------------------------
    def hex(self, n: int) -> str:
        return f"{self.rng.getrandbits(4 * n):0{n}x}"

    def uuid(self) -> str:
        h = self.hex(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def line(self, th: _Thread, kind: str, body: dict, step_ms: tuple[int, int] = (1_000, 8_000)) -> str:
        self.t += self.rng.randint(*step_ms)
        uid = self.uuid()
        entry = {"parentUuid": th.parent, "isSidechain": th.agent is not None, "userType": "external",
                 "cwd": th.cwd, "sessionId": th.sid, "version": VERSION, "gitBranch": "main"}
        if th.agent:
            entry["agentId"] = th.agent
        entry.update({"type": kind, **body, "uuid": uid, "timestamp": _iso(self.t)})
        th.out.append(orjson.dumps(entry))
        th.parent = uid
        return uid

    def prompt(self, th: _Thread, text: str) -> None:
        self.line(th, "user", {"message": {"role": "user", "content": text}}, (20_000, 90_000))

    def response(self, th: _Thread, model: str, growth: int, blocks: list[dict]) -> None:
        """One API response; a cold cache (first call, or idle past 5 minutes) is written again in full."""
        self.t += self.rng.randint(2_000, 9_000)
        new = growth + self.rng.randint(0, growth)
        if self.t > th.cache_warm_until:
            write, read = th.context + new, 0
        else:
            write, read = new, th.context
        th.context += new
        th.cache_warm_until = self.t + 5 * MINUTE
        usage = {"input_tokens": self.rng.randint(3, 40), "cache_creation_input_tokens": write,
                 "cache_read_input_tokens": read,
                 "cache_creation": {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": 0},
                 "output_tokens": self.rng.randint(80, 1_400), "service_tier": "standard"}
        stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
        self.line(th, "assistant", {
            "message": {"model": model, "id": "msg_01" + self.hex(22), "type": "message", "role": "assistant",
                        "content": blocks, "stop_reason": stop, "stop_sequence": None, "usage": usage},
            "requestId": "req_011C" + self.hex(20)}, (0, 1))

    def tool_call(self, th: _Thread, model: str, plan: Plan, name: str) -> None:
        tid = "toolu_01" + self.hex(22)
        args = {"Bash": {"command": self.rng.choice(("pytest -q", "npm test", "ruff check .", "git status"))},
                "Grep": {"pattern": "TODO", "path": th.cwd}, "Glob": {"pattern": "**/*.py"}}.get(
            name, {"file_path": f"{th.cwd}/src/{self.rng.choice(('app', 'models', 'views', 'jobs'))}.py"})
        self.response(th, model, plan.growth, [{"type": "text", "text": "Let me look at that."},
                                               {"type": "tool_use", "id": tid, "name": name, "input": args}])
        failed = name == "Bash" and self.rng.random() < plan.bash_errors
        content = "Exit code 1\nFAILED tests/test_app.py::test_retry" if failed else "ok"
        result: dict = {"tool_use_id": tid, "type": "tool_result", "content": content}
        if failed:
            result["is_error"] = True
        self.line(th, "user", {"message": {"role": "user", "content": [result]},
                               "toolUseResult": f"Error: {content}" if failed else {"stdout": content}})

    def subagent(self, th: _Thread, model: str, index: int) -> None:
        """A Task call whose agent writes its own transcript under ``<session>/subagents/``."""
        tid, agent = "toolu_01" + self.hex(22), "a" + self.hex(16)
        self.response(th, model, 600, [{"type": "tool_use", "id": tid, "name": "Task", "input": {
            "description": f"Survey module {index}", "prompt": "Summarise this module", "subagent_type": "Explore"}}])
        path = self.root / "projects" / _encode(th.cwd) / th.sid / "subagents" / f"agent-{agent}.jsonl"
        sub = _Thread(th.sid, th.cwd, self.files.setdefault(path, []), agent=agent, context=9_000)
        self.line(sub, "user", {"message": {"role": "user", "content": "Summarise this module"}}, (500, 1_500))
        for _ in range(2):
            self.response(sub, HAIKU, 1_200, [{"type": "text", "text": "The module parses and validates input."}])
        self.line(th, "user", {"message": {"role": "user", "content": [
            {"tool_use_id": tid, "type": "tool_result", "content": [{"type": "text", "text": "Done."}]}]},
            "toolUseResult": {"status": "completed", "agentId": agent, "agentType": "Explore",
                              "content": [{"type": "text", "text": "Done."}]}}, (1_000, 3_000))

    def compact(self, th: _Thread) -> None:
        self.line(th, "system", {"subtype": "compact_boundary", "content": "Conversation compacted",
                                 "compactMetadata": {"trigger": "auto", "preTokens": th.context}})
        self.line(th, "user", {"message": {"role": "user", "content": "This session is being continued from a "
                                           "previous conversation that ran out of context. Summary: ..."},
                               "isCompactSummary": True})
        th.context = 16_000

    # -- sessions ------------------------------------------------------------------------------------
    def session(self, cwd: str, start_ms: int, plan: Plan) -> None:
        self.t = start_ms
        sid = self.uuid()
        path = self.root / "projects" / _encode(cwd) / f"{sid}.jsonl"
        th = _Thread(sid, cwd, self.files.setdefault(path, []), context=plan.context)
        for turn in range(plan.turns):
            if plan.idle_every and turn and turn % plan.idle_every == 0:
                self.t += self.rng.randint(7, 18) * MINUTE
            if turn in plan.compact_at:
                self.compact(th)
            self.prompt(th, self.rng.choice(PROMPTS))
            if turn == 0 and plan.swarm:
                for i in range(plan.swarm):
                    self.subagent(th, plan.model, i)
            for _ in range(self.rng.randint(1, 3)):
                self.tool_call(th, plan.model, plan, self.rng.choice(TOOLS))
            self.response(th, plan.model, plan.growth, [{"type": "text", "text": "Done: the change is in place."}])

    def write(self) -> None:
        for path, lines in self.files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\n".join(lines) + b"\n")


def _iso(ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def _encode(cwd: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


def _at(day: datetime, hour: int, minute: int = 0) -> int:
    return int((day + timedelta(hours=hour, minutes=minute)).timestamp() * 1000)


def generate(root: Path) -> Path:
    """Write the demo transcripts under ``root/projects`` (a Claude Code config dir); returns ``root``."""
    w = _Writer(root)
    midnight = DEMO_NOW.replace(hour=0)
    last_week = midnight - timedelta(days=7)
    day = midnight - timedelta(weeks=WEEKS)
    while day < last_week:  # ordinary weeks: two or three sessions a weekday, sometimes one at the weekend
        count = w.rng.choice((2, 2, 3)) if day.weekday() < 5 else w.rng.choice((0, 0, 1))
        for i in range(count):
            w.session(w.rng.choice(PROJECTS), _at(day, 9 + 4 * i, w.rng.randint(0, 50)), Plan(w.rng.randint(4, 8)))
        day += timedelta(days=1)
    idle = {"idle_every": 1, "bash_errors": 0.45}  # last week: caches expiring over breaks, Bash failing
    web, data, mobile = PROJECTS
    w.session(web, _at(last_week, 9), Plan(6, **idle))
    w.session(data, _at(last_week, 14), Plan(7, compact_at=(2, 4, 6), **idle))
    w.session(mobile, _at(last_week + timedelta(days=1), 10), Plan(5, compact_at=(1, 3, 4), **idle))
    w.session(web, _at(last_week + timedelta(days=2), 9), Plan(5, swarm=9, **idle))
    for hour in (8, 10, 12, 14, 16, 18):  # Thursday: an unusually busy day
        w.session(data, _at(last_week + timedelta(days=3), hour), Plan(9, context=30_000, growth=3_000, **idle))
    w.session(mobile, _at(last_week + timedelta(days=4), 11), Plan(4, model=UNPRICED, **idle))
    for offset, hour in ((4, 15), (5, 10), (6, 11), (7, 7), (7, 9)):  # the last five: heavier, on Opus
        w.session(web, _at(last_week + timedelta(days=offset), hour),
                  Plan(10, model=OPUS, context=24_000, growth=2_600, **idle))
    w.write()
    return root
