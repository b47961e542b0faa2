"""Deterministic generator of realistic Claude Code transcript trees, for benchmarks and exactness tests.

Real transcripts cannot be shipped, and hand-written fixtures miss the traps that break usage
accounting: one API response split over several lines that repeat a growing ``usage``, resumed
sessions that replay earlier lines into a new file, ``agent_progress`` lines embedding copies of
subagent usage, three subagent layouts, compaction calls, malformed lines.  This module writes a
tree with all of them and records the *true* deduplicated totals from its own ground truth (never
by re-parsing) in ``OUT_DIR/manifest.json``.

CLI::

    python bench/loggen.py OUT_DIR --size-mb 200 [--seed 1] [--overwrite]
    python bench/loggen.py --append-turn SESSION.jsonl [--seed 7]

Library: ``generate(out_dir, size_mb=..., seed=...) -> manifest`` and ``append_turn(path, seed)``.
The output is byte-identical for the same (size, seed); timestamps end at the fixed ``END`` date.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

try:
    from bench.loggen_text import IDENTS, NOUNS, WORDS, pools
except ImportError:  # run as a script (`python bench/loggen.py`): bench/ itself is on sys.path
    from loggen_text import IDENTS, NOUNS, WORDS, pools  # type: ignore[no-redef]

GENERATOR_VERSION = 1
#: Last instant covered by generated data: fixed so that output never depends on "now".
END = datetime(2026, 4, 15, tzinfo=UTC)
#: The window spans the US (2026-03-08) and EU (2026-03-29) DST changes.
WINDOW_DAYS = 60
START = END - timedelta(days=WINDOW_DAYS)
_START_MS = int(START.timestamp() * 1000)
_DAY_MS = 86_400_000

MODEL_OPUS = "claude-opus-4-6"
MODEL_SONNET = "claude-sonnet-4-5-20250929"
MODEL_HAIKU = "claude-haiku-4-5-20251001"
MODEL_SYNTHETIC = "<synthetic>"

# era -> (versions, weight).  1.0: inline sidechains; 2.0: sibling agent files; 2.1: subagents/ dir.
_VERSIONS = {
    "1.0": ["1.0.43", "1.0.51", "1.0.98", "1.0.113", "1.0.128"],
    "2.0": ["2.0.31", "2.0.37", "2.0.42", "2.0.55"],
    "2.1": ["2.1.39", "2.1.42", "2.1.63", "2.1.89", "2.1.114"],
}
_ERA_WEIGHTS = [("1.0", 0.08), ("2.0", 0.14), ("2.1", 0.78)]

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B62_FIX = bytes.maketrans(b"+/", b"xK")
_TS_CACHE: dict[int, str] = {}


def _ts(ms: int) -> str:
    """ISO-8601 UTC with milliseconds, as Claude Code writes it (minute prefix cached: hot path)."""
    minute, rest = divmod(ms, 60_000)
    prefix = _TS_CACHE.get(minute)
    if prefix is None:
        if len(_TS_CACHE) > 100_000:
            _TS_CACHE.clear()
        t = time.gmtime(minute * 60)
        prefix = _TS_CACHE[minute] = f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:"
    return f"{prefix}{rest // 1000:02d}.{rest % 1000:03d}Z"


def encode_cwd(cwd: str) -> str:
    """Project folder name: every char outside [A-Za-z0-9] becomes '-' (format notes §1.2)."""
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


def _version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


@dataclass
class _Ledger:
    """Ground truth: every API response is recorded once, when it is generated."""

    agg: dict[tuple[int, str, str], list[int]] = field(default_factory=dict)
    synthetic: int = 0
    straddling: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, day: int, model: str, speed: str, u: tuple[int, int, int, int, int]) -> None:
        row = self.agg.get((day, model, speed))
        if row is None:
            row = self.agg[(day, model, speed)] = [0, 0, 0, 0, 0, 0]
        row[0] += u[0]
        row[1] += u[1]
        row[2] += u[2]
        row[3] += u[3]
        row[4] += u[4]
        row[5] += 1

    def inc(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


@dataclass
class _Thread:
    """One conversation chain (main thread or a subagent) writing into one buffer."""

    out: list[bytes]
    env: dict
    model: str
    era: str
    version: str
    parent: str | None = None
    ctx: int = 15_000
    ttl_1h: bool = False
    speed: str | None = None
    cache_obj: bool = True
    hooks: bool = False
    mirror: Callable[[dict], None] | None = None
    is_sub: bool = False
    last_usage: dict | None = None
    n_tools: int = 0


class _Gen:
    """Writes one tree; all randomness comes from ``self.rng`` so output is reproducible."""

    def __init__(self, root: Path, target_bytes: int, seed: int) -> None:
        self.root = root
        self.projects_dir = root / "projects"
        self.target = target_bytes
        self.rng = random.Random(seed)
        self.seed = seed
        self.p = pools()
        self.ledger = _Ledger()
        self.t = _START_MS
        self.bytes = 0
        self.files = 0
        self.lines = 0
        self.malformed = 0
        self.line_types: dict[str, int] = {}
        self.pending: dict[Path, list[bytes]] = {}
        self.max_ts = 0

    # ---- ids -------------------------------------------------------------------------------
    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"

    def b62(self, n: int) -> str:
        """Base62-looking id (msg_/req_/toolu_ suffixes); 6 random bits per char keeps them unique."""
        return base64.b64encode(self.rng.randbytes((n * 3 + 3) // 4)).translate(_B62_FIX)[:n].decode()

    def ri(self, lo: int, hi: int) -> int:
        """Fast ``randint`` (the stdlib one dominated the profile)."""
        return lo + int(self.rng.random() * (hi - lo + 1))

    def hexid(self, n: int) -> str:
        return f"{self.rng.getrandbits(4 * n):0{n}x}"

    # ---- output ----------------------------------------------------------------------------
    def emit(self, out: list[bytes], obj: dict) -> None:
        b = orjson.dumps(obj)
        out.append(b)
        self.lines += 1
        self.bytes += len(b) + 1
        t = obj.get("type", "?")
        self.line_types[t] = self.line_types.get(t, 0) + 1

    def emit_raw(self, out: list[bytes], b: bytes, counted_type: str | None = None) -> None:
        out.append(b)
        self.lines += 1
        self.bytes += len(b) + 1
        if counted_type:
            self.line_types[counted_type] = self.line_types.get(counted_type, 0) + 1

    def new_file(self, path: Path) -> list[bytes]:
        buf: list[bytes] = []
        self.pending[path] = buf
        return buf

    def write_aux(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.files += 1
        self.bytes += len(data)

    def flush(self, mtime_ms: int) -> None:
        for path, buf in self.pending.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            data = b"\n".join(buf) + b"\n" if buf else b""
            with open(path, "wb", buffering=1 << 20) as f:
                f.write(data)
            os.utime(path, (mtime_ms / 1000, mtime_ms / 1000))
            self.files += 1
        self.pending = {}

    def before_midnight(self, ms: int) -> int:
        """The next instant ``ms`` before a UTC midnight (never moves the clock backwards)."""
        t = (self.t // _DAY_MS + 1) * _DAY_MS - ms
        return t if t > self.t else t + _DAY_MS

    def tick(self, lo: int, hi: int) -> int:
        self.t += self.ri(lo, hi)
        self.max_ts = max(self.max_ts, self.t)
        return self.t

    # ---- line builders ---------------------------------------------------------------------
    def base(self, th: _Thread, typ: str) -> dict:
        d = th.env.copy()
        d["parentUuid"] = th.parent
        d["type"] = typ
        return d

    def user_line(self, th: _Thread, content: object, extra: dict | None = None,
                  root: bool = False) -> str:
        d = self.base(th, "user")
        if root:
            d["parentUuid"] = None
        d["message"] = {"role": "user", "content": content}
        u = self.uuid()
        d["uuid"] = u
        d["timestamp"] = _ts(self.tick(200, 3000))
        if extra:
            d.update(extra)
        self.emit(th.out, d)
        th.parent = u
        if th.mirror:
            th.mirror(d)
        return u

    def progress(self, th: _Thread, data: dict, tool_use_id: str, parent_tool: str) -> None:
        d = self.base(th, "progress")
        d["data"] = data
        d["toolUseID"] = tool_use_id
        d["parentToolUseID"] = parent_tool
        u = self.uuid()
        d["uuid"] = u
        d["timestamp"] = _ts(self.tick(50, 1500))
        self.emit(th.out, d)
        th.parent = u

    def system(self, th: _Thread, subtype: str | None, extra: dict) -> None:
        d = self.base(th, "system")
        if subtype:
            d["subtype"] = subtype
        d.update(extra)
        u = self.uuid()
        d["uuid"] = u
        d["timestamp"] = _ts(self.tick(5, 200))
        self.emit(th.out, d)
        th.parent = u

    def response(self, th: _Thread, blocks: list[dict], straddle: bool = False,
                 big_cache_read: bool = False) -> list[str]:
        """One API response written as one line per content block, usage repeated (§6.2)."""
        rng = self.rng
        mid = "msg_01" + self.b62(22)
        rid = "req_011C" + self.b62(20)
        r = rng.random()
        inp = self.ri(1, 12) if r < 0.85 else self.ri(50, 4000)
        new = self.ri(150, 2500) if rng.random() < 0.8 else self.ri(3000, 25000)
        cread = th.ctx if not big_cache_read else th.ctx + self.ri(0, 5000)
        if rng.random() < 0.03:  # cache miss: everything rewritten
            new, cread = new + cread, 0
        est = sum(len(b.get("text") or b.get("thinking") or "") for b in blocks) // 4
        est += sum(len(orjson.dumps(b["input"])) // 4 for b in blocks if b["type"] == "tool_use")
        final_out = max(2, est + self.ri(1, 120))
        early = self.ri(1, min(30, final_out - 1)) if final_out > 1 else 1
        # pre-1.0.98 lines have no TTL split: ccusage prices all cache writes at the 5m rate
        cc5, cc1h = (0, new) if th.ttl_1h and th.cache_obj else (new, 0)
        cc = {"ephemeral_5m_input_tokens": cc5, "ephemeral_1h_input_tokens": cc1h}
        model = th.model
        speed = th.speed or "standard"
        if straddle:
            # put the first line 0.3 s before UTC midnight so the response spans two days
            self.t = self.before_midnight(300)
        uuids: list[str] = []
        first_day = self.t // _DAY_MS
        n = len(blocks)
        out_val = early
        for i, blk in enumerate(blocks):
            last = i == n - 1
            if last:
                out_val = final_out
            elif i > 0 and rng.random() < 0.3:
                out_val = min(final_out - 1, out_val + self.ri(0, 5))
            usage: dict = {"input_tokens": inp, "cache_creation_input_tokens": new,
                           "cache_read_input_tokens": cread}
            if th.cache_obj:
                usage["cache_creation"] = cc
            usage["output_tokens"] = out_val
            usage["service_tier"] = "standard"
            if th.era == "2.1":
                usage["inference_geo"] = "not_available"
            if th.speed:
                usage["speed"] = th.speed
            d = self.base(th, "assistant")
            d["message"] = {"model": model, "id": mid, "type": "message", "role": "assistant",
                            "content": [blk], "stop_reason": None, "stop_sequence": None, "usage": usage}
            d["requestId"] = rid
            u = self.uuid()
            d["uuid"] = u
            d["timestamp"] = _ts(self.tick(250, 2500) if i or not straddle else self.t)
            self.emit(th.out, d)
            if th.mirror:
                th.mirror(d)
            th.parent = u
            uuids.append(u)
            if i == 0:
                first_day = self.t // _DAY_MS
            if last:
                day = self.t // _DAY_MS
                if day != first_day:
                    self.ledger.straddling += 1
                self.ledger.add(day, model, speed, (inp, final_out, cc5, cc1h, cread))
                th.last_usage = usage
        self.max_ts = max(self.max_ts, self.t)
        th.ctx = cread + new + inp + final_out
        return uuids

    def synthetic(self, th: _Thread) -> None:
        """Client-made error notice: ``<synthetic>`` model, zero usage, no requestId."""
        d = self.base(th, "assistant")
        text = self.rng.choice(["API Error: Request was aborted.", "No response requested.",
                                "API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}"])
        d["message"] = {"id": self.uuid(), "model": MODEL_SYNTHETIC, "role": "assistant",
                        "stop_reason": "stop_sequence", "stop_sequence": "", "type": "message",
                        "usage": {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                                  "cache_read_input_tokens": 0,
                                  "server_tool_use": {"web_search_requests": 0}, "service_tier": None},
                        "content": [{"type": "text", "text": text}]}
        u = self.uuid()
        d["uuid"] = u
        d["timestamp"] = _ts(self.tick(100, 2000))
        d["isApiErrorMessage"] = True
        self.emit(th.out, d)
        th.parent = u
        self.ledger.synthetic += 1

    def malformed_line(self, out: list[bytes], kind: str | None = None) -> None:
        rng = self.rng
        kind = kind or rng.choice(["truncated", "truncated", "nonobject", "binary"])
        if kind == "truncated" and out:
            src = out[rng.randrange(len(out))]
            b = src[: max(1, int(len(src) * rng.uniform(0.2, 0.9)))]
            if b == src:
                b = src[:-1]
        elif kind == "binary":
            b = rng.randbytes(self.ri(20, 300)).replace(b"\n", b"\x00")
        else:
            b = rng.choice([b"[1, 2, 3]", b'"just a string"', b"42", b"null", b"true", b"[]"])
        self.emit_raw(out, b)
        self.malformed += 1
        self.ledger.inc(f"malformed_{kind}")

    # ---- tools -----------------------------------------------------------------------------
    def pick_tool(self, th: _Thread) -> str:
        r = self.rng.random()
        if th.is_sub:
            return "Read" if r < 0.5 else "Grep" if r < 0.7 else "Glob" if r < 0.8 else "Bash"
        table = [(0.33, "Read"), (0.55, "Bash"), (0.67, "Edit"), (0.74, "Grep"), (0.78, "Glob"),
                 (0.82, "Write"), (0.88, "TodoWrite"), (0.91, "Task"), (0.94, "WebFetch"),
                 (0.96, "WebSearch"), (0.98, "mcp__github__get_issue"), (1.0, "MultiEdit")]
        for p, name in table:
            if r < p:
                return name
        return "Read"

    def tool_input(self, th: _Thread, name: str, cwd: str) -> tuple[dict, dict]:
        """Tool-use input plus private state needed to build the matching result."""
        rng, p = self.rng, self.p
        fi = rng.randrange(len(p.files))
        rel, raw, _ = p.files[fi]
        path = f"{cwd}/{rel}"
        st = {"fi": fi, "path": path}
        if name == "Read":
            inp = {"file_path": path}
            if len(raw) > 80 and rng.random() < 0.4:
                off = rng.randrange(len(raw) - 40)
                lim = self.ri(30, 120)
                inp.update(offset=off + 1, limit=lim)
                st.update(a=off, b=min(len(raw), off + lim))
            else:
                st.update(a=0, b=min(len(raw), 2000))
            return inp, st
        if name == "Bash":
            cmd = rng.choice(["pytest -q", "ruff check .", "git status", "git diff --stat", "ls -la src",
                              "python -m build", "npm test", "grep -rn TODO src"])
            return {"command": cmd, "description": p.text(rng, self.ri(20, 60)).strip()}, st
        if name in ("Edit", "MultiEdit"):
            a = rng.randrange(max(1, len(raw) - 20))
            old = "\n".join(raw[a : a + self.ri(1, 12)])
            new = old.replace("self", "ctx") + "\n" + p.text(rng, self.ri(0, 400))
            st.update(old=old, new=new, a=a)
            if name == "MultiEdit":
                return {"file_path": path, "edits": [{"old_string": old, "new_string": new}]}, st
            return {"file_path": path, "old_string": old, "new_string": new}, st
        if name == "Write":
            a = rng.randrange(len(raw))
            content = "\n".join(raw[a : a + self.ri(20, 200)])
            st["content"] = content
            return {"file_path": path, "content": content}, st
        if name == "Grep":
            return {"pattern": rng.choice(IDENTS) + "_" + rng.choice(NOUNS), "path": cwd,
                    "output_mode": rng.choice(["files_with_matches", "content"])}, st
        if name == "Glob":
            return {"pattern": "**/*.py", "path": f"{cwd}/src"}, st
        if name == "TodoWrite":
            todos = [{"content": p.text(rng, self.ri(20, 80)).strip(), "status": rng.choice(
                ["pending", "in_progress", "completed"]), "activeForm": "Working"} for _ in range(self.ri(2, 7))]
            st["todos"] = todos
            return {"todos": todos}, st
        if name == "Task":
            explore = rng.random() < 0.6
            st["agent_type"] = "Explore" if explore else "general-purpose"
            prompt = p.text(rng, self.ri(200, 900))
            st["prompt"] = prompt
            inp = {"description": p.text(rng, 30).strip(), "prompt": prompt, "subagent_type": st["agent_type"]}
            if explore and rng.random() < 0.3:
                inp["model"] = "haiku"
            return inp, st
        if name == "Workflow":
            return {"script": "review", "args": {"areas": ["loader", "parser"]}}, st
        if name == "WebFetch":
            return {"url": f"https://docs.example.com/{rng.choice(NOUNS)}", "prompt": p.text(rng, 80)}, st
        if name == "WebSearch":
            return {"query": p.text(rng, 40).strip()}, st
        return {"owner": "acme", "repo": "app", "issue_number": self.ri(1, 999)}, st

    def tool_result(self, th: _Thread, name: str, inp: dict, st: dict) -> tuple[object, object, bool]:
        """(tool_result.content, toolUseResult, is_error) with realistic sizes."""
        rng, p = self.rng, self.p
        if rng.random() < 0.05 and name not in ("Task", "Workflow", "TodoWrite"):
            r = rng.random()
            if r < 0.4:
                return ("<tool_use_error>File does not exist.</tool_use_error>", "Error: File does not exist.", True)
            if r < 0.7:
                out = p.bash(rng, self.ri(3, 40))
                return (f"Exit code 1\n{out}", f"Error: Exit code 1\n{out}", True)
            if r < 0.9:
                return ("The user doesn't want to proceed with this tool use. The tool use was rejected "
                        "(eg. if it was a file edit, the new_string was NOT written to the file). STOP what "
                        "you are doing and wait for the user to tell you how to proceed.",
                        "User rejected tool use", True)
            return ("<tool_use_error>Sibling tool call errored</tool_use_error>", "Sibling tool call errored", True)
        _, raw, numbered = p.files[st["fi"]]
        if name == "Read":
            a, b = st["a"], st["b"]
            content = "\n".join(raw[a:b])
            return ("\n".join(numbered[a:b]),
                    {"type": "text", "file": {"filePath": st["path"], "content": content, "numLines": b - a,
                                              "startLine": a + 1, "totalLines": len(raw)}}, False)
        if name == "Bash":
            out = p.bash(rng, rng.choice([0, 1, 3, 8, 20, 40, 80]))
            return (out or "(no content)", {"stdout": out, "stderr": "", "interrupted": False, "isImage": False},
                    False)
        if name in ("Edit", "MultiEdit"):
            a = st["a"]
            patch = [{"oldStart": a + 1, "oldLines": st["old"].count("\n") + 1, "newStart": a + 1,
                      "newLines": st["new"].count("\n") + 1,
                      "lines": ["-" + s for s in st["old"].split("\n")] + ["+" + s for s in st["new"].split("\n")]}]
            snippet = "\n".join(numbered[max(0, a - 4) : a + 8])
            res = {"filePath": st["path"], "oldString": st["old"], "newString": st["new"],
                   "originalFile": "\n".join(raw), "structuredPatch": patch, "userModified": False,
                   "replaceAll": False}
            return (f"The file {st['path']} has been updated. Here's the result of running `cat -n` on a "
                    f"snippet of the edited file:\n{snippet}", res, False)
        if name == "Write":
            return (f"File created successfully at: {st['path']}",
                    {"type": "create", "filePath": st["path"], "content": st["content"], "structuredPatch": []},
                    False)
        if name in ("Grep", "Glob"):
            files = [f"{th.env['cwd']}/{p.files[rng.randrange(len(p.files))][0]}" for _ in range(self.ri(0, 30))]
            if name == "Grep" and inp.get("output_mode") == "content":
                txt = "\n".join(f"{f}:{self.ri(1, 500)}:{p.text(rng, 60)}" for f in files)
                return (txt or "No matches found", {"mode": "content", "numFiles": len(files), "filenames": [],
                                                    "content": txt, "numLines": len(files)}, False)
            res: dict = {"filenames": files, "numFiles": len(files)}
            if name == "Glob":
                res.update(durationMs=self.ri(2, 90), truncated=False)
            else:
                res["mode"] = "files_with_matches"
            return ("\n".join(files) or "No files found", res, False)
        if name == "TodoWrite":
            return ("Todos have been modified successfully. Ensure that you continue to use the todo list to "
                    "track your progress.", {"oldTodos": [], "newTodos": st["todos"]}, False)
        if name == "WebFetch":
            txt = p.text(rng, self.ri(1000, 8000))
            return (txt, {"bytes": len(txt) * 3, "code": 200, "codeText": "OK", "result": txt,
                          "durationMs": self.ri(300, 5000), "url": inp["url"]}, False)
        if name == "WebSearch":
            results = [{"title": p.text(rng, 40), "url": f"https://example.com/{i}"} for i in range(8)]
            txt = p.text(rng, self.ri(800, 3000))
            return (txt, {"query": inp["query"], "results": [{"tool_use_id": "srvtoolu_01" + self.b62(22),
                                                              "content": results}, txt],
                          "durationSeconds": rng.uniform(2, 9)}, False)
        txt = p.text(rng, self.ri(300, 3000))
        return ([{"type": "text", "text": txt}], [{"type": "text", "text": txt}], False)

    # ---- conversation ----------------------------------------------------------------------
    def blocks_for(self, th: _Thread, final: bool, cwd: str) -> tuple[list[dict], list[tuple[str, dict, dict]]]:
        rng, p = self.rng, self.p
        blocks: list[dict] = []
        if th.era != "1.0" and rng.random() < 0.25:
            blocks.append({"type": "thinking", "thinking": p.text(rng, self.ri(80, 1200)),
                           "signature": p.sig(rng, self.ri(200, 1400))})
        if final or rng.random() < 0.3:
            blocks.append({"type": "text", "text": p.text(rng, self.ri(40, 2000 if final else 400))})
        calls: list[tuple[str, dict, dict]] = []
        if not final:
            k = 1 if rng.random() < 0.9 else self.ri(2, 4)
            for _ in range(k):
                name = self.pick_tool(th)
                if name == "Task" and _version_tuple(th.version) >= (2, 1, 63):
                    name = "Agent"
                inp, st = self.tool_input(th, "Task" if name == "Agent" else name, cwd)
                tid = "toolu_01" + self.b62(22)
                blk = {"type": "tool_use", "id": tid, "name": name, "input": inp}
                if th.era == "2.1":
                    blk["caller"] = {"type": "direct"}
                blocks.append(blk)
                calls.append((tid, blk, st))
        return blocks, calls

    def run_tool(self, th: _Thread, sess: _Session, tid: str, blk: dict, st: dict, asst_uuid: str) -> None:
        name = blk["name"]
        th.n_tools += 1
        self.ledger.inc("tool_uses")
        if th.hooks and th.era == "2.1":
            for cmd in ("~/.claude/hooks/guard.sh", "~/.claude/hooks/audit.sh")[: 1 + (th.n_tools & 1)]:
                self.progress(th, {"type": "hook_progress", "hookEvent": "PreToolUse",
                                   "hookName": f"PreToolUse:{name}", "command": cmd}, self.uuid(), tid)
        if name in ("Task", "Agent"):
            content, tur = self.run_subagent(th, sess, tid, blk, st)
            err = False
        elif name == "Workflow":
            content, tur = self.run_workflow(th, sess, tid)
            err = False
        else:
            if name == "Bash" and th.era == "2.1":
                for i in range(self.rng.choice([0, 1, 2, 4, 8])):
                    out = self.p.bash(self.rng, 2 * (i + 1))
                    self.progress(th, {"type": "bash_progress", "output": out, "fullOutput": out,
                                       "elapsedTimeSeconds": i + 2, "totalLines": 2 * (i + 1), "timeoutMs": 120000},
                                  f"bash-progress-{i}", tid)
            content, tur, err = self.tool_result(th, name, blk["input"], st)
        if th.hooks and th.era == "2.1" and not err:
            for cmd in ("~/.claude/hooks/fmt.sh", "~/.claude/hooks/lint.sh"):
                self.progress(th, {"type": "hook_progress", "hookEvent": "PostToolUse",
                                   "hookName": f"PostToolUse:{name}", "command": cmd}, self.uuid(), tid)
        if th.era == "1.0" and th.hooks:
            self.system(th, None, {"content": f"Running \u001b[1mPostToolUse:{name}\u001b[22m...",
                                   "isMeta": False, "level": "info", "toolUseID": tid})
        res: dict = {"tool_use_id": tid, "type": "tool_result", "content": content}
        if err:
            res["is_error"] = True
            self.ledger.inc("tool_errors")
        extra: dict = {"toolUseResult": tur}
        if th.era == "2.1":
            extra["sourceToolAssistantUUID"] = asst_uuid
        self.user_line(th, [res], extra)
        if name in ("Edit", "Write", "MultiEdit") and th.era != "1.0" and not th.is_sub and th.n_tools & 1:
            self.snapshot(th, sess.last_prompt, update=True, path=st["path"])

    def run_subagent(self, th: _Thread, sess: _Session, tid: str, blk: dict, st: dict) -> tuple[object, dict]:
        """Spawn a subagent in the layout of the session's era and return the Task result."""
        rng = self.rng
        era = th.era
        prompt = st["prompt"]
        model = MODEL_HAIKU if st["agent_type"] == "Explore" else rng.choice([th.model, MODEL_SONNET])
        env = th.env.copy()
        env["isSidechain"] = True
        agent_id = None
        if era == "1.0":
            out = th.out
            self.ledger.inc("subagents_inline")
        elif era == "2.0":
            agent_id = self.hexid(8)
            out = self.new_file(sess.project_dir / f"agent-{agent_id}.jsonl")
            self.ledger.inc("subagents_sibling")
        else:
            agent_id = self.hexid(7) if _version_tuple(th.version) < (2, 1, 50) else "a" + self.hexid(16)
            out = self.new_file(sess.companion / "subagents" / f"agent-{agent_id}.jsonl")
            self.ledger.inc("subagents_dir")
            if _version_tuple(th.version) >= (2, 1, 63):
                meta = {"agentType": st["agent_type"], "description": blk["input"]["description"], "toolUseId": tid}
                self.write_aux(sess.companion / "subagents" / f"agent-{agent_id}.meta.json", orjson.dumps(meta))
        if agent_id:
            keys = list(env)
            env = {k: env[k] for k in keys[: keys.index("gitBranch") + 1]} | {"agentId": agent_id} | {
                k: env[k] for k in keys[keys.index("gitBranch") + 1 :]}
        mirror = None
        if era == "2.1":
            def mirror(d: dict, _aid: str = agent_id or "", _tid: str = tid) -> None:
                msg = {"type": d["type"], "message": d["message"], "uuid": d["uuid"], "timestamp": d["timestamp"]}
                if "requestId" in d:
                    msg["requestId"] = d["requestId"]
                self.progress(th, {"message": msg, "normalizedMessages": [], "type": "agent_progress",
                                   "prompt": prompt, "agentId": _aid}, "agent_msg_01" + self.b62(22), _tid)
        sub = _Thread(out=out, env=env, model=model, era=era, version=th.version, parent=None,
                      ctx=self.ri(8000, 20000), ttl_1h=False, speed=None, cache_obj=th.cache_obj,
                      hooks=False, mirror=mirror, is_sub=True)
        t0 = self.t
        self.user_line(sub, prompt if era != "2.1" else [{"type": "text", "text": prompt}], root=True)
        n = self.ri(2, 10)
        for i in range(n):
            final = i == n - 1
            blocks, calls = self.blocks_for(sub, final, th.env["cwd"])
            uu = self.response(sub, blocks)
            for ctid, cblk, cst in calls:
                self.run_tool(sub, sess, ctid, cblk, cst, uu[-1])
        text = self.p.text(rng, self.ri(500, 3000))
        u = sub.last_usage or {}
        total = sum(u.get(k, 0) for k in ("input_tokens", "output_tokens", "cache_creation_input_tokens",
                                           "cache_read_input_tokens"))
        tur: dict = {"status": "completed", "prompt": prompt, "content": [{"type": "text", "text": text}],
                     "totalDurationMs": self.t - t0, "totalTokens": total, "totalToolUseCount": sub.n_tools,
                     "usage": u}
        if agent_id:
            tur["agentId"] = agent_id
            text += f"\n\nagentId: {agent_id} (for resuming to continue this agent's work if needed)"
        if era == "1.0":
            del tur["status"], tur["prompt"]
        return [{"type": "text", "text": text}], tur

    def run_workflow(self, th: _Thread, sess: _Session, tid: str) -> tuple[object, dict]:
        """2.1.x Workflow run: agents under subagents/workflows/<runId>/ plus journal and summary."""
        rng = self.rng
        run_id = "wf_" + self.hexid(8)
        wdir = sess.companion / "subagents" / "workflows" / run_id
        journal: list[bytes] = []
        for _ in range(self.ri(2, 3)):
            aid = "a" + self.hexid(16)
            env = th.env.copy()
            env["isSidechain"] = True
            env["agentId"] = aid
            sub = _Thread(out=self.new_file(wdir / f"agent-{aid}.jsonl"), env=env, model=MODEL_SONNET, era="2.1",
                          version=th.version, ctx=self.ri(6000, 12000), cache_obj=True, is_sub=True)
            self.write_aux(wdir / f"agent-{aid}.meta.json", b'{"agentType":"workflow-subagent"}')
            self.user_line(sub, [{"type": "text", "text": self.p.text(rng, 300)}], root=True)
            for i in range(self.ri(1, 4)):
                blocks, calls = self.blocks_for(sub, i == 3, th.env["cwd"])
                uu = self.response(sub, blocks)
                for ctid, cblk, cst in calls:
                    self.run_tool(sub, sess, ctid, cblk, cst, uu[-1])
            journal.append(orjson.dumps({"type": "started", "key": f"v2:{self.hexid(6)}", "agentId": aid}))
            journal.append(orjson.dumps({"type": "result", "key": f"v2:{self.hexid(6)}", "agentId": aid,
                                         "result": {"summary": self.p.text(rng, 120)}}))
            self.ledger.inc("subagents_workflow")
        self.write_aux(wdir / "journal.jsonl", b"\n".join(journal) + b"\n")
        summary = {"runId": run_id, "taskId": "task_" + self.hexid(8), "status": "completed",
                   "workflowName": "review", "timestamp": _ts(self.t), "agentCount": len(journal) // 2}
        self.write_aux(sess.companion / "workflows" / f"{run_id}.json", orjson.dumps(summary))
        tur = {"isAsync": False, "runId": run_id, "taskId": summary["taskId"],
               "scriptPath": f"{sess.sid}/workflows/scripts/review-{run_id}.js",
               "transcriptDir": f"/home/dev/.claude/projects/{sess.project_dir.name}/{sess.sid}/subagents/workflows/"
                                f"{run_id}", "status": "completed"}
        return f"Workflow {run_id} completed.", tur

    def snapshot(self, th: _Thread, message_id: str, update: bool = False, path: str | None = None) -> None:
        backups = {}
        if path:
            backups[path] = {"backupFileName": f"{self.hexid(16)}@v2", "version": 2, "backupTime": _ts(self.t)}
        self.emit(th.out, {"type": "file-history-snapshot", "messageId": message_id,
                           "snapshot": {"messageId": message_id, "trackedFileBackups": backups,
                                        "timestamp": _ts(self.t)}, "isSnapshotUpdate": update})

    def compact(self, th: _Thread, sess: _Session) -> None:
        """Auto-compaction: acompact call (2.1.x), boundary (2.x), summary user line (all eras)."""
        rng = self.rng
        pre = th.ctx
        summary = "This session is being continued from a previous conversation that ran out of context. " \
                  "The summary below covers the earlier portion of the conversation.\n\n" + \
                  self.p.text(rng, self.ri(3000, 9000))
        if th.era == "2.1":
            aid = "acompact-" + self.hexid(6)
            env = th.env.copy()
            env["isSidechain"] = True
            keys = list(env)
            i = keys.index("gitBranch") + 1
            env = {k: env[k] for k in keys[:i]} | {"agentId": aid} | {k: env[k] for k in keys[i:]}
            sub = _Thread(out=self.new_file(sess.companion / "subagents" / f"agent-{aid}.jsonl"), env=env,
                          model=th.model, era="2.1", version=th.version, parent=th.parent, ctx=pre,
                          ttl_1h=True, cache_obj=True, is_sub=True)
            self.user_line(sub, "<system-reminder>\nPostToolUse hook additional context: ok\n</system-reminder>",
                           {"isMeta": True})
            self.user_line(sub, "Your task is to create a detailed summary of the conversation so far. "
                           + self.p.text(rng, 1500))
            self.response(sub, [{"type": "text", "text": summary[:2000]}], big_cache_read=True)
            self.ledger.inc("compaction_calls")
        if th.era != "1.0":
            logical_parent, th.parent = th.parent, None
            self.system(th, "compact_boundary", {"logicalParentUuid": logical_parent,
                                                 "content": "Conversation compacted", "isMeta": False,
                                                 "level": "info",
                                                 "compactMetadata": {"trigger": "auto", "preTokens": pre}})
            self.user_line(th, summary, {"isVisibleInTranscriptOnly": True, "isCompactSummary": True})
        else:
            self.user_line(th, summary)
        self.ledger.inc("compactions")
        th.ctx = self.ri(14000, 30000)

    def turn(self, th: _Thread, sess: _Session, straddle: bool = False) -> None:
        """One human prompt and the agent loop answering it."""
        rng, p = self.rng, self.p
        cwd = th.env["cwd"]
        extra: dict = {}
        if th.era == "2.1":
            extra = {"thinkingMetadata": {"maxThinkingTokens": 31999}, "todos": [],
                     "permissionMode": rng.choice(["default", "acceptEdits", "bypassPermissions"])}
        prompt = p.text(rng, self.ri(20, 600)).strip() or "continue"
        if rng.random() < 0.04:
            prompt = "<command-name>/review</command-name>\n<command-message>review</command-message>"
        if straddle:
            self.t = self.before_midnight(5000)
        sess.last_prompt = self.user_line(th, prompt, extra)
        self.ledger.inc("prompts")
        if th.era != "1.0":
            self.snapshot(th, sess.last_prompt)
        if (rng.random() < 0.01 or sess.force_synthetic) and not straddle:
            sess.force_synthetic = False
            self.synthetic(th)
        n = max(1, int(rng.expovariate(1 / 5)) + 1)
        t0 = self.t
        for i in range(min(n, 30)):
            final = i == n - 1
            blocks, calls = self.blocks_for(th, final, cwd)
            if straddle and i == 0 and len(blocks) < 2:  # a one-line response cannot span midnight
                blocks.insert(0, {"type": "thinking", "thinking": p.text(rng, 200), "signature": p.sig(rng, 300)})
            uu = self.response(th, blocks, straddle=straddle and i == 0)
            for tid, blk, st in calls:
                self.run_tool(th, sess, tid, blk, st, uu[-1])
            if th.ctx > sess.compact_at:
                self.compact(th, sess)
        if th.era == "2.1":
            self.system(th, "turn_duration", {"durationMs": self.t - t0, "isMeta": True})
        elif th.era == "2.0" and rng.random() < 0.1:
            self.emit(th.out, {"type": "queue-operation", "operation": "enqueue", "timestamp": _ts(self.t),
                               "sessionId": sess.sid, "content": p.text(rng, 80)})
            self.emit(th.out, {"type": "queue-operation", "operation": "dequeue", "timestamp": _ts(self.t),
                               "sessionId": sess.sid})
        if rng.random() < 0.0015 * 20 or sess.force_malformed:
            kinds = ["truncated", "nonobject", "binary"] if sess.force_malformed else [None]
            sess.force_malformed = False
            for k in kinds:
                self.malformed_line(th.out, k)
        self.tick(10_000, 600_000)

    # ---- sessions and projects -------------------------------------------------------------
    def session(self, proj: _Project, budget: int, era: str, force: bool = False, start_ms: int | None = None,
                replay_of: _Session | None = None) -> _Session:
        rng = self.rng
        sid = self.uuid()
        path = proj.dir / f"{sid}.jsonl"
        sess = _Session(sid=sid, project_dir=proj.dir, companion=proj.dir / sid,
                        compact_at=self.ri(110_000, 170_000))
        sess.force_malformed = sess.force_synthetic = force
        out = self.new_file(path)
        version = rng.choice(_VERSIONS[era]) if not (force and era == "2.1") else _VERSIONS[era][-1]
        vt = _version_tuple(version)
        self.t = start_ms if start_ms is not None else self.session_start(proj)
        env: dict = {"parentUuid": None, "isSidechain": False, "userType": "external", "cwd": proj.cwd,
                     "sessionId": sid, "version": version, "gitBranch": rng.choice(proj.branches)}
        if vt >= (2, 1, 17):
            env["slug"] = "-".join(rng.choice(WORDS) for _ in range(3))
        if vt >= (2, 1, 89):
            env["entrypoint"] = "cli"
        model = rng.choices([MODEL_OPUS, MODEL_SONNET, MODEL_HAIKU], [0.6, 0.33, 0.07])[0]
        if force and era == "2.1":
            model = MODEL_OPUS  # the feature-complete session also exercises fast mode
        speed = None
        if vt >= (2, 1, 89):
            speed = "fast" if model == MODEL_OPUS and (rng.random() < 0.15 or force) else "standard"
        th = _Thread(out=out, env=env, model=model, era=era, version=version, ttl_1h=era == "2.1",
                     speed=speed, cache_obj=vt >= (1, 0, 98), hooks=proj.hooks or force,
                     ctx=self.ri(12_000, 25_000))
        sess.thread = th
        self.ledger.inc(f"sessions_{era}")
        start_bytes = self.bytes
        if replay_of is not None:
            # 1.0.x --resume: the new file starts with a verbatim copy of the old transcript
            for b in replay_of.lines_for_replay():
                self.emit_raw(out, b, "replayed")
            self.ledger.inc("replayed_lines", len(replay_of.lines_for_replay()))
            self.ledger.inc("resumed_sessions")
            th.parent = replay_of.thread.parent
            th.ctx = replay_of.thread.ctx
        if era == "1.0" and proj.leaf_uuids and rng.random() < 0.7:
            for _ in range(self.ri(1, 4)):
                self.emit(out, {"type": "summary", "summary": self.p.text(rng, 50).strip(),
                                "leafUuid": rng.choice(proj.leaf_uuids)})
        if era == "2.1":
            hook_id = self.uuid()
            self.progress(th, {"type": "hook_progress", "hookEvent": "SessionStart",
                               "hookName": "SessionStart:startup", "command": "~/.claude/hooks/start.sh"},
                          hook_id, hook_id)
        straddle = force
        n_turns = 0
        while self.bytes - start_bytes < budget or n_turns < (2 if force else 1):
            if force and n_turns == 1:
                self.force_features(th, sess)
            self.turn(th, sess, straddle=straddle)
            straddle = False
            n_turns += 1
            if n_turns == 2 and era == "2.1" and vt >= (2, 1, 63):
                if rng.random() < 0.5:
                    self.emit(out, {"type": "ai-title", "aiTitle": self.p.text(rng, 40).strip(), "sessionId": sid})
                if rng.random() < 0.1:
                    self.emit(out, {"type": "custom-title", "customTitle": self.p.text(rng, 25).strip(),
                                    "sessionId": sid})
        if th.parent:
            proj.leaf_uuids.append(th.parent)
        sess.main_out = out
        return sess

    def force_features(self, th: _Thread, sess: _Session) -> None:
        """Guarantee that small trees still contain every feature (subagents, workflow, compaction)."""
        cwd = th.env["cwd"]
        blocks, _ = self.blocks_for(th, True, cwd)
        inp, st = self.tool_input(th, "Task", cwd)
        name = "Agent" if _version_tuple(th.version) >= (2, 1, 63) else "Task"
        tid = "toolu_01" + self.b62(22)
        blk = {"type": "tool_use", "id": tid, "name": name, "input": inp}
        calls = [(tid, blk, st)]
        if th.era == "2.1":
            wid = "toolu_01" + self.b62(22)
            calls.append((wid, {"type": "tool_use", "id": wid, "name": "Workflow",
                                "input": self.tool_input(th, "Workflow", cwd)[0]}, st))
        uu = self.response(th, blocks[:-1] + [c[1] for c in calls])
        for tid, blk, st in calls:
            self.run_tool(th, sess, tid, blk, st, uu[-1])
        if th.era != "1.0":
            self.emit(th.out, {"type": "queue-operation", "operation": "enqueue", "timestamp": _ts(self.t),
                               "sessionId": sess.sid, "content": "<task-notification>\n<status>completed</status>"
                               "\n</task-notification>"})
        self.compact(th, sess)

    def session_start(self, proj: _Project) -> int:
        """Working-hours start in the project's local zone, converted to UTC (DST visible in UTC hours)."""
        rng = self.rng
        day = START + timedelta(days=rng.randrange(WINDOW_DAYS - 4))
        local = datetime(day.year, day.month, day.day, rng.choice([8, 9, 9, 10, 11, 13, 14, 15, 16, 17, 20, 22]),
                         rng.randrange(60), rng.randrange(60), tzinfo=proj.tz)
        return int(local.timestamp() * 1000) + rng.randrange(1000)

    def run(self) -> dict:
        rng = self.rng
        n_proj = max(3, min(40, round(self.target / 25e6)))
        projects = [_Project.make(self, i) for i in range(n_proj)]
        weights = [1 / (i + 1) ** 0.8 for i in range(n_proj)]
        mean_budget = max(60_000, min(900_000, self.target // 14))
        forced = ["2.1", "2.0", "1.0"]
        idx = 0
        while self.bytes < self.target or idx < len(forced):
            remaining = max(self.target - self.bytes, 20_000)
            if idx < len(forced):
                era, force = forced[idx], True
                proj = projects[idx % n_proj]
            else:
                era = rng.choices([e for e, _ in _ERA_WEIGHTS], [w for _, w in _ERA_WEIGHTS])[0]
                force = False
                proj = rng.choices(projects, weights)[0]
            budget = min(remaining, int(rng.lognormvariate(0, 0.9) * mean_budget * 0.65) + 5_000)
            if force:
                budget = min(budget, max(20_000, self.target // 10))
            sess = self.session(proj, budget, era, force=force)
            end_ms = self.t
            resume = era in ("1.0", "2.0") and (rng.random() < 0.15 or (force and era == "1.0"))
            if resume and (self.bytes < self.target or force):
                self.flush(end_ms)
                start = min(end_ms + self.ri(600_000, 20 * 3600_000), int(END.timestamp() * 1000) - 5 * _DAY_MS)
                budget2 = min(max(10_000, self.target - self.bytes), max(20_000, budget // 2))
                self.session(proj, budget2, era, start_ms=max(start, end_ms), replay_of=sess)
            self.flush(self.t)
            idx += 1
        self.edge_files(projects[0])
        return self.manifest()

    def edge_files(self, proj: _Project) -> None:
        """Zero-byte and summary-only session files (observed in real trees)."""
        empty = proj.dir / f"{self.uuid()}.jsonl"
        self.new_file(empty)
        summ = self.new_file(proj.dir / f"{self.uuid()}.jsonl")
        self.emit(summ, {"type": "summary", "summary": "Orphan summary", "leafUuid": self.uuid()})
        self.flush(_START_MS + _DAY_MS)

    def manifest(self) -> dict:
        rows = []
        tot = {"input_tokens": 0, "output_tokens": 0, "cache_creation_tokens": 0, "cache_creation_5m_tokens": 0,
               "cache_creation_1h_tokens": 0, "cache_read_tokens": 0, "responses": 0}
        for (day, model, speed), r in sorted(self.ledger.agg.items()):
            row = {"date": time.strftime("%Y-%m-%d", time.gmtime(day * 86400)), "model": model, "speed": speed,
                   "input_tokens": r[0], "output_tokens": r[1], "cache_creation_tokens": r[2] + r[3],
                   "cache_creation_5m_tokens": r[2], "cache_creation_1h_tokens": r[3], "cache_read_tokens": r[4],
                   "responses": r[5]}
            rows.append(row)
            for k in tot:
                tot[k] += row[k]
        return {
            "generator": "devhelion-loggen", "generator_version": GENERATOR_VERSION, "seed": self.seed,
            "target_bytes": self.target, "bytes": self.bytes, "files": self.files, "lines": self.lines,
            "malformed_lines": self.malformed, "timezone": "UTC",
            "window": {"start": START.isoformat(), "end": END.isoformat(), "max_timestamp": _ts(self.max_ts)},
            "day_rule": "UTC day of the line with the largest usage (the last line of the response)",
            "totals": tot, "daily": rows,
            "excluded": {"synthetic_responses": self.ledger.synthetic,
                         "note": "progress.data usage copies, Task toolUseResult.usage and replayed lines are "
                                 "not counted; <synthetic> responses carry zero usage"},
            "counts": dict(sorted(self.ledger.counts.items())) | {"straddling_responses": self.ledger.straddling},
            "line_types": dict(sorted(self.line_types.items())),
        }


@dataclass
class _Session:
    sid: str
    project_dir: Path
    companion: Path
    compact_at: int
    thread: _Thread | None = None
    last_prompt: str = ""
    main_out: list[bytes] | None = None
    force_malformed: bool = False
    force_synthetic: bool = False

    def lines_for_replay(self) -> list[bytes]:
        return self.main_out or []



_PROJECT_DIRS = [
    "/home/dev/work/devhelion", "/home/dev/work/api.server", "/Users/alex/code/my_tool", "/home/dev/Projects/Demo App",
    "/home/dev/work/caf\u00e9-menu", "/home/dev/src/infra-terraform", "/Users/alex/code/web/frontend",
    "/home/dev/work/data-pipeline", "/home/dev/oss/ccusage-fork", "/home/dev/work/mobile_app.v2",
]
_TZS = ["Europe/Berlin", "America/New_York", "Europe/London", "Asia/Tokyo", "America/Los_Angeles"]


@dataclass
class _Project:
    cwd: str
    dir: Path
    tz: ZoneInfo
    branches: list[str]
    hooks: bool
    leaf_uuids: list[str] = field(default_factory=list)

    @classmethod
    def make(cls, g: _Gen, i: int) -> _Project:
        rng = g.rng
        base = _PROJECT_DIRS[i % len(_PROJECT_DIRS)]
        cwd = base if i < len(_PROJECT_DIRS) else f"{base}-{i}"
        branches = ["main", "main", f"feature/{rng.choice(NOUNS)}-{i}", "HEAD"] if i % 5 else [""]
        return cls(cwd=cwd, dir=g.projects_dir / encode_cwd(cwd), tz=ZoneInfo(_TZS[i % len(_TZS)]),
                   branches=branches, hooks=rng.random() < 0.85)


def generate(out_dir: Path, size_mb: float = 200, seed: int = 1, overwrite: bool = False) -> dict:
    """Write ``out_dir/projects/...`` of about ``size_mb`` MB (10^6 bytes) and ``out_dir/manifest.json``."""
    out_dir = Path(out_dir)
    projects = out_dir / "projects"
    if projects.exists() and any(projects.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{projects} is not empty (use overwrite=True / --overwrite)")
        shutil.rmtree(projects)
    projects.mkdir(parents=True, exist_ok=True)
    g = _Gen(out_dir, int(size_mb * 1e6), seed)
    manifest = g.run()
    (out_dir / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return manifest


def _tail_context(path: Path) -> dict:
    """Envelope of the last well-formed conversation line, so an appended turn continues the session."""
    ctx: dict = {}
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 256 * 1024))
        tail = f.read()
    for raw in reversed(tail.split(b"\n")):
        try:
            d = orjson.loads(raw)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(d, dict):
            continue
        if "model" not in ctx and d.get("type") == "assistant":
            m = (d.get("message") or {}).get("model")
            if m and m != MODEL_SYNTHETIC:
                ctx["model"] = m
        if "env" not in ctx and d.get("sessionId") and d.get("cwd") and d.get("uuid") and "timestamp" in d:
            ctx["env"] = d
        if "env" in ctx and "model" in ctx:
            break
    return ctx


def turn_bytes(session_file: Path, seed: int) -> tuple[bytes, dict]:
    """Bytes of one realistic turn continuing ``session_file``, plus its true usage (for benchmarks)."""
    session_file = Path(session_file)
    ctx = _tail_context(session_file)
    last = ctx.get("env") or {}
    g = _Gen(session_file.parent, 0, seed)
    version = last.get("version", "2.1.89")
    era = "1.0" if version.startswith("1.") else "2.0" if version.startswith("2.0") else "2.1"
    keys = ["isSidechain", "userType", "cwd", "sessionId", "version", "gitBranch", "slug", "entrypoint"]
    env = {"parentUuid": None} | {k: last[k] for k in keys if k in last}
    env["isSidechain"] = False
    env.setdefault("cwd", "/home/dev/work/devhelion")
    env.setdefault("sessionId", session_file.stem)
    env.setdefault("version", version)
    try:
        t_last = int(datetime.fromisoformat(last["timestamp"].replace("Z", "+00:00")).timestamp() * 1000)
    except (KeyError, ValueError):
        t_last = int(END.timestamp() * 1000) - _DAY_MS
    g.t = t_last + g.rng.randint(5_000, 120_000)
    out: list[bytes] = []
    th = _Thread(out=out, env=env, model=ctx.get("model", MODEL_OPUS), era=era, version=version,
                 parent=last.get("uuid"), ttl_1h=era == "2.1", cache_obj=_version_tuple(version) >= (1, 0, 98),
                 ctx=g.rng.randint(20_000, 120_000))
    prompt = g.p.text(g.rng, g.rng.randint(20, 400)).strip() or "continue"
    uid = g.user_line(th, prompt)
    if era != "1.0":
        g.snapshot(th, uid)
    t0 = g.t
    p = g.p
    blocks = [{"type": "thinking", "thinking": p.text(g.rng, 300), "signature": p.sig(g.rng, 400)},
              {"type": "text", "text": p.text(g.rng, g.rng.randint(100, 1200))}]
    g.response(th, blocks)
    if era == "2.1":
        g.system(th, "turn_duration", {"durationMs": g.t - t0, "isMeta": True})
    m = g.manifest()
    return b"\n".join(out) + b"\n", m["daily"][0]


def append_turn(session_file: Path, seed: int) -> None:
    """Append one realistic turn (prompt + split response) in a single write, like Claude Code does."""
    data, _ = turn_bytes(session_file, seed)
    with open(session_file, "ab") as f:
        f.write(data)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", nargs="?", type=Path, help="output directory (gets projects/ and manifest.json)")
    ap.add_argument("--size-mb", type=float, default=200.0, help="target total size in MB (10^6 bytes)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--overwrite", action="store_true", help="replace an existing OUT_DIR/projects")
    ap.add_argument("--append-turn", type=Path, metavar="SESSION_JSONL", help="append one turn and exit")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    if a.append_turn:
        append_turn(a.append_turn, a.seed)
        return 0
    if a.out_dir is None:
        ap.error("OUT_DIR is required")
    t0 = time.perf_counter()
    m = generate(a.out_dir, a.size_mb, a.seed, overwrite=a.overwrite)
    dt = time.perf_counter() - t0
    if not a.quiet:
        summary = {k: m[k] for k in ("bytes", "files", "lines", "malformed_lines")}
        summary |= {"responses": m["totals"]["responses"], "seconds": round(dt, 2),
                    "mb_per_s": round(m["bytes"] / 1e6 / dt, 1), "manifest": str(a.out_dir / "manifest.json")}
        print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
