"""The key store: key format, hashed storage, names, prefixes, expiry, rotation, revocation, the local key."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.db import open_archive
from store.keys import (
    ACTIVE,
    DAY_MS,
    EXPIRED,
    LIVE,
    REVOKED,
    TEST,
    UNKNOWN,
    KeyConflict,
    KeyNotFound,
    KeyStore,
    KeyStoreError,
    ensure_local_key,
    hash_key,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[KeyStore]:
    db = open_archive(tmp_path / "archive.db")
    yield KeyStore(db, tmp_path / "api-key")
    db.close()


def test_keys_are_prefixed_random_and_stored_hashed(store: KeyStore, tmp_path: Path) -> None:
    live, info = store.create("ci")
    test, test_info = store.create("sandbox", TEST)
    assert live.startswith("sk_live_") and test.startswith("sk_test_") and live != test
    assert len(live) == len("sk_live_") + 43 and live[8:].replace("-", "").replace("_", "").isalnum()
    assert (info.mode, test_info.mode) == (LIVE, TEST) and info.prefix == live[:16]
    assert info.expires_ms - info.created_ms == 90 * DAY_MS  # the default lifetime
    rows = store.conn.execute("SELECT key_hash FROM api_key").fetchall()
    assert {r[0] for r in rows} == {hash_key(live), hash_key(test)}
    store.db.close()  # the full key is nowhere in the archive's files
    for path in tmp_path.glob("archive.db*"):
        assert live.encode() not in path.read_bytes() and live[8:].encode() not in path.read_bytes()


def test_verify(store: KeyStore) -> None:
    key, info = store.create("ci", expires_days=5)
    verified = store.verify(key)
    assert verified.ok and verified.key == info
    assert store.verify(key + "x").status == UNKNOWN
    assert store.verify("sk_live_" + "A" * 43).status == UNKNOWN
    assert store.verify("not-a-key").status == UNKNOWN
    store.conn.execute("UPDATE api_key SET expires_ms = 1 WHERE public_id = ?", (info.id,))
    assert store.verify(key).status == EXPIRED
    store.revoke("ci")
    assert store.verify(key).status == REVOKED  # revoked wins over expired


def test_names_are_unique_among_active_keys(store: KeyStore) -> None:
    store.create("ci")
    with pytest.raises(KeyConflict, match="already named 'ci'"):
        store.create("ci", TEST)
    store.revoke("ci")
    store.create("ci")  # the name is free again
    for bad in ("", "   ", "x" * 65, "tab\there"):
        with pytest.raises(KeyStoreError):
            store.create(bad)
    with pytest.raises(KeyStoreError, match="expires-days"):
        store.create("zero", expires_days=0)


def test_find_by_name_id_prefix_or_key(store: KeyStore) -> None:
    key, info = store.create("ci")
    assert store.find("ci") == store.find(info.id) == store.find(key) == store.find(key[:14]) == info
    for twin in ("x", "y"):  # two keys sharing their first characters (crafted: random ones rarely do)
        store.import_local("sk_live_ABCDEFGH" + twin * 35)
    with pytest.raises(KeyConflict, match="several keys"):
        store.find("sk_live_ABCD")
    assert store.find("sk_live_ABCDEFGH" + "y" * 35).prefix == "sk_live_ABCDEFGH"
    with pytest.raises(KeyNotFound):
        store.find("sk_live_")  # too short to be a prefix
    with pytest.raises(KeyNotFound):
        store.find("nope")
    with pytest.raises(KeyNotFound):
        store.find("sk_test_zzzzzzzz")


def test_rotate_keeps_name_mode_and_lifetime(store: KeyStore) -> None:
    old, info = store.create("sandbox", TEST, expires_days=30)
    new, rotated = store.rotate("sandbox")
    assert new.startswith("sk_test_") and rotated.name == "sandbox" and rotated.mode == TEST
    assert rotated.expires_ms - rotated.created_ms == 30 * DAY_MS and rotated.id != info.id
    assert store.verify(old).status == REVOKED and store.verify(new).status == ACTIVE
    assert store.find("sandbox") == rotated
    with pytest.raises(KeyStoreError, match="revoked"):
        store.rotate(info.id)


def test_expired_keys_can_be_renewed_by_rotation(store: KeyStore) -> None:
    _, info = store.create("ci", expires_days=7)
    store.conn.execute("UPDATE api_key SET created_ms = created_ms - ?, expires_ms = expires_ms - ? WHERE "
                       "public_id = ?", (8 * DAY_MS, 8 * DAY_MS, info.id))
    assert store.find("ci").status() == EXPIRED
    new, rotated = store.rotate("ci")
    assert store.verify(new).ok and rotated.expires_ms - rotated.created_ms == 7 * DAY_MS


def test_revoke_by_prefix_is_idempotent(store: KeyStore) -> None:
    key, _ = store.create("ci")
    revoked = store.revoke(key[:16])
    assert revoked.revoked_ms is not None and revoked.status() == REVOKED
    assert store.revoke("ci") == revoked
    assert [k.status() for k in store.list()] == [REVOKED]


def test_local_key_is_imported_once_and_never_expires(store: KeyStore, tmp_path: Path) -> None:
    path = tmp_path / "api-key"
    key = ensure_local_key(store, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text().strip() == key
    [local] = store.list()
    assert local.is_local and local.mode == LIVE and local.expires_ms is None and local.name == "local"
    assert ensure_local_key(store, path) == key and len(store.list()) == 1


def test_existing_key_file_becomes_a_live_key(store: KeyStore, tmp_path: Path) -> None:
    path = tmp_path / "api-key"
    path.write_text("sk_live_" + "k" * 43 + "\n")  # written by an earlier Devhelion, before key management
    path.chmod(0o600)
    assert ensure_local_key(store, path) == "sk_live_" + "k" * 43
    assert store.verify("sk_live_" + "k" * 43).key.is_local


def test_rotating_the_local_key_rewrites_the_file(store: KeyStore, tmp_path: Path) -> None:
    path = tmp_path / "api-key"
    old = ensure_local_key(store, path)
    new, info = store.rotate("local")
    assert info.is_local and info.expires_ms is None
    assert path.read_text().strip() == new and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.verify(old).status == REVOKED


def test_a_revoked_local_key_is_replaced_at_start(store: KeyStore, tmp_path: Path) -> None:
    path = tmp_path / "api-key"
    old = ensure_local_key(store, path)
    store.revoke("local")
    new = ensure_local_key(store, path)
    assert new != old and path.read_text().strip() == new and store.verify(new).key.is_local
