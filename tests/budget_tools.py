"""Transcript lines with a chosen cost, and an in-process archive over them, for the budget tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from store.archive import Archive
from store.config import Settings
from store.db import open_archive
from store.pricing import PriceTable

MODEL = "claude-sonnet-4-5-20250929"  # $15 per million output tokens
DOLLAR_OF_OUTPUT = 66_667  # output tokens: with 10 input tokens, $1.000035 on Sonnet 4.5


def iso_ms(value_ms: int) -> str:
    return datetime.fromtimestamp(value_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value_ms % 1000:03d}Z"


def spend_line(n: int, ts_ms: int, output_tokens: int, *, session: str = "s1", cwd: str = "/work/app",
               model: str = MODEL) -> bytes:
    """One deduplicated API request costing ``output_tokens`` x $15/M (+ 10 input tokens, $0.00003)."""
    return orjson.dumps({
        "type": "assistant", "sessionId": session, "uuid": f"{session}-u{n}", "timestamp": iso_ms(ts_ms),
        "requestId": f"req_{session}_{n}", "cwd": cwd, "version": "2.1.39",
        "message": {"id": f"msg_{session}_{n}", "role": "assistant", "model": model,
                    "content": [{"type": "text", "text": f"answer {n}"}],
                    "usage": {"input_tokens": 10, "output_tokens": output_tokens}}}) + b"\n"


def line_cost(output_tokens: int, model: str = MODEL) -> Decimal:
    from store.pricing import TokenCounts, cost_usd

    cost = cost_usd(PriceTable.bundled(), model, TokenCounts(10, output_tokens, 0, 0, 0, 0))
    assert cost is not None
    return cost


def append(path: Path, *lines: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab") as fh:
        fh.write(b"".join(lines))


def open_test_archive(tmp: Path, claude: Path, settings: Settings | None = None) -> Archive:
    db = open_archive(tmp / "archive.db")
    return Archive(db=db, path=tmp / "archive.db", settings=settings or Settings(timezone="America/New_York"),
                   prices=PriceTable.bundled(), roots=[claude])


def empty_home_archive(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Archive:
    """An archive in a fresh ``DEVHELION_HOME`` under ``tmp``, over an empty log root."""
    monkeypatch.setenv("DEVHELION_HOME", str(tmp / "home"))
    claude = tmp / "claude"
    (claude / "projects").mkdir(parents=True)
    return open_test_archive(tmp, claude)
