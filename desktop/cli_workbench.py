"""``devhelion search`` and ``devhelion export``: the workbench from the command line.

Like the reports, both read new transcript lines first (``--no-ingest`` skips that), and import ``store`` only
when they run.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import click

_MARK = re.compile(r"<mark>(.*?)</mark>", re.S)


def _snippet(text: str) -> str:
    """A search snippet as rich markup: matches highlighted, HTML entities decoded, one line."""
    from rich.markup import escape

    parts = _MARK.split(text)
    out = [f"[bold yellow]{escape(html.unescape(p))}[/]" if i % 2 else escape(html.unescape(p))
           for i, p in enumerate(parts)]
    return " ".join("".join(out).split())


@click.command()
@click.argument("query")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500), help="Most hits to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON (the API's shape).")
@click.option("--no-ingest", is_flag=True, help="Do not read new transcript lines first.")
def search(query: str, limit: int, as_json: bool, no_ingest: bool) -> None:
    """Full-text search over messages, tool inputs and tool results.

    QUERY uses FTS5 syntax: words (all must match), "exact phrase", prefix*, OR, NOT, NEAR(a b, 10).
    """
    from desktop.cli import _console, _fail, _open, _refresh
    from store.search import SearchSyntaxError
    from store.search import search as run_search

    archive = _open()
    try:
        if not no_ingest:
            _refresh(archive, show_progress=not as_json and sys.stderr.isatty())
        try:
            result = run_search(archive.db, query, limit)
        except SearchSyntaxError as exc:
            _fail(str(exc))
    finally:
        archive.close()
    if as_json:
        import orjson

        click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        return
    console = _console()
    if not result["results"]:
        console.print("No matches.")
        return
    for hit in result["results"]:
        where = hit["kind"].replace("_", " ") + (f" ({hit['tool_name']})" if hit["tool_name"] else "")
        title = hit["session_title"] or hit["session_id"]
        console.print(f"[dim]{hit['timestamp'] or '?'}  {hit['role'] or ''} {where}  session {hit['session_id']}"
                      f"[/]\n  [bold]{' '.join(str(title).split())[:100]}[/]\n  {_snippet(hit['snippet'])}\n")
    if result["order"] == "recent":
        console.print(f"[dim]{result['rank_window']:,} matches or more: newest first (narrow the query to rank "
                      "by relevance).[/]")


@click.command()
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "html"]), default="json", show_default=True,
              help="json, csv (a zip of one file per table) or html (a self-contained report).")
@click.option("--from", "date_from", help="Start: YYYY-MM-DD (local day) or an RFC3339 instant.")
@click.option("--to", "date_to", help="End, inclusive: YYYY-MM-DD or an RFC3339 instant.")
@click.option("--project", help="Only this project (full path or last path component).")
@click.option("--session-id", help="Only this session.")
@click.option("-o", "--output", type=click.Path(dir_okay=True, path_type=Path),
              help="File or folder to write (default: a file named after the range, here); - for stdout.")
@click.option("--no-ingest", is_flag=True, help="Do not read new transcript lines first.")
def export(fmt: str, date_from: str | None, date_to: str | None, project: str | None, session_id: str | None,
           output: Path | None, no_ingest: bool) -> None:
    """Export sessions, API requests and tool calls, or an HTML report, for a range."""
    from desktop.cli import _fail, _open, _refresh
    from store.export import FORMATS, export_stream, file_name, make_export_scope
    from store.monitor.lookup import require_session
    from store.monitor.params import NotFound, ParamError, archive_timezone

    archive = _open()
    try:
        try:
            es = make_export_scope(archive_timezone(archive.settings.timezone), date_from, date_to, project,
                                   session_id)
        except ParamError as exc:
            _fail(f"--{exc.parameter.replace('_', '-')}: {exc}")
        if not no_ingest:
            _refresh(archive, show_progress=sys.stderr.isatty())
        if es.session_id:
            try:
                require_session(archive.db, es.session_id)
            except NotFound as exc:
                _fail(str(exc))
        spec = FORMATS[fmt]
        name = file_name(es, spec.extension, spec.kind)
        chunks = export_stream(archive.path, archive.prices, es, fmt)
        if output is not None and str(output) == "-":
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
            return
        target = (output / name if output.is_dir() else output) if output else Path(name)
        written = 0
        with open(target, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
                written += len(chunk)
    finally:
        archive.close()
    click.echo(f"Wrote {target} ({written / 1e6:.1f} MB)", err=True)
