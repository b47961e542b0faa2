"""Localhost-only, key-protected: every request passes these checks before any route runs.

- ``Host`` must name this machine (``localhost``, ``127.0.0.1``, ``[::1]`` or the address the server was bound
  to), with any port: a DNS-rebinding page reaches us under its own host name and is refused.
- A state-changing request (or a WebSocket) that carries a cross-site ``Origin`` is refused: a web page may not
  drive the API from the user's browser. No CORS headers are ever sent, so other origins cannot read answers.
- Every /api path but health and the API docs needs ``Authorization: Bearer <key>``.

It is a pure ASGI middleware, so it also guards NiceGUI's pages and WebSockets, not only FastAPI routes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from desktop.api.errors import error_body, is_api_path
from store.api_key import key_matches

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


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, api_key: str, hosts: Iterable[str] = LOOPBACK_HOSTS) -> None:
        self.app = app
        self.api_key = api_key
        self.hosts = frozenset(hosts)

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
        if scope["type"] == "http" and is_api_path(path) and path not in PUBLIC_API_PATHS:
            presented = _bearer(headers.get("authorization", ""))
            if presented is None or not key_matches(presented, self.api_key):
                message = ("Missing API key: send 'Authorization: Bearer <key>' (the key is in the api-key file "
                           "of the Devhelion data folder)") if presented is None else "Invalid API key"
                await _refuse(scope, receive, send, 401, "UNAUTHORIZED", message,
                              {"www-authenticate": 'Bearer realm="devhelion"'})
                return
        await self.app(scope, receive, send)


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
                  extra_headers: dict[str, str] | None = None) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    from starlette.responses import JSONResponse

    response = JSONResponse(error_body(code, message), status_code=status, headers=extra_headers)
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
