"""Localhost-only, key-protected: every request passes these checks before any route runs.

- ``Host`` must name this machine (``localhost``, ``127.0.0.1``, ``[::1]`` or the address the server was bound
  to), with any port: a DNS-rebinding page reaches us under its own host name and is refused.
- A state-changing request (or a WebSocket) that carries a cross-site ``Origin`` is refused: a web page may not
  drive the API from the user's browser. No CORS headers are ever sent, so other origins cannot read answers.
- Every /api path but health and the API docs needs ``Authorization: Bearer <key>``: any active key of the key
  store (``store/keys.py``); an expired or revoked one gets 401 saying so. ``sk_test_`` keys may only read the
  data API (``/api/data/*``, answered from the demo archive); managing keys (``/api/keys``) needs a live key.
- The data API (``/api/data/*``, ``/api/keys``) is rate-limited per key and per install (``store/ratelimit.py``);
  its responses carry ``X-RateLimit-*`` headers. The dashboard's own APIs, hooks and the statusline are not
  limited: Claude Code may post a hook event for every tool call.

It is a pure ASGI middleware, so it also guards NiceGUI's pages and WebSockets, not only FastAPI routes.
The key lookup and the rate-limit count run on a worker thread, never on the event loop.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from desktop.api.errors import error_body_for, is_api_path, is_data_api_path
from store.api_key import key_matches, key_path
from store.keys import ACTIVE, EXPIRED, REVOKED, TEST, KeyInfo, KeyStore
from store.ratelimit import Decision, Limits, RateLimiter
from store.timezones import format_utc_iso_ms

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
PUBLIC_API_PATHS = frozenset({"/api/health", "/api/openapi.json", "/api/docs", "/api/docs/oauth2-redirect"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def split_host(host: str) -> tuple[str, str | None]:
    """``("[::1]", "8787")`` from ``[::1]:8787``; names are lower-cased, IPv6 keeps its brackets."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return host, None
        name, rest = host[: end + 1], host[end + 1 :]
        return name, rest[1:] if rest.startswith(":") else (rest or None)
    name, sep, port = host.partition(":")
    return name, port if sep else None


def allowed_hosts(bind_host: str) -> frozenset[str]:
    """Loopback names plus the bound address itself when it is a concrete one (``--host 192.168.1.5``)."""
    extra = set()
    if bind_host and bind_host not in {"0.0.0.0", "::", ""}:
        extra.add(f"[{bind_host}]" if ":" in bind_host and not bind_host.startswith("[") else bind_host.lower())
    return LOOPBACK_HOSTS | extra


MISSING_KEY = ("Missing API key: send 'Authorization: Bearer <key>' (the key is in the api-key file of the "
               "Devhelion data folder)")


@dataclass
class Refusal:
    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None  # instead of the error shape (the reference's 429 body)


@dataclass
class Grant:
    key: KeyInfo | None
    decision: Decision | None = None


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, api_key: str | None = None, hosts: Iterable[str] = LOOPBACK_HOSTS,
                 keys: KeyStore | None = None, limiter: RateLimiter | None = None,
                 limits: Callable[[], Limits] = Limits) -> None:
        """With ``keys``, any active key of the store is accepted; without, only ``api_key``."""
        self.app = app
        self.api_key = api_key
        self.hosts = frozenset(hosts)
        self.keys = keys
        self.limiter = limiter
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get("host", "")
        name, port = split_host(host)
        if name not in self.hosts or (port is not None and not port.isdigit()):
            await _refuse(scope, receive, send, 400, "INVALID_HOST",
                          "This API only answers requests addressed to localhost (the Host header was refused)")
            return
        state_changing = scope["type"] == "websocket" or scope.get("method", "GET") not in SAFE_METHODS
        if state_changing and _cross_site(headers, host):
            await _refuse(scope, receive, send, 403, "FORBIDDEN_ORIGIN",
                          "Cross-site requests may not change anything (the Origin header was refused)")
            return
        path = scope.get("path", "")
        if scope["type"] == "websocket" and path == "/ws" and self.keys is not None and "app" in scope:
            await anyio.to_thread.run_sync(self.refresh_local_key, scope["app"])
        if scope["type"] == "http" and is_api_path(path) and path not in PUBLIC_API_PATHS:
            presented = _bearer(headers.get("authorization", ""))
            if presented is None:
                outcome: Grant | Refusal = _unauthorized("UNAUTHORIZED", MISSING_KEY)
            elif self.keys is None:
                matches = self.api_key is not None and key_matches(presented, self.api_key)
                outcome = Grant(None) if matches else _unauthorized("UNAUTHORIZED", "Invalid API key")
            else:
                try:
                    outcome = await anyio.to_thread.run_sync(self.authorize, presented, path)
                except sqlite3.Error as exc:
                    log.error("key check failed on %s: %s", path, exc)
                    outcome = Refusal(500, "DATABASE_ERROR", f"The API keys could not be read: {exc}")
            if isinstance(outcome, Refusal):
                await _refuse(scope, receive, send, outcome.status, outcome.code, outcome.message, outcome.headers,
                              outcome.body)
                return
            scope["state"] = {**scope.get("state", {}), "api_key": outcome.key}
            if outcome.decision is not None:
                send = _with_headers(send, outcome.decision.headers())
        await self.app(scope, receive, send)

    def refresh_local_key(self, app: Any) -> None:
        """`/ws` checks the app's local key itself: after a rotation by the CLI (another process), take the new
        one from the key file, so the app's own clients keep connecting."""
        assert self.keys is not None
        current = getattr(app.state, "api_key", None)
        try:
            if isinstance(current, str) and self.keys.verify(current).ok:
                return
        except sqlite3.Error:
            return
        try:
            key = (self.keys.key_file or key_path()).read_text("ascii").strip()
            if self.keys.verify(key).ok:
                app.state.api_key = key
        except (OSError, UnicodeDecodeError, sqlite3.Error) as exc:
            log.warning("could not refresh the local key: %s", exc)

    def authorize(self, presented: str, path: str) -> Grant | Refusal:
        """Which key this is and whether it may make this request now (worker thread: touches SQLite)."""
        assert self.keys is not None
        verified = self.keys.verify(presented)
        key = verified.key
        if verified.status != ACTIVE or key is None:
            return _key_refusal(verified.status, key)
        if key.mode == TEST and not (path == "/api/data" or path.startswith("/api/data/")):
            return Refusal(403, "TEST_KEY_FORBIDDEN",
                           "Managing API keys needs a live key (sk_live_...)" if is_data_api_path(path) else
                           "sk_test_ keys only read the demo data of the data API (/api/data/...); "
                           "use a live key (sk_live_...) for the rest of the API")
        decision = None
        if self.limiter is not None and is_data_api_path(path):
            decision = self.limiter.hit(key.id, self.limits())
            if not decision.allowed:
                return Refusal(429, "RATE_LIMITED", "Rate limit exceeded", decision.headers(),
                               {"error": "Rate limit exceeded", "retry_after": decision.retry_after})
        self.keys.touch(key)
        return Grant(key, decision)


def _unauthorized(code: str, message: str) -> Refusal:
    return Refusal(401, code, message, {"www-authenticate": 'Bearer realm="devhelion"'})


def _key_refusal(status: str, key: KeyInfo | None) -> Refusal:
    if status == EXPIRED and key is not None and key.expires_ms is not None:
        return _unauthorized("KEY_EXPIRED", f"This API key ('{key.name}', {key.prefix}…) expired at "
                             f"{format_utc_iso_ms(key.expires_ms)}: rotate it (devhelion keys rotate "
                             f"{key.name}) or create a new one")
    if status == REVOKED and key is not None and key.revoked_ms is not None:
        return _unauthorized("KEY_REVOKED", f"This API key ('{key.name}', {key.prefix}…) was revoked at "
                             f"{format_utc_iso_ms(key.revoked_ms)}: create a new one (devhelion keys create)")
    return _unauthorized("UNAUTHORIZED", "Invalid API key")


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    """``send`` adding ``headers`` to the response start (rate-limit headers on every data API response)."""
    raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]

    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *raw]}
        await send(message)

    return sender


def _headers(scope: Scope) -> dict[str, str]:
    """Request headers (the first of repeated ones), decoded as latin-1 like Starlette does."""
    result: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        result.setdefault(raw_name.decode("latin-1").lower(), raw_value.decode("latin-1"))
    return result


def _cross_site(headers: dict[str, str], host: str) -> bool:
    origin = headers.get("origin")
    if origin is not None:
        return origin.strip().lower() not in {f"http://{host.lower()}", f"https://{host.lower()}"}
    return headers.get("sec-fetch-site", "").lower() == "cross-site"


def _bearer(value: str) -> str | None:
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, code: str, message: str,
                  extra_headers: dict[str, str] | None = None, body: dict[str, Any] | None = None) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    from starlette.responses import JSONResponse

    content = body if body is not None else error_body_for(scope.get("path", ""), code, message)
    response = JSONResponse(content, status_code=status, headers=extra_headers)
    await response(scope, receive, send)


def openapi_security(schema: dict[str, Any]) -> dict[str, Any]:
    """Document the bearer key: required everywhere except the public paths (so the docs' Authorize works)."""
    components = schema.setdefault("components", {})
    components.setdefault("securitySchemes", {})["bearerKey"] = {
        "type": "http", "scheme": "bearer",
        "description": "The key in the api-key file of the Devhelion data folder ($DEVHELION_HOME/api-key)."}
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            if isinstance(operation, dict):
                operation["security"] = [] if path in PUBLIC_API_PATHS else [{"bearerKey": []}]
    return schema
