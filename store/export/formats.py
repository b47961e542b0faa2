"""JSON and CSV-in-ZIP streams, and the table of formats the API and the CLI offer."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from peewee import Database

from store.export.rows import (
    REQUEST_FIELDS,
    SESSION_FIELDS,
    TOOL_CALL_FIELDS,
    Totals,
    request_rows,
    session_rows,
    tool_call_rows,
)
from store.export.scope import ExportScope, range_label
from store.export.snapshot import snapshot
from store.monitor.fmt import iso
from store.pricing import PriceTable

CHUNK_BYTES = 256 << 10
EXPORT_VERSION = 1


def _meta(es: ExportScope, generated_ms: int) -> dict[str, Any]:
    s = es.scope
    return {"format": "devhelion-export", "version": EXPORT_VERSION, "generated_at": iso(generated_ms),
            "range": {"from": iso(s.start_ms), "to": iso(s.end_ms), "label": range_label(es), "timezone": str(s.tz)},
            "project": s.project, "session_id": es.session_id}


def _tables(db: Database, prices: PriceTable, es: ExportScope, totals: Totals
            ) -> list[tuple[str, tuple[str, ...], Iterable[dict[str, Any]]]]:
    return [("sessions", SESSION_FIELDS, session_rows(db, prices, es, totals)),
            ("requests", REQUEST_FIELDS, request_rows(db, prices, es, totals)),
            ("tool_calls", TOOL_CALL_FIELDS, tool_call_rows(db, es, totals))]


def json_stream(db: Database, prices: PriceTable, es: ExportScope, generated_ms: int) -> Iterator[bytes]:
    """``{"export": meta, "sessions": [...], "requests": [...], "tool_calls": [...], "totals": {...}}``."""
    totals = Totals()
    buf = bytearray(b'{"export":' + orjson.dumps(_meta(es, generated_ms)))
    for name, _, rows in _tables(db, prices, es, totals):
        buf += b',"' + name.encode() + b'":['
        first = True
        for row in rows:
            if not first:
                buf += b","
            buf += orjson.dumps(row)
            first = False
            if len(buf) >= CHUNK_BYTES:
                yield bytes(buf)
                buf.clear()
        buf += b"]"
    buf += b',"totals":' + orjson.dumps(totals.as_json()) + b"}\n"
    yield bytes(buf)


class _Sink(io.RawIOBase):
    """A write-only, unseekable file for ZipFile whose bytes are handed out as they are written."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.data += b
        return len(b)

    def take(self) -> bytes:
        out = bytes(self.data)
        self.data.clear()
        return out


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def csv_zip_stream(db: Database, prices: PriceTable, es: ExportScope, generated_ms: int) -> Iterator[bytes]:
    """A ZIP of ``sessions.csv``, ``requests.csv``, ``tool_calls.csv`` and ``summary.csv`` (meta and totals),
    written as it is read: ZipFile on an unseekable sink writes data descriptors, so nothing is held back."""
    totals = Totals()
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, fields, rows in _tables(db, prices, es, totals):
            with archive.open(f"{name}.csv", "w", force_zip64=True) as raw, \
                    io.TextIOWrapper(io.BufferedWriter(raw, 1 << 16), encoding="utf-8", newline="") as text:
                writer = csv.writer(text)
                writer.writerow(fields)
                for row in rows:
                    writer.writerow([_cell(row[f]) for f in fields])
                    if len(sink.data) >= CHUNK_BYTES:
                        yield sink.take()
            yield sink.take()
        with archive.open("summary.csv", "w") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
            writer = csv.writer(text)
            writer.writerow(("key", "value"))
            meta = _meta(es, generated_ms)
            for key, value in (*meta["range"].items(), ("project", meta["project"]),
                               ("session_id", meta["session_id"]), ("generated_at", meta["generated_at"]),
                               *totals.as_json().items()):
                writer.writerow((key if key not in ("from", "to", "label", "timezone") else f"range_{key}",
                                 _cell(value)))
    yield sink.take()


@dataclass(frozen=True, slots=True)
class ExportFormat:
    name: str
    extension: str
    media_type: str
    kind: str  # the word in the file name
    write: Callable[[Database, PriceTable, ExportScope, int], Iterator[bytes]]


def _html(db: Database, prices: PriceTable, es: ExportScope, generated_ms: int) -> Iterator[bytes]:
    from store.export.report import html_stream  # the report's charts are not needed by the other formats

    return html_stream(db, prices, es, generated_ms)


FORMATS = {
    "json": ExportFormat("json", "json", "application/json", "export", json_stream),
    "csv": ExportFormat("csv", "zip", "application/zip", "export", csv_zip_stream),
    "html": ExportFormat("html", "html", "text/html; charset=utf-8", "report", _html),
}


def export_stream(archive_path: str | Path, prices: PriceTable, es: ExportScope, fmt: str,
                  generated_ms: int | None = None) -> Iterator[bytes]:
    """The export as byte chunks, read from a snapshot connection opened on the first chunk and closed after the
    last one (or when the consumer stops early)."""
    generated_ms = time.time_ns() // 1_000_000 if generated_ms is None else generated_ms
    with snapshot(archive_path) as db:
        yield from FORMATS[fmt].write(db, prices, es, generated_ms)
