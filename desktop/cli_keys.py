"""``devhelion keys create|list|rotate|revoke``: the data API's keys, in the archive like ``/api/keys``.

``create`` and ``rotate`` print the new key once, alone on stdout (so ``KEY=$(devhelion keys create --name ci)``
works); what to do with it goes to stderr. A running app sees changes at its next request.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from store.keys import KeyInfo, KeyStore


def _json(data: Any) -> None:
    import orjson

    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _run(action: Any) -> Any:
    """Open the archive's key store, run ``action(store)``, turn key errors into a clean exit."""
    from desktop.cli import _fail, _open
    from store.keys import KeyStoreError, archive_keys

    archive = _open()
    try:
        return action(archive_keys(archive))
    except KeyStoreError as exc:
        _fail(str(exc))
    finally:
        archive.close()


def _announce(key: str, info: KeyInfo, as_json: bool, verb: str) -> None:
    if as_json:
        _json({**info.as_json(), "key": key})
        return
    click.echo(key)
    expiry = f"expires {info.as_json()['expires_at']}" if info.expires_ms is not None else "never expires"
    click.echo(f"{verb} {info.mode} key '{info.name}' ({info.id}, {expiry}). This is the only time it is shown: "
               "store it now.", err=True)
    if info.is_local:
        click.echo("The local key file (api-key in the data folder) now holds it.", err=True)


@click.group()
def keys() -> None:
    """API keys of the data API: sk_live_ keys read your archive, sk_test_ keys the built-in demo archive."""


@keys.command("create")
@click.option("--name", required=True, help="A name for the key (unique among active keys).")
@click.option("--test", "test_key", is_flag=True, help="An sk_test_ key: reads the demo archive (stable numbers).")
@click.option("--expires-days", type=click.IntRange(1, 100 * 366), help="Lifetime in days (default 90, or "
              "data_api.key_expiry_days in config.json).")
@click.option("--json", "as_json", is_flag=True, help="Print the key and its record as JSON.")
def create_command(name: str, test_key: bool, expires_days: int | None, as_json: bool) -> None:
    """Create a key and print it (once)."""
    from store.keys import LIVE, TEST

    key, info = _run(lambda store: store.create(name, TEST if test_key else LIVE, expires_days))
    _announce(key, info, as_json, "Created")


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_command(as_json: bool) -> None:
    """Every key with its status, expiry and last use (never the keys themselves)."""
    rows: list[KeyInfo] = _run(lambda store: store.list())
    if as_json:
        _json([k.as_json() for k in rows])
        return
    if not rows:
        click.echo("No keys yet. Create one with: devhelion keys create --name NAME")
        return
    from rich.table import Table

    from desktop.cli import _console

    table = Table(title="API keys")
    for column in ("Name", "Key", "Mode", "Status", "Expires", "Last used"):  # ids and times: --json
        table.add_column(column, no_wrap=column != "Name")
    for k in rows:
        data = k.as_json()

        def day(field: str, data: dict[str, Any] = data) -> str:
            return (data[field] or "")[:10]

        name = f"{k.name} (local)" if k.is_local else k.name
        table.add_row(name, k.prefix + "…", k.mode, data["status"], day("expires_at") or "never",
                      day("last_used_at") or "-")
    _console().print(table)


@keys.command("rotate")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
def rotate_command(name: str, as_json: bool) -> None:
    """Replace a key (by name, id or prefix) with a new one; the old one stops working at once."""
    key, info = _run(lambda store: store.rotate(name))
    _announce(key, info, as_json, "Rotated")


@keys.command("revoke")
@click.argument("ref", metavar="NAME|PREFIX")
@click.option("--json", "as_json", is_flag=True)
def revoke_command(ref: str, as_json: bool) -> None:
    """Revoke a key (by name, id or prefix): requests with it get 401 from now on."""

    def revoke(store: KeyStore) -> KeyInfo:
        return store.revoke(ref)

    info = _run(revoke)
    if as_json:
        _json(info.as_json())
        return
    click.echo(f"Revoked key '{info.name}' ({info.prefix}…, {info.id}).")
    if info.is_local:
        click.echo("It was the local key: local tools (hooks, statusline, scripts reading the api-key file) stop "
                   "working until the app restarts and writes a new local key.", err=True)
