"""Fake but realistic content for generated transcripts: prose, code files, shell output, signatures.

Built once from a fixed seed and sliced, which is far cheaper than generating text per line.
"""

from __future__ import annotations

import base64
import random

WORDS = [
    "the", "a", "to", "of", "and", "in", "is", "for", "that", "this", "with", "we", "it", "on", "be",
    "should", "test", "file", "function", "module", "parser", "config", "value", "error", "return",
    "update", "check", "data", "session", "token", "cache", "usage", "model", "request", "response",
    "line", "import", "class", "method", "field", "index", "query", "table", "row", "column", "schema",
    "render", "view", "state", "event", "handler", "async", "await", "client", "server", "path",
    "branch", "commit", "merge", "build", "run", "install", "dependency", "version", "fix", "bug",
    "refactor", "rename", "move", "extract", "helper", "util", "type", "hint", "docstring", "lint",
    "format", "coverage", "assert", "fixture", "mock", "patch", "expected", "actual", "result",
    "output", "input", "stream", "buffer", "chunk", "batch", "offset", "limit", "cursor", "transaction",
    "commit", "rollback", "migration", "sqlite", "database", "ingest", "dedup", "message", "subagent",
    "compaction", "project",
]
IDENTS = [
    "load", "save", "parse", "render", "fetch", "compute", "merge", "split", "flush", "apply",
    "resolve", "validate", "encode", "decode", "normalize", "collect", "emit", "register", "dispatch",
    "build",
]
NOUNS = [
    "session", "entry", "usage", "record", "report", "cache", "index", "config", "project", "agent",
    "tool", "file", "line",
]


def _mk_prose(rng: random.Random, n_chars: int) -> str:
    """Pseudo-English pool; responses are slices of it (slicing is far cheaper than generating)."""
    out: list[str] = []
    size = 0
    while size < n_chars:
        k = rng.randint(6, 22)
        s = " ".join(rng.choice(WORDS) for _ in range(k))
        s = s[0].upper() + s[1:] + rng.choice([". ", ". ", ".\n\n", ": ", "? "])
        if rng.random() < 0.05:
            s += f"\n\n```python\n{rng.choice(IDENTS)}_{rng.choice(NOUNS)}(x)\n```\n\n"
        out.append(s)
        size += len(s)
    return "".join(out)


def _mk_code_file(rng: random.Random, n_lines: int) -> list[str]:
    lines = ['"""Module docstring."""', "", "from __future__ import annotations", "", "import os", ""]
    while len(lines) < n_lines:
        fn = f"{rng.choice(IDENTS)}_{rng.choice(NOUNS)}"
        lines.append(f"def {fn}(self, {rng.choice(NOUNS)}: dict[str, int], limit: int = 100) -> list[str]:")
        lines.append(f'    """{" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12)))}."""')
        for _ in range(rng.randint(2, 14)):
            ind = "    " * rng.randint(1, 3)
            a, b = rng.choice(NOUNS), rng.choice(IDENTS)
            lines.append(
                rng.choice(
                    [
                        f"{ind}{a} = self.{b}({a}, limit=limit)",
                        f"{ind}if not {a}:",
                        f"{ind}    return []",
                        f"{ind}for {a} in {b}_{a}s({rng.choice(NOUNS)}):",
                        f"{ind}# {' '.join(rng.choice(WORDS) for _ in range(rng.randint(3, 9)))}",
                        f"{ind}result.append(f\"{{{a}}}: {{{b}}}\")",
                        f"{ind}raise ValueError(\"{b} {a} failed\")",
                    ]
                )
            )
        lines.append("")
    return lines[:n_lines]


class Pools:
    """Content pools built once (fixed seed) so that every tree shares cheap, realistic text."""

    def __init__(self) -> None:
        rng = random.Random(0xC0FFEE)
        self.prose = _mk_prose(rng, 400_000)
        self.b64 = base64.b64encode(rng.randbytes(45_000)).decode()
        self.files: list[tuple[str, list[str], list[str]]] = []
        for i in range(40):
            raw = _mk_code_file(rng, rng.randint(20, 220))
            numbered = [f"{n + 1:>6}\u2192{s}" for n, s in enumerate(raw)]
            rel = f"src/{rng.choice(NOUNS)}/{rng.choice(IDENTS)}_{rng.choice(NOUNS)}_{i}.py"
            self.files.append((rel, raw, numbered))
        self.bash_lines = []
        for _ in range(4000):
            r = rng.random()
            mod = f"tests/test_{rng.choice(NOUNS)}.py::test_{rng.choice(IDENTS)}_{rng.choice(NOUNS)}"
            if r < 0.6:
                self.bash_lines.append(f"{mod} {'PASSED' if rng.random() < 0.93 else 'FAILED'}")
            elif r < 0.8:
                self.bash_lines.append(f"src/{rng.choice(NOUNS)}/{rng.choice(IDENTS)}.py:{rng.randint(1, 900)}:"
                                       f"{rng.randint(1, 80)}: E501 line too long")
            else:
                self.bash_lines.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 14))))

    def text(self, rng: random.Random, n: int) -> str:
        n = min(n, len(self.prose) - 1)
        s = int(rng.random() * (len(self.prose) - n))
        return self.prose[s : s + n]

    def sig(self, rng: random.Random, n: int) -> str:
        s = int(rng.random() * (len(self.b64) - n))
        return self.b64[s : s + n]

    def bash(self, rng: random.Random, n_lines: int) -> str:
        s = int(rng.random() * (len(self.bash_lines) - n_lines))
        return "\n".join(self.bash_lines[s : s + n_lines])


_POOLS: Pools | None = None


def pools() -> Pools:
    global _POOLS
    if _POOLS is None:
        _POOLS = Pools()
    return _POOLS
