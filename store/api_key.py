"""The local API key: created on first run, readable only by its owner, so local scripts can use the API.

The key file holds one line. It is created with mode 0600 in a single ``open`` call (no window in which another
user could read it), and a file found with wider permissions is narrowed again.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from pathlib import Path

from store.paths import data_home

KEY_FILENAME = "api-key"
KEY_PREFIX = "sk_live_"


class ApiKeyError(RuntimeError):
    """The key file exists but cannot be used; the message names the file and the fix."""


def key_path() -> Path:
    return data_home() / KEY_FILENAME


def new_key(prefix: str = KEY_PREFIX) -> str:
    """A fresh key: the prefix (``sk_live_`` or ``sk_test_``) and 256 random bits."""
    return prefix + secrets.token_urlsafe(32)


def load_or_create_key(path: Path | None = None) -> str:
    """The key in ``path`` (default ``$DEVHELION_HOME/api-key``), creating it on first run."""
    path = path or key_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_existing(path)
    key = new_key()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    os.chmod(path, 0o600)  # the umask may not narrow O_CREAT's mode, but it can never widen it either
    return key


def _read_existing(path: Path) -> str:
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        os.chmod(path, 0o600)
    key = path.read_text(encoding="ascii", errors="replace").strip()
    if not key.startswith(KEY_PREFIX) or len(key) < len(KEY_PREFIX) + 32:
        raise ApiKeyError(f"The API key file {path} is damaged. Delete it and restart to create a new key.")
    return key


def key_matches(presented: str, expected: str) -> bool:
    """Constant-time comparison, so response timing tells nothing about the key."""
    return hmac.compare_digest(presented.encode(), expected.encode())


def replace_key(key: str, path: Path | None = None) -> Path:
    """Write ``key`` as the local key (after a rotation), atomically and readable only by its owner."""
    path = path or key_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(key + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
