"""What Claude Code's hook and statusline commands share: a hard deadline, the running app, the archive.

These commands run on every hook event and every statusline render, so they import no click, Peewee or web
stack: the running app is found through ``server.json`` and reached with ``http.client``; the archive is opened
with ``sqlite3`` and only falls back to the full ``open_archive`` (tables created, migrations run) when a table
is missing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from store.paths import data_home, database_path

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable

SERVER_FILE = "server.json"
DEFAULT_PORT = 8787
KEY_FILE = "api-key"


def app_port() -> int | None:
    """Port of the running app: from ``server.json`` when its process lives, the default port when the file is
    missing (an app that does not write it yet), None when the file names a process that is gone."""
    try:
        info = json.loads((data_home() / SERVER_FILE).read_text("utf-8"))
    except FileNotFoundError:
        return DEFAULT_PORT
    except (OSError, ValueError):
        return DEFAULT_PORT
    if not isinstance(info, dict):
        return DEFAULT_PORT
    port, pid = info.get("port"), info.get("pid")
    if isinstance(pid, int) and pid > 0 and os.name == "posix":  # signal 0 would kill on Windows
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # alive, another user's
        except OSError:
            return None
    return port if isinstance(port, int) and 0 < port < 65536 else DEFAULT_PORT


def api_key() -> str | None:
    try:
        return (data_home() / KEY_FILE).read_text("ascii", "replace").strip() or None
    except OSError:
        return None


def post_to_app(path: str, body: bytes, timeout: float) -> bool | None:
    """POST ``body`` to the running app: True when it took it (2xx), False when it is not there or refused it,
    None when the request went out but no answer came in time (the app may have stored it: do not repeat)."""
    port, key = app_port(), api_key()
    if port is None or key is None:
        return False
    import http.client  # only when an app may be running

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        try:
            conn.request("POST", path, body, {"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
        except OSError:
            return False  # refused or unreachable: nothing was delivered
        try:
            response = conn.getresponse()
            response.read()
        except TimeoutError:
            return None
        except OSError:
            return False
        return 200 <= response.status < 300
    finally:
        conn.close()


def connect_archive(path: Path | None = None, timeout: float = 0.5) -> sqlite3.Connection | None:
    """A plain autocommit connection to an existing archive (never creates one); None if there is none."""
    import sqlite3

    path = (path or database_path()).absolute()
    if not path.exists():
        return None
    try:
        return sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=timeout, isolation_level=None,
                               check_same_thread=False)
    except sqlite3.Error:
        return None


def write_archive(write: Callable[[Any], Any], path: Path | None = None, timeout: float = 0.5) -> Any:
    """Run ``write(conn)`` on the archive: plain sqlite3 when its tables exist, else through ``open_archive``,
    which creates the archive or the new tables exactly as the app would (once; later calls take the fast way)."""
    import sqlite3

    conn = connect_archive(path, timeout)
    if conn is not None:
        try:
            return write(conn)
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
        finally:
            conn.close()
    from store.db import open_archive

    db = open_archive(path or database_path())
    try:
        return write(db.connection())
    finally:
        db.close()
