"""The ``devhelion`` command line: ingest, reports and health checks over the archive.

Imports of ``store`` and ``rich`` happen inside commands so that ``devhelion report daily --json``
starts fast: its whole run is expected to take a small fraction of what re-reading the logs takes.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any, NoReturn

import click

from desktop import __version__

if TYPE_CHECKING:
    from store.archive import Archive
    from store.ingest.runner import IngestStats

REPORT_KINDS = ("daily", "weekly", "monthly", "session", "blocks")


def _fail(message: str) -> NoReturn:
    click.echo(f"devhelion: {message}", err=True)
    sys.exit(2)


def _open(extra_roots: list[str] | None = None) -> Archive:
    from store.archive import open_default
    from store.config import ConfigError
    from store.sqlite.connection import ArchiveError

    try:
        return open_default(extra_roots)
    except (ArchiveError, ConfigError) as exc:
        _fail(str(exc))


def _refresh(archive: Archive, show_progress: bool) -> IngestStats:
    """Ingest what changed; a progress bar appears only when there is real work and a terminal."""
    from store.sqlite.connection import ArchiveError

    bar: dict[str, Any] = {}

    def progress(state: Any) -> None:
        if not show_progress or state.bytes_total < 8 << 20:
            return
        if "p" not in bar:
            from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

            bar["p"] = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                                "{task.fields[files]}", TimeRemainingColumn(), transient=False,
                                console=_console(stderr=True))
            bar["p"].start()
            bar["t"] = bar["p"].add_task("Ingesting", total=state.bytes_total, files="")
        bar["p"].update(bar["t"], completed=state.bytes_done,
                        files=f"{state.files_done}/{state.files_total} files")

    try:
        return archive.refresh(progress=progress)
    except ArchiveError as exc:
        _fail(str(exc))
    finally:
        if "p" in bar:
            bar["p"].stop()


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


@click.group(invoke_without_command=True)
@click.version_option(__version__, prog_name="devhelion")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Devhelion: a lasting archive of your Claude Code transcripts, with exact token and cost figures.

    Without a command it starts the app: tray icon, dashboard window, budgets and notifications around the local
    server (API and live event stream, watching the logs); without a display, the server alone.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(app)  # click fills in the defaults (127.0.0.1:8787, watching)


@cli.command()
@click.option("--root", "roots", multiple=True, type=click.Path(file_okay=False), help="Extra log root (repeatable).")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def ingest(roots: tuple[str, ...], quiet: bool, as_json: bool) -> None:
    """Read new transcript lines from every log root into the archive."""
    archive = _open(list(roots))
    try:
        stats = _refresh(archive, show_progress=not quiet and not as_json and sys.stderr.isatty())
    finally:
        archive.close()
    if as_json:
        import orjson

        data = {k: getattr(stats, k) for k in stats.__dataclass_fields__ if k != "changes"}  # internal marks
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        return
    if quiet:
        return
    mb = stats.bytes_read / 1e6
    click.echo(
        f"Ingested {stats.files_changed} changed of {stats.files_seen} files ({mb:.1f} MB, {stats.lines:,} lines) "
        f"in {stats.seconds:.2f} s: {stats.requests_added:,} new API requests, {stats.messages_added:,} messages, "
        f"{stats.sessions_added:,} sessions; {stats.malformed_lines:,} malformed lines skipped."
    )
    if stats.files_reread:
        click.echo(f"{stats.files_reread} replaced or truncated files were re-read (no double counting).")
    if stats.files_missing:
        click.echo(f"{stats.files_missing} source files have disappeared; their data stays in the archive.")
    for path, line in list(stats.malformed_examples.items())[:5]:
        click.echo(f"  malformed line in {path}: {line[:80]!r}", err=True)


@cli.command()
@click.argument("kind", type=click.Choice(REPORT_KINDS), default="daily")
@click.option("--json", "as_json", is_flag=True, help="ccusage-compatible JSON.")
@click.option("--since", help="First local date, YYYY-MM-DD or YYYYMMDD (inclusive).")
@click.option("--until", help="Last local date, YYYY-MM-DD or YYYYMMDD (inclusive).")
@click.option("--timezone", help="IANA time zone for day boundaries (default: this machine's, or config).")
@click.option("--project", help="Only this project (full path, or its last path component).")
@click.option("--breakdown", is_flag=True, help="Per-model rows in tables (JSON always has them).")
@click.option("--no-ingest", is_flag=True, help="Do not read new transcript lines first.")
@click.option("--start-of-week", help="Weekly reports: first day of the week (monday ... sunday).")
@click.option("--token-limit", help="Blocks: token limit for the active block (a number, or 'max').")
@click.option("--active", is_flag=True, help="Blocks: only the active block.")
@click.option("--recent", is_flag=True, help="Blocks: only the last 3 days and the active block.")
def report(kind: str, as_json: bool, since: str | None, until: str | None, timezone: str | None,
           project: str | None, breakdown: bool, no_ingest: bool, start_of_week: str | None,
           token_limit: str | None, active: bool, recent: bool) -> None:
    """Usage and cost per day, week, month, session or 5-hour block."""
    from store.reports.usage import Filters
    from store.timezones import parse_date_arg, parse_start_of_week, resolve_timezone

    archive = _open()
    try:
        try:
            tz_name = timezone or archive.settings.timezone
            tz = resolve_timezone(tz_name)
            first_day = parse_start_of_week(start_of_week) if start_of_week else archive.settings.start_of_week
            filters = Filters(tz=tz, since=parse_date_arg(since) if since else None,
                              until=parse_date_arg(until) if until else None, project=project,
                              start_of_week=first_day)
        except ValueError as exc:
            _fail(str(exc))
        if not no_ingest:
            _refresh(archive, show_progress=not as_json and sys.stderr.isatty())
        meta = {"timezone": getattr(tz, "key", str(tz)), "priceTable": archive.prices.version}
        if kind == "blocks":
            _blocks(archive, filters, meta, as_json, token_limit, active, recent)
        elif kind == "session":
            from store.reports.ccusage_json import session_report
            from store.reports.sessions import usage_by_session

            data = session_report(usage_by_session(archive.db, filters, archive.prices), meta)
            _emit(data, as_json, lambda: _session_table(data))
        else:
            from store.reports.ccusage_json import period_report
            from store.reports.usage import usage_by_period

            data = period_report(kind, usage_by_period(archive.db, kind, filters, archive.prices), meta)
            _emit(data, as_json, lambda: _period_table(kind, data, breakdown))
    finally:
        archive.close()


def _blocks(archive: Archive, filters: Any, meta: dict, as_json: bool, token_limit: str | None, active: bool,
            recent: bool) -> None:
    from store.reports.block_entries import block_entries
    from store.reports.blocks import blocks_to_ccusage_json, identify_blocks

    limit: int | str | None = None
    if token_limit:
        if token_limit == "max":
            limit = "max"
        elif token_limit.isdigit():
            limit = int(token_limit)
        else:
            _fail(f"--token-limit must be a number or 'max', not {token_limit!r}")
    entries, unpriced = block_entries(archive.db, filters, archive.prices)
    now_ms = int(time.time() * 1000)
    blocks = identify_blocks(entries, now_ms)
    data = blocks_to_ccusage_json(blocks, now_ms, token_limit=limit, since=filters.since, until=filters.until,
                                  tz=filters.tz, recent=recent, active_only=active)
    data.update(meta, unpricedModels=sorted(unpriced))
    _emit(data, as_json, lambda: _blocks_table(data))


def _emit(data: dict, as_json: bool, table: Any) -> None:
    if as_json:
        import orjson

        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        table()


def _fmt_tokens(n: int) -> str:
    return f"{n:,}"


def _fmt_cost(value: float) -> str:
    return f"${value:,.2f}"


def _period_table(kind: str, data: dict, breakdown: bool) -> None:
    from rich.table import Table

    from store.reports.ccusage_json import PERIOD_FIELD

    field = PERIOD_FIELD[kind]
    table = Table(title=f"Claude Code usage, {kind} ({data['timezone']})", show_footer=True)
    totals = data["totals"]
    table.add_column(field.capitalize(), footer="Total")
    table.add_column("Models")
    for name, key in (("Input", "inputTokens"), ("Output", "outputTokens"), ("Cache write", "cacheCreationTokens"),
                      ("Cache read", "cacheReadTokens"), ("Total tokens", "totalTokens")):
        table.add_column(name, justify="right", footer=_fmt_tokens(totals[key]))
    table.add_column("Cost (USD)", justify="right", footer=_fmt_cost(totals["totalCost"]))
    for row in data[kind]:
        table.add_row(row[field], ", ".join(row["modelsUsed"]), _fmt_tokens(row["inputTokens"]),
                      _fmt_tokens(row["outputTokens"]), _fmt_tokens(row["cacheCreationTokens"]),
                      _fmt_tokens(row["cacheReadTokens"]), _fmt_tokens(row["totalTokens"]),
                      _fmt_cost(row["totalCost"]))
        if breakdown:
            for m in row["modelBreakdowns"]:
                cost = _fmt_cost(m["cost"]) if m["priced"] else "unpriced"
                table.add_row("", f"  └ {m['modelName']}", _fmt_tokens(m["inputTokens"]),
                              _fmt_tokens(m["outputTokens"]), _fmt_tokens(m["cacheCreationTokens"]),
                              _fmt_tokens(m["cacheReadTokens"]), "", cost, style="dim")
    console = _console()
    if not data[kind]:
        console.print("No usage in this range. Run `devhelion doctor` to see which log folders are read.")
        return
    console.print(table)
    _unpriced_note(console, data)


def _unpriced_note(console: Any, data: dict) -> None:
    if data.get("unpricedModels"):
        console.print(f"[yellow]Unpriced models (not in the cost): {', '.join(data['unpricedModels'])}. "
                      "Add a price in config.json.[/yellow]")
    console.print(f"[dim]Prices: {data['priceTable']}. Output tokens in transcripts are a lower bound.[/dim]")


def _session_table(data: dict) -> None:
    from rich.table import Table

    table = Table(title="Claude Code usage by session")
    for name in ("Last activity", "Project", "Title", "Models", "Total tokens", "Cost (USD)"):
        table.add_column(name, justify="right" if name in ("Total tokens", "Cost (USD)") else "left",
                         overflow="fold")
    for row in data["sessions"]:
        table.add_row((row["lastActivity"] or "")[:16].replace("T", " "), row["projectPath"] or "?",
                      (row["title"] or "")[:60], ", ".join(row["modelsUsed"]), _fmt_tokens(row["totalTokens"]),
                      _fmt_cost(row["totalCost"]))
    console = _console()
    console.print(table)
    console.print(f"Total: {_fmt_tokens(data['totals']['totalTokens'])} tokens, "
                  f"{_fmt_cost(data['totals']['totalCost'])}")
    _unpriced_note(console, data)


def _blocks_table(data: dict) -> None:
    from rich.table import Table

    table = Table(title="5-hour blocks (UTC start)")
    for name in ("Start", "Status", "Entries", "Models", "Tokens", "Cost (USD)", "Burn rate", "Projection"):
        table.add_column(name)
    for b in data["blocks"]:
        if b["isGap"]:
            table.add_row(b["startTime"][:16].replace("T", " "), "gap", "", "", "", "", "", "", style="dim")
            continue
        burn = f"{b['burnRate']['tokensPerMinute']:,.0f} tok/min" if b.get("burnRate") else ""
        proj = (f"{b['projection']['totalTokens']:,} tok, ${b['projection']['totalCost']:.2f}"
                if b.get("projection") else "")
        table.add_row(b["startTime"][:16].replace("T", " "), "ACTIVE" if b["isActive"] else "", str(b["entries"]),
                      ", ".join(b["models"]), _fmt_tokens(b["totalTokens"]), _fmt_cost(b["costUSD"]), burn, proj)
    _console().print(table)


@cli.command()
@click.option("--json", "as_json", is_flag=True)
def doctor(as_json: bool) -> None:
    """Where the logs are, what was read, what looks wrong, and what is at risk of deletion."""
    from store.doctor import run_doctor

    archive = _open()
    try:
        _refresh(archive, show_progress=not as_json and sys.stderr.isatty())
        rep = run_doctor(archive)
    finally:
        archive.close()
    if as_json:
        import dataclasses

        import orjson

        click.echo(orjson.dumps(dataclasses.asdict(rep), option=orjson.OPT_INDENT_2).decode())
        return
    console = _console()
    console.print(f"Archive: {rep.archive_path} ({rep.archive_bytes / 1e6:.1f} MB), {rep.sessions:,} sessions, "
                  f"{rep.requests:,} API requests")
    for r in rep.roots:
        state = "found" if r.exists else "not found"
        console.print(f"Root {r.path}: {state}" + (f", {r.files:,} files, {r.lines:,} lines, "
                                                    f"{r.malformed_lines:,} malformed" if r.exists else ""))
    if rep.missing_files:
        console.print(f"{rep.missing_files} source files no longer exist; their data is kept in the archive.")
    for path, n, example in rep.files_with_malformed[:10]:
        console.print(f"[yellow]{n} malformed line(s)[/yellow] in {path}" + (f": {example[:60]!r}" if example else ""))
    for model, n in rep.unpriced_models:
        console.print(f"[yellow]Unpriced model[/yellow] {model} ({n:,} requests)")
    for warning in rep.warnings:
        console.print(f"[yellow]Warning:[/yellow] {warning}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (keep it local).")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option("--no-watch", is_flag=True, help="Do not watch the logs: ingest once at start-up, then on request.")
def serve(host: str, port: int, no_watch: bool) -> None:
    """Run the local API server headless, watching the logs and ingesting each change as it happens."""
    from desktop.server.run import serve as run_server
    from store.api_key import ApiKeyError
    from store.config import ConfigError
    from store.sqlite.connection import ArchiveError

    try:
        run_server(host, port, watch=not no_watch)
    except (ArchiveError, ConfigError, ApiKeyError) as exc:
        _fail(str(exc))


from desktop.cli_app import app  # noqa: E402  (registered last: these modules import only click)
from desktop.cli_budgets import budgets  # noqa: E402
from desktop.cli_live import hook, hooks, statusline  # noqa: E402

cli.add_command(hooks)
cli.add_command(hook)
cli.add_command(statusline)
cli.add_command(budgets)
cli.add_command(app)

from desktop.cli_keys import keys  # noqa: E402

cli.add_command(keys)

from desktop.cli_workbench import export, search  # noqa: E402

cli.add_command(search)
cli.add_command(export)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
