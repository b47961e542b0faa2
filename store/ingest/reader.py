"""Read byte ranges of transcript files line by line, never past the last complete line.

A range is parsed by one worker. Ranges of a big file are split at nominal offsets; each range starts
at the first line beginning at or after its nominal start and ends with the line that crosses its
nominal end, so neighbouring ranges neither overlap nor miss a line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson

from store.ingest.discover import FileContext
from store.ingest.rows import ParsedChunk

READ_BLOCK = 1 << 20
NO_PROGRESS = -1  # end_offset of a range that found no line of its own: the committed offset must not move
HEAD_BYTES = 1024


@dataclass(frozen=True, slots=True)
class RangeTask:
    ctx: FileContext
    source_file_id: int
    start: int  # nominal start; the real first line begins at or after it (exactly at it for the first range)
    end: int  # nominal end (exclusive); the line crossing it belongs to this range
    is_first: bool  # the range begins at the committed offset, which is a line start
    is_last: bool  # the range reaches the file's current size


def head_fingerprint(path: str, length: int) -> str | None:
    """Hash of the file's first ``length`` bytes (<= 1 KiB): tells an appended file from a replaced one."""
    length = min(length, HEAD_BYTES)
    if length <= 0:
        return None
    try:
        with open(path, "rb") as fh:
            data = fh.read(length)
    except OSError:
        return None
    if len(data) < length:
        return None
    return f"{length}:{hashlib.blake2b(data, digest_size=12).hexdigest()}"


def _is_complete_json(fragment: bytes) -> bool:
    """A final line without newline counts only when it is a whole JSON object (a half line never is)."""
    stripped = fragment.strip()
    if not stripped.startswith(b"{") or not stripped.endswith(b"}"):
        return False
    try:
        return isinstance(orjson.loads(stripped), dict)
    except orjson.JSONDecodeError:
        return False


def parse_range(task: RangeTask) -> ParsedChunk:
    """Parse the complete lines of one range; ``end_offset`` is where the next read must begin."""
    ctx = task.ctx
    chunk = ParsedChunk(path=ctx.path, start_offset=task.start, end_offset=task.start)
    from store.ingest.parse import ChunkParser  # here: a refresh that finds nothing new never needs the parser

    parser = ChunkParser(ctx, task.source_file_id, chunk)
    try:
        fh = open(ctx.path, "rb")  # noqa: SIM115 - closed in finally, used across a loop
    except FileNotFoundError:
        chunk.end_offset = NO_PROGRESS  # vanished since the scan; the next run marks it missing
        return chunk
    try:
        if ctx.kind == "meta":
            data = fh.read()
            if data.strip():
                parser.feed_meta(data)
            chunk.end_offset = len(data)
            return chunk
        pos = task.start
        fh.seek(pos)
        if not task.is_first and pos > 0:
            fh.seek(pos - 1)
            if fh.read(1) != b"\n":
                skipped = fh.readline()  # the rest of a line owned by the previous range
                if not skipped.endswith(b"\n"):
                    chunk.end_offset = NO_PROGRESS  # that line is the file's unfinished tail: nothing here is ours
                    return chunk
                pos += len(skipped)
        chunk.start_offset = pos
        chunk.end_offset = pos
        pending = b""  # bytes of a line that started at ``pos`` and has no newline yet
        at_eof = False
        while pos < task.end:
            block = fh.read(READ_BLOCK)
            if not block:
                at_eof = True
                break
            data = pending + block if pending else block
            last_nl = data.rfind(b"\n")
            if last_nl == -1:
                pending = data
                continue
            complete, pending = data[: last_nl + 1], data[last_nl + 1 :]
            line_start = 0
            while line_start < len(complete):
                if pos + line_start >= task.end:
                    chunk.end_offset = pos + line_start
                    return chunk  # the next range owns lines starting at or after our end
                nl = complete.index(b"\n", line_start)
                parser.feed(complete[line_start:nl])
                line_start = nl + 1
            pos += len(complete)
            chunk.end_offset = pos
        # End of file inside a line: it is the file's tail, whichever range it started in. (Stopping at our
        # range end with a pending fragment is not EOF: that line starts at or after ``end``, the next range's.)
        if at_eof and pending and _is_complete_json(pending):
            parser.feed(pending)
            chunk.end_offset = pos + len(pending)
        return chunk
    finally:
        fh.close()


def parse_ranges(tasks: list[RangeTask]) -> list[ParsedChunk]:
    """Several ranges in one call: the unit of work sent to a worker process."""
    return [parse_range(task) for task in tasks]
