"""API keys of the data API: created, listed, rotated and revoked here; only their SHA-256 is stored.

A key is ``sk_live_`` or ``sk_test_`` plus 32 random url-safe bytes (256 bits). With that much entropy a plain
SHA-256 is as safe as a slow password hash, and it lets a request find its key with one indexed lookup; the stored
digest is still compared in constant time. The full key exists only in the caller's hands (and, for the local key,
in ``$DEVHELION_HOME/api-key``, which must keep working for existing scripts, hooks and the statusline).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peewee import SqliteDatabase

from store.api_key import KEY_PREFIX, key_path, load_or_create_key, new_key, replace_key
from store.sqlite.connection import transaction
from store.timezones import format_utc_iso_ms

if TYPE_CHECKING:
    from store.archive import Archive

log = logging.getLogger(__name__)

LIVE, TEST = "live", "test"
PREFIXES = {LIVE: KEY_PREFIX, TEST: "sk_test_"}
PREFIX_CHARS = 16  # "sk_live_" + 8 random characters: shown in lists, accepted by `keys revoke PREFIX`
MIN_KEY_CHARS = 8 + 40  # shorter tokens cannot be ours: refused without a database lookup
LOCAL_NAME = "local"
DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 100 * 366
MAX_NAME_CHARS = 64
DAY_MS = 86_400_000
TOUCH_EVERY_MS = 60_000  # "last used" is kept to the minute: one write per key and minute at most

ACTIVE, EXPIRED, REVOKED, UNKNOWN = "active", "expired", "revoked", "unknown"

_COLUMNS = ("public_id, name, mode, prefix, created_ms, expires_ms, last_used_ms, revoked_ms, is_local")


class KeyStoreError(ValueError):
    """A key operation that cannot be done; the message says why in words a user can act on."""


class KeyNotFound(KeyStoreError):
    pass


class KeyConflict(KeyStoreError):
    pass


def now_ms() -> int:
    return int(time.time() * 1000)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key(mode: str = LIVE) -> str:
    return new_key(PREFIXES[mode])


def mode_of(key: str) -> str | None:
    """``live`` or ``test`` from the key's prefix; None when it is neither."""
    return next((mode for mode, prefix in PREFIXES.items() if key.startswith(prefix)), None)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: str
    name: str
    mode: str
    prefix: str
    created_ms: int
    expires_ms: int | None
    last_used_ms: int | None
    revoked_ms: int | None
    is_local: bool

    def status(self, at_ms: int | None = None) -> str:
        if self.revoked_ms is not None:
            return REVOKED
        if self.expires_ms is not None and (now_ms() if at_ms is None else at_ms) >= self.expires_ms:
            return EXPIRED
        return ACTIVE

    def as_json(self, at_ms: int | None = None) -> dict[str, Any]:
        def iso(ms: int | None) -> str | None:
            return None if ms is None else format_utc_iso_ms(ms)

        return {"id": self.id, "name": self.name, "mode": self.mode, "prefix": self.prefix,
                "status": self.status(at_ms), "local": self.is_local, "created_at": iso(self.created_ms),
                "expires_at": iso(self.expires_ms), "last_used_at": iso(self.last_used_ms),
                "revoked_at": iso(self.revoked_ms)}


@dataclass(frozen=True, slots=True)
class Verification:
    status: str  # active | expired | revoked | unknown
    key: KeyInfo | None = None

    @property
    def ok(self) -> bool:
        return self.status == ACTIVE


def _info(row: tuple) -> KeyInfo:
    return KeyInfo(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], bool(row[8]))


class KeyStore:
    """Keys in the archive's ``api_key`` table; safe to use from any thread (one connection per thread)."""

    def __init__(self, db: SqliteDatabase, key_file: Path | None = None,
                 default_expiry_days: int | Callable[[], int] = DEFAULT_EXPIRY_DAYS) -> None:
        self.db = db
        self.key_file = key_file
        self._default_expiry = default_expiry_days
        self._touched: dict[str, int] = {}
        self._touches: queue.SimpleQueue[tuple[str, int]] = queue.SimpleQueue()
        self._toucher: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.connection()

    @property
    def default_expiry_days(self) -> int:
        value = self._default_expiry
        return value() if callable(value) else value

    # -- reading -------------------------------------------------------------------------------------
    def list(self) -> list[KeyInfo]:
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM api_key ORDER BY created_ms, id").fetchall()
        return [_info(row) for row in rows]

    def find(self, ref: str) -> KeyInfo:
        """A key by id (``key_...``), name, the full key, or a prefix of it (``sk_live_AbCd...``).

        A name means the active key of that name, else its latest expired one, else its latest revoked one.
        """
        ref = ref.strip()
        if not ref:
            raise KeyNotFound("Give a key's name, id or prefix")
        conn = self.conn
        row = conn.execute(f"SELECT {_COLUMNS} FROM api_key WHERE public_id = ? OR key_hash = ?",
                           (ref, hash_key(ref))).fetchone()
        if row is not None:
            return _info(row)
        named = [_info(r) for r in conn.execute(f"SELECT {_COLUMNS} FROM api_key WHERE name = ? "
                                                "ORDER BY created_ms DESC, id DESC", (ref,))]
        if named:
            at = now_ms()
            for wanted in (ACTIVE, EXPIRED, REVOKED):
                match = next((k for k in named if k.status(at) == wanted), None)
                if match is not None:
                    return match
        if mode_of(ref) is not None and len(ref) >= 10:
            candidates = [k for k in self.list() if k.prefix.startswith(ref) or ref.startswith(k.prefix)]
            live = [k for k in candidates if k.revoked_ms is None] or candidates
            if len(live) == 1:
                return live[0]
            if len(live) > 1:
                names = ", ".join(f"{k.name} ({k.prefix}…)" for k in live)
                raise KeyConflict(f"'{ref}' matches several keys: {names}; give more characters or the name")
        raise KeyNotFound(f"No API key named or starting with '{ref}' (see `devhelion keys list`)")

    def verify(self, presented: str) -> Verification:
        """The key's status for a request: active, expired, revoked, or unknown (never seen or malformed)."""
        if mode_of(presented) is None or len(presented) < MIN_KEY_CHARS or len(presented) > 512:
            return Verification(UNKNOWN)
        digest = hash_key(presented)
        row = self.conn.execute(f"SELECT {_COLUMNS}, key_hash FROM api_key WHERE key_hash = ?",
                                (digest,)).fetchone()
        if row is None or not hmac.compare_digest(row[9], digest):
            return Verification(UNKNOWN)
        info = _info(row)
        return Verification(info.status(), info)

    # -- writing -------------------------------------------------------------------------------------
    def create(self, name: str, mode: str = LIVE, expires_days: int | None = None) -> tuple[str, KeyInfo]:
        """A new key; returns the full key (shown once) and its record. Names are unique among active keys."""
        name = _check_name(name)
        if mode not in PREFIXES:
            raise KeyStoreError(f"mode must be one of {', '.join(PREFIXES)}")
        days = self.default_expiry_days if expires_days is None else _check_days(expires_days)
        with self._lock, transaction(self.conn) as conn:
            at = now_ms()
            if self._active_named(conn, name, at):
                raise KeyConflict(f"An active key is already named '{name}': rotate it, revoke it, "
                                  "or choose another name")
            return self._insert(conn, name, mode, at, at + days * DAY_MS, local=False)

    def rotate(self, ref: str) -> tuple[str, KeyInfo]:
        """Replace a key by a new one with the same name, mode and lifetime; the old one is revoked at once.

        Rotating the local key writes the new one to the key file, so local tools pick it up."""
        old = self.find(ref)
        if old.revoked_ms is not None:
            raise KeyStoreError(f"The key '{old.name}' ({old.prefix}…) is revoked; create a new one instead")
        with self._lock, transaction(self.conn) as conn:
            at = now_ms()
            conn.execute("UPDATE api_key SET revoked_ms = ? WHERE public_id = ? AND revoked_ms IS NULL",
                         (at, old.id))
            lifetime = None if old.expires_ms is None else max(old.expires_ms - old.created_ms, DAY_MS)
            key, info = self._insert(conn, old.name, old.mode, at, None if lifetime is None else at + lifetime,
                                     local=old.is_local)
            if old.is_local:
                replace_key(key, self.key_file or key_path())
        return key, info

    def revoke(self, ref: str) -> KeyInfo:
        info = self.find(ref)
        if info.revoked_ms is not None:
            return info
        at = now_ms()
        self.conn.execute("UPDATE api_key SET revoked_ms = ? WHERE public_id = ? AND revoked_ms IS NULL",
                          (at, info.id))
        return self.find(info.id)

    def import_local(self, key: str) -> KeyInfo:
        """Record the local key file's key as a live, non-expiring key (first run after an upgrade)."""
        digest = hash_key(key)
        with self._lock, transaction(self.conn) as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM api_key WHERE key_hash = ?", (digest,)).fetchone()
            if row is not None:
                return _info(row)
            at = now_ms()
            name, n = LOCAL_NAME, 1
            while self._active_named(conn, name, at):
                n += 1
                name = f"{LOCAL_NAME}-{n}"
            return self._insert(conn, name, LIVE, at, None, local=True, key=key)[1]

    def touch(self, info: KeyInfo) -> None:
        """Note that a key was used; written in the background at most once a minute per key, so a request
        never waits for the archive's writer (an ingest may hold it)."""
        at = now_ms()
        if at - self._touched.get(info.id, -TOUCH_EVERY_MS) < TOUCH_EVERY_MS:
            return
        self._touched[info.id] = at
        self._touches.put((info.id, at))
        if self._toucher is None or not self._toucher.is_alive():
            with self._lock:
                if self._toucher is None or not self._toucher.is_alive():
                    self._toucher = threading.Thread(target=self._write_touches, name="devhelion-key-usage",
                                                     daemon=True)
                    self._toucher.start()

    def _write_touches(self) -> None:
        while True:
            key_id, at = self._touches.get()
            try:
                self.conn.execute("UPDATE api_key SET last_used_ms = max(coalesce(last_used_ms, 0), ?) "
                                  "WHERE public_id = ?", (at, key_id))
            except sqlite3.Error as exc:  # best effort: a busy archive must not cost a request anything
                log.warning("could not record the use of key %s: %s", key_id, exc)

    # -- helpers -------------------------------------------------------------------------------------
    @staticmethod
    def _active_named(conn: sqlite3.Connection, name: str, at: int) -> bool:
        return conn.execute("SELECT 1 FROM api_key WHERE name = ? AND revoked_ms IS NULL AND "
                            "(expires_ms IS NULL OR expires_ms > ?)", (name, at)).fetchone() is not None

    @staticmethod
    def _insert(conn: sqlite3.Connection, name: str, mode: str, at: int, expires_ms: int | None, local: bool,
                key: str | None = None) -> tuple[str, KeyInfo]:
        key = key or generate_key(mode)
        public_id = "key_" + secrets.token_hex(6)
        conn.execute("INSERT INTO api_key (public_id, name, mode, key_hash, prefix, created_ms, expires_ms, "
                     "is_local) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (public_id, name, mode, hash_key(key), key[:PREFIX_CHARS], at, expires_ms, int(local)))
        return key, KeyInfo(public_id, name, mode, key[:PREFIX_CHARS], at, expires_ms, None, None, local)


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise KeyStoreError(f"A key name is 1 to {MAX_NAME_CHARS} printable characters")
    return name


def _check_days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXPIRY_DAYS:
        raise KeyStoreError(f"expires-days must be a whole number of days from 1 to {MAX_EXPIRY_DAYS}")
    return days


def ensure_local_key(store: KeyStore, path: Path | None = None) -> str:
    """The local key (created on first run), recorded in the store; a revoked or expired one is replaced.

    The app's own tools (hooks, statusline, scripts reading the file) need a working key in the file.
    """
    path = path or store.key_file or key_path()
    key = load_or_create_key(path)
    status = store.verify(key).status
    if status in (REVOKED, EXPIRED):
        key = generate_key(LIVE)
        replace_key(key, path)
        status = UNKNOWN
    if status == UNKNOWN:
        store.import_local(key)
    return key


def archive_keys(archive: Archive) -> KeyStore:
    """The key store of an open archive, new keys living as long as its settings say (default 90 days)."""
    return KeyStore(archive.db, key_path(), lambda: archive.settings.data_api.key_expiry_days)
