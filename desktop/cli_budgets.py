"""``devhelion budgets list|add|rm|status``: the same budgets, checks and figures as ``/api/budgets``.

Writes go straight to the archive; a running app picks them up at its next evaluation (within a minute).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click


@click.group()
def budgets() -> None:
    """Spending limits per local day, week or month, with a warning before they are passed."""


def _json(data: Any) -> None:
    import orjson

    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _scope(project: str | None, model: str | None) -> str:
    return ", ".join(filter(None, [f"project {project}" if project else "", f"model {model}" if model else ""])) \
        or "everything"


@budgets.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_command(as_json: bool) -> None:
    """Every budget and what it covers."""
    from desktop.cli import _console, _open
    from store.budgets.repo import list_budgets

    archive = _open()
    try:
        rows = list_budgets()
    finally:
        archive.close()
    if as_json:
        _json([b.to_json() for b in rows])
        return
    if not rows:
        click.echo("No budgets. Add one with: devhelion budgets add NAME AMOUNT --period weekly")
        return
    from rich.table import Table

    from store.budgets.status import money

    table = Table(title="Budgets")
    for name in ("Id", "Name", "Amount", "Period", "Warns at", "Covers", "Forecast", "Muted"):
        table.add_column(name, justify="right" if name in ("Id", "Amount", "Warns at") else "left")
    for b in rows:
        table.add_row(str(b.id), b.name, money(b.amount), b.period, f"{b.warning_threshold:.0%}",
                      _scope(b.project, b.model), "yes" if b.warn_on_forecast else "", "yes" if b.muted else "")
    _console().print(table)


@budgets.command("add")
@click.argument("name")
@click.argument("amount")
@click.option("--period", type=click.Choice(["daily", "weekly", "monthly"]), default="monthly", show_default=True)
@click.option("--warning-threshold", default="0.8", show_default=True,
              help="Fraction of the amount that warns (0.8 = at 80%).")
@click.option("--project", help="Only this project (full path or last path component).")
@click.option("--model", help="Only models whose id contains this (e.g. opus).")
@click.option("--forecast", is_flag=True, help="Also warn when the pace so far would pass the amount.")
@click.option("--muted", is_flag=True, help="No notifications for this budget.")
@click.option("--json", "as_json", is_flag=True)
def add_command(name: str, amount: str, period: str, warning_threshold: str, project: str | None,
                model: str | None, forecast: bool, muted: bool, as_json: bool) -> None:
    """Add a budget of AMOUNT US dollars named NAME."""
    from desktop.cli import _fail, _open
    from store.budgets.repo import create_budget
    from store.budgets.validate import BudgetError

    archive = _open()
    try:
        budget = create_budget({"name": name, "amount": amount, "period": period,
                                "warning_threshold": warning_threshold, "project": project, "model": model,
                                "warn_on_forecast": forecast, "muted": muted})
    except BudgetError as exc:
        _fail(f"{exc.field}: {exc}")
    finally:
        archive.close()
    if as_json:
        _json(budget.to_json())
    else:
        click.echo(f"Added budget {budget.id}: {budget.name}, ${budget.amount} {budget.period} "
                   f"({_scope(budget.project, budget.model)}).")


@budgets.command("rm")
@click.argument("budget")
def rm_command(budget: str) -> None:
    """Delete the budget with this id or name."""
    from desktop.cli import _fail, _open
    from store.budgets.repo import delete_budget, find_budget

    archive = _open()
    try:
        found = find_budget(budget)
        if found is None:
            _fail(f"no budget with id or name {budget!r} (see `devhelion budgets list`)")
        delete_budget(found.id)
    finally:
        archive.close()
    click.echo(f"Deleted budget {found.id}: {found.name}.")


@budgets.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.option("--no-ingest", is_flag=True, help="Do not read new transcript lines first.")
def status_command(as_json: bool, no_ingest: bool) -> None:
    """Spend so far in each budget's current period, percentage used, status and forecast."""
    from desktop.cli import _console, _open, _refresh
    from store.budgets.status import current_statuses
    from store.timezones import resolve_timezone

    archive = _open()
    try:
        if not no_ingest:
            _refresh(archive, show_progress=not as_json and sys.stderr.isatty())
        tz = resolve_timezone(archive.settings.timezone)
        now_ms = int(time.time() * 1000)
        statuses = current_statuses(archive.db, archive.prices, tz, now_ms)
    finally:
        archive.close()
    if as_json:
        _json([s.to_json(tz) for s in statuses])
        return
    if not statuses:
        click.echo("No budgets. Add one with: devhelion budgets add NAME AMOUNT --period weekly")
        return
    from rich.table import Table

    from store.budgets.status import forecast_message, money

    table = Table(title=f"Budgets ({getattr(tz, 'key', tz)})")
    for name in ("Name", "Period", "Spent", "Amount", "Used", "Status", "Forecast"):
        table.add_column(name, justify="right" if name in ("Spent", "Amount", "Used") else "left")
    style = {"ok": "green", "warning": "yellow", "exceeded": "red"}
    for s in statuses:
        forecast = money(s.forecast_usd) if s.forecast_usd is not None else ""
        table.add_row(s.budget.name, f"{s.budget.period} from {s.period.first_day}", money(s.spend.usd),
                      money(s.budget.amount), f"{s.percentage:g}%", f"[{style[s.status]}]{s.status}[/]", forecast)
    console = _console()
    console.print(table)
    for s in statuses:
        message = forecast_message(s, tz) if s.forecast_warns else None
        if message:
            console.print(f"[yellow]{s.budget.name}:[/yellow] {message}")
        if s.spend.unpriced:
            unpriced = ", ".join(sorted(s.spend.unpriced))
            console.print(f"[yellow]{s.budget.name}:[/yellow] unpriced models, not counted: {unpriced}")
