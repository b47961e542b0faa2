"""ccusage 5-hour blocks: hand-computed cases (observed on ccusage 20.0.24) and a parity run."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from store.db import open_archive
from store.ingest.runner import run_ingest
from store.pricing import PriceTable
from store.reports.block_entries import block_entries
from store.reports.blocks import (
    BlockEntry,
    block_to_ccusage_json,
    blocks_to_ccusage_json,
    identify_blocks,
)
from store.reports.usage import Filters
from tests.ccusage_tool import find_ccusage, run_ccusage
from tests.samples import build_tree

FAR_FUTURE = 10**13  # nothing is active
MODEL = "claude-sonnet-4-5-20250929"


def ms(iso: str) -> int:
    dt = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def entry(iso: str, model: str = MODEL, cost: str | None = "0.5") -> BlockEntry:
    """100 in / 50 out / 1000 cache write / 2000 cache read, like the probe transcripts."""
    return BlockEntry(ms(iso), model, 100, 50, 1000, 2000, None if cost is None else Decimal(cost))


def shape(blocks):  # (id, start, end, actualEnd, entries, isGap)
    out = []
    for b in blocks_to_ccusage_json(blocks, FAR_FUTURE)["blocks"]:
        out.append((b["id"], b["startTime"], b["endTime"], b["actualEndTime"], b["entries"], b["isGap"]))
    return out


# --- block boundaries -----------------------------------------------------------------------


def test_empty() -> None:
    assert identify_blocks([], FAR_FUTURE) == []
    assert blocks_to_ccusage_json([], FAR_FUTURE) == {"blocks": []}


def test_entry_exactly_at_block_end_stays_in_block() -> None:
    es = [entry(t) for t in ("2026-01-05T10:30:00Z", "2026-01-05T12:00:00Z", "2026-01-05T15:00:00Z")]
    es.append(entry("2026-01-05T15:00:00.001Z"))
    assert shape(identify_blocks(es, FAR_FUTURE)) == [
        ("2026-01-05T10:00:00.000Z", "2026-01-05T10:00:00.000Z", "2026-01-05T15:00:00.000Z",
         "2026-01-05T15:00:00.000Z", 3, False),
        ("2026-01-05T15:00:00.000Z", "2026-01-05T15:00:00.000Z", "2026-01-05T20:00:00.000Z",
         "2026-01-05T15:00:00.001Z", 1, False),
    ]  # fmt: skip


def test_exactly_five_hours_after_previous_entry_is_no_gap() -> None:
    es = [entry("2026-01-05T10:00:00Z"), entry("2026-01-05T15:00:00Z")]
    assert [s[4] for s in shape(identify_blocks(es, FAR_FUTURE))] == [2]


def test_inactivity_over_five_hours_emits_gap() -> None:
    es = [entry("2026-01-05T10:30:00Z"), entry("2026-01-05T16:00:00Z")]
    assert shape(identify_blocks(es, FAR_FUTURE)) == [
        ("2026-01-05T10:00:00.000Z", "2026-01-05T10:00:00.000Z", "2026-01-05T15:00:00.000Z",
         "2026-01-05T10:30:00.000Z", 1, False),
        ("gap-2026-01-05T15:30:00.000Z", "2026-01-05T15:30:00.000Z", "2026-01-05T16:00:00.000Z",
         None, 0, True),
        ("2026-01-05T16:00:00.000Z", "2026-01-05T16:00:00.000Z", "2026-01-05T21:00:00.000Z",
         "2026-01-05T16:00:00.000Z", 1, False),
    ]  # fmt: skip


def test_new_block_from_block_start_without_gap() -> None:
    # 15:30 -> 20:30 is exactly 5 h after the previous entry (no gap), but 5.5 h after 15:00.
    es = [entry(t) for t in ("2026-01-05T10:30:00Z", "2026-01-05T15:30:00Z", "2026-01-05T20:30:00Z")]
    es.append(entry("2026-01-05T20:30:00.001Z"))
    got = shape(identify_blocks(es, FAR_FUTURE))
    assert [(g[0], g[4], g[5]) for g in got] == [
        ("2026-01-05T10:00:00.000Z", 1, False),
        ("2026-01-05T15:00:00.000Z", 1, False),
        ("2026-01-05T20:00:00.000Z", 2, False),
    ]


def test_block_after_hour_boundary() -> None:
    es = [entry(t) for t in ("2026-01-05T10:30:00Z", "2026-01-05T14:59:00Z", "2026-01-05T15:01:00Z")]
    got = shape(identify_blocks(es, FAR_FUTURE))
    assert [(g[0], g[3], g[4]) for g in got] == [
        ("2026-01-05T10:00:00.000Z", "2026-01-05T14:59:00.000Z", 2),
        ("2026-01-05T15:00:00.000Z", "2026-01-05T15:01:00.000Z", 1),
    ]


def test_unsorted_input_rejected() -> None:
    with pytest.raises(ValueError, match="sorted"):
        identify_blocks([entry("2026-01-05T11:00:00Z"), entry("2026-01-05T10:00:00Z")], FAR_FUTURE)


def test_session_length_option() -> None:
    es = [entry("2026-01-05T10:30:00Z"), entry("2026-01-05T13:30:00Z")]
    assert len(identify_blocks(es, FAR_FUTURE, session_hours=5)) == 1
    assert [b.is_gap for b in identify_blocks(es, FAR_FUTURE, session_hours=2)] == [False, True, False]


def test_totals_models_and_synthetic() -> None:
    es = [
        entry("2026-01-05T10:30:00Z", "claude-opus-4-6"),
        entry("2026-01-05T10:31:00Z", "<synthetic>", cost=None),
        entry("2026-01-05T10:32:00Z", "claude-haiku-4-5-20251001", cost="0"),
        entry("2026-01-05T10:33:00Z", "claude-opus-4-6", cost="0.25"),
    ]
    (b,) = identify_blocks(es, FAR_FUTURE)
    assert b.entries == 4  # the synthetic entry counts, as in ccusage
    assert b.models == ("claude-opus-4-6", "claude-haiku-4-5-20251001")
    assert (b.input_tokens, b.output_tokens, b.cache_creation_tokens, b.cache_read_tokens) == (
        400,
        200,
        4000,
        8000,
    )
    assert b.total_tokens == 12600
    assert b.cost_usd == Decimal("0.75")
    assert b.burn_rate is not None and b.projection is None and not b.is_active


# --- active block, burn rate, projection, token limit -----------------------------------------

ACTIVE = [entry(t) for t in ("2026-01-05T10:10:00Z", "2026-01-05T10:40:00Z", "2026-01-05T11:10:00Z")]


def test_active_block_projection() -> None:
    # 9450 tokens (450 non-cache) over 60 min; $1.50 -> $1.50/h.
    # now 12:00:20 -> 179.67 min left -> rounded to 180.
    now = ms("2026-01-05T12:00:20Z")
    (b,) = identify_blocks(ACTIVE, now)
    assert b.is_active
    j = block_to_ccusage_json(b)
    assert j["burnRate"] == {"costPerHour": 1.5, "tokensPerMinute": 157.5, "tokensPerMinuteForIndicator": 7.5}
    assert j["projection"] == {"remainingMinutes": 180, "totalCost": 6.0, "totalTokens": 37800}
    assert "tokenLimitStatus" not in j


def test_projection_rounds_minutes_first_then_half_up() -> None:
    now = ms("2026-01-05T12:00:40Z")  # 179.33 min -> 179; 9450 + 157.5*179 = 37642.5 -> 37643
    (b,) = identify_blocks(ACTIVE, now)
    assert b.projection is not None
    assert (b.projection.remaining_minutes, b.projection.total_tokens) == (179, 37643)


def test_is_active_rules() -> None:
    assert identify_blocks(ACTIVE, ms("2026-01-05T14:59:59.999Z"))[0].is_active
    assert not identify_blocks(ACTIVE, ms("2026-01-05T15:00:00Z"))[0].is_active
    # a single-entry active block has no burn rate, hence no projection
    (b,) = identify_blocks(ACTIVE[:1], ms("2026-01-05T11:00:00Z"))
    assert b.is_active and b.burn_rate is None and b.projection is None
    assert block_to_ccusage_json(b, token_limit=10)["burnRate"] is None
    assert "tokenLimitStatus" not in block_to_ccusage_json(b, token_limit=10)


@pytest.mark.parametrize(
    ("limit", "status", "percent"),
    [(37800, "warning", 100.0), (37799, "exceeds", None), (47250, "ok", 80.0), (47249, "warning", None),
     (0, "exceeds", None)],
)  # fmt: skip
def test_token_limit_status(limit: int, status: str, percent: float | None) -> None:
    (b,) = identify_blocks(ACTIVE, ms("2026-01-05T12:00:20Z"))
    st = block_to_ccusage_json(b, token_limit=limit)["tokenLimitStatus"]
    assert st["status"] == status and st["limit"] == limit and st["projectedUsage"] == 37800
    if limit == 0:
        assert st["percentUsed"] is None
    elif percent is not None:
        assert st["percentUsed"] == pytest.approx(percent)


def test_token_limit_max_uses_largest_finished_block() -> None:
    old = [entry("2026-01-04T01:00:00Z"), entry("2026-01-04T01:30:00Z")]  # 6300 tokens
    blocks = identify_blocks([*old, *ACTIVE], ms("2026-01-05T12:00:20Z"))
    out = blocks_to_ccusage_json(blocks, ms("2026-01-05T12:00:20Z"), token_limit="max", active_only=True)
    (only,) = out["blocks"]
    assert only["tokenLimitStatus"]["limit"] == 6300
    # no finished block -> no limit
    alone = identify_blocks(ACTIVE, ms("2026-01-05T12:00:20Z"))
    assert "tokenLimitStatus" not in blocks_to_ccusage_json(alone, 0, token_limit="max")["blocks"][0]


def test_json_shape_and_key_order() -> None:
    es = [entry("2026-01-05T10:30:00Z"), entry("2026-01-05T10:31:00Z"), entry("2026-01-05T16:00:00Z")]
    out = blocks_to_ccusage_json(identify_blocks(es, FAR_FUTURE), FAR_FUTURE)
    first, gap, _ = out["blocks"]
    keys = ["actualEndTime", "burnRate", "costUSD", "endTime", "entries", "id", "isActive", "isGap",
            "models", "projection", "startTime", "tokenCounts", "totalTokens"]  # fmt: skip
    assert list(first) == keys and list(gap) == keys
    assert first["costUSD"] == 1 and isinstance(first["costUSD"], int)  # ccusage prints 1, not 1.0
    assert first["burnRate"] is None  # only the active block carries burn rate / projection
    assert gap == {
        "actualEndTime": None,
        "burnRate": None,
        "costUSD": 0,
        "endTime": "2026-01-05T16:00:00.000Z",
        "entries": 0,
        "id": "gap-2026-01-05T15:31:00.000Z",
        "isActive": False,
        "isGap": True,
        "models": [],
        "projection": None,
        "startTime": "2026-01-05T15:31:00.000Z",
        "tokenCounts": {
            "cacheCreationInputTokens": 0,
            "cacheReadInputTokens": 0,
            "inputTokens": 0,
            "outputTokens": 0,
        },
        "totalTokens": 0,
    }
    assert json.dumps(out)  # serialisable (Decimal converted)


def test_filters_recent_active_since_order() -> None:
    now = ms("2026-01-05T12:00:20Z")
    old = [entry("2026-01-01T01:00:00Z"), entry("2026-01-03T01:00:00Z")]
    blocks = identify_blocks([*old, *ACTIVE], now)
    ids = [b["id"] for b in blocks_to_ccusage_json(blocks, now)["blocks"]]
    assert ids == [
        "2026-01-01T01:00:00.000Z",
        "gap-2026-01-01T06:00:00.000Z",
        "2026-01-03T01:00:00.000Z",
        "gap-2026-01-03T06:00:00.000Z",
        "2026-01-05T10:00:00.000Z",
    ]
    recent = blocks_to_ccusage_json(blocks, now, recent=True)["blocks"]
    assert [b["id"] for b in recent] == ids[2:]
    assert [b["id"] for b in blocks_to_ccusage_json(blocks, now, active_only=True)["blocks"]] == ids[-1:]
    assert [b["id"] for b in blocks_to_ccusage_json(blocks, now, order="desc")["blocks"]] == ids[::-1]
    tokyo = ZoneInfo("Asia/Tokyo")  # 2026-01-01T01:00Z is Jan 1 in Tokyo; gap at 06:00Z is 15:00 JST
    since = blocks_to_ccusage_json(blocks, now, since=date(2026, 1, 2), until=date(2026, 1, 3), tz=tokyo)
    assert [b["id"] for b in since["blocks"]] == ids[2:4]


# --- parity with the real ccusage on marot-spotter -------------------------------------------


def _our_blocks(root: Path, db_path: Path, now: int) -> list:
    """Blocks from the real pipeline: ingest into an archive, then the report's own entry query."""
    db = open_archive(db_path)
    try:
        run_ingest(db, [root])
        entries, _ = block_entries(db, Filters(tz=ZoneInfo("UTC")), PriceTable.bundled())
    finally:
        db.close()
    return identify_blocks(entries, now)


@pytest.mark.ccusage
def test_parity_with_ccusage_blocks(tmp_path: Path) -> None:
    if find_ccusage() is None:
        pytest.skip("ccusage is not installed (scripts/install-ccusage installs it)")
    root = build_tree("spotter", tmp_path / "root")
    now = int(time.time() * 1000)
    ours = _our_blocks(root, tmp_path / "a.db", now)
    strip = ("costUSD", "burnRate", "projection")  # cost is the pricing module's job

    def comparable(blocks: list[dict]) -> list[dict]:
        return [{k: v for k, v in b.items() if k not in strip} for b in blocks]

    ref = run_ccusage(root, "blocks")["blocks"]
    assert len(ref) == 3 and any(b["isGap"] for b in ref)
    assert comparable(blocks_to_ccusage_json(ours, now)["blocks"]) == comparable(ref)

    # --since filters on the block start's local date in --timezone
    ref_tokyo = run_ccusage(root, "blocks", "--since", "20260211", timezone="Asia/Tokyo")["blocks"]
    mine = blocks_to_ccusage_json(ours, now, since=date(2026, 2, 11), tz=ZoneInfo("Asia/Tokyo"))
    assert comparable(mine["blocks"]) == comparable(ref_tokyo)
    ref_utc = run_ccusage(root, "blocks", "--since", "20260211")["blocks"]
    mine = blocks_to_ccusage_json(ours, now, since=date(2026, 2, 11), tz=ZoneInfo("UTC"))
    assert [b["id"] for b in mine["blocks"]] == [b["id"] for b in ref_utc]
