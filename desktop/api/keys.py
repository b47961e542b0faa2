"""``/api/keys``: list, create, rotate and revoke API keys (live keys only; the middleware refuses test keys).

A new or rotated key is in the response once (``key``); only its digest is kept. Rotating the local key also
rewrites ``$DEVHELION_HOME/api-key`` and the key the running app's own `/ws` accepts.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from desktop.api.errors import NOT_FOUND, VALIDATION_ERROR, ApiError
from store.keys import LIVE, MAX_EXPIRY_DAYS, MAX_NAME_CHARS, TEST, KeyConflict, KeyNotFound, KeyStore, KeyStoreError

router = APIRouter(prefix="/api/keys", tags=["keys"])
KeyRef = Annotated[str, Path(max_length=200, description="The key's name, id (key_...) or prefix (sk_live_...)")]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    test: StrictBool = Field(default=False, description="An sk_test_ key (reads the demo archive)")
    expiresDays: StrictInt | None = Field(default=None, ge=1, le=MAX_EXPIRY_DAYS,
                                          description="Lifetime in days (default: data_api.key_expiry_days, 90)")


class KeyOut(BaseModel):
    id: str
    name: str
    mode: str
    prefix: str
    status: str
    local: bool
    created_at: str
    expires_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class KeyList(BaseModel):
    keys: list[KeyOut]


class NewKey(KeyOut):
    key: str = Field(description="The full key: shown this once, store it now")


class Revoked(BaseModel):
    success: bool = True
    key: KeyOut


def _store(request: Request) -> KeyStore:
    return request.app.state.keys


def _error(exc: KeyStoreError) -> ApiError:
    if isinstance(exc, KeyNotFound):
        return ApiError(404, NOT_FOUND, str(exc))
    if isinstance(exc, KeyConflict):
        return ApiError(409, "CONFLICT", str(exc))
    return ApiError(400, VALIDATION_ERROR, str(exc))


@router.get("", response_model=KeyList)
def list_keys(request: Request) -> dict[str, Any]:
    """Every key, revoked and expired ones included (never the keys themselves)."""
    return {"keys": [k.as_json() for k in _store(request).list()]}


@router.post("", response_model=NewKey, status_code=201)
def create_key(request: Request, body: KeyCreate) -> Any:
    try:
        key, info = _store(request).create(body.name, TEST if body.test else LIVE, body.expiresDays)
    except KeyStoreError as exc:
        raise _error(exc) from exc
    return JSONResponse({**info.as_json(), "key": key}, status_code=201)


@router.post("/{ref}/rotate", response_model=NewKey)
def rotate_key(request: Request, ref: KeyRef) -> dict[str, Any]:
    """A new key with the same name, mode and lifetime; the old one stops working at once."""
    try:
        key, info = _store(request).rotate(ref)
    except KeyStoreError as exc:
        raise _error(exc) from exc
    if info.is_local:
        request.app.state.api_key = key
    return {**info.as_json(), "key": key}


@router.post("/{ref}/revoke", response_model=Revoked)
def revoke_key(request: Request, ref: KeyRef) -> dict[str, Any]:
    try:
        info = _store(request).revoke(ref)
    except KeyStoreError as exc:
        raise _error(exc) from exc
    if info.is_local:
        request.app.state.api_key = "revoked-" + secrets.token_urlsafe(32)  # /ws refuses it until a new local key
    return {"success": True, "key": info.as_json()}
