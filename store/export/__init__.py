"""Exports of the archive: JSON, CSV (a ZIP of one file per table) and a self-contained HTML report.

Every format is a generator of byte chunks over a read snapshot of its own (:mod:`store.export.snapshot`), so
an export of any size streams with flat memory and sees one consistent archive while ingest goes on.
"""

from store.export.formats import FORMATS, ExportFormat, export_stream
from store.export.scope import ExportScope, file_name, make_export_scope

__all__ = ["FORMATS", "ExportFormat", "ExportScope", "export_stream", "file_name", "make_export_scope"]
