"""The dashboard is not open to other local users: its pages and NiceGUI's socket need a session cookie.

The desktop window gets the cookie through a one-time token in its first URL (``/auth/open?token=...``, valid
once, for two minutes); a plain browser without it is shown a page asking for the API key, which sets the same
cookie. The cookie is an HMAC of its issue time keyed with the API key: it survives restarts, lasts 30 days and
dies with the key. NiceGUI's own static files (library code, no data) stay public.

Pure ASGI middleware, added inside the security middleware so the Host and Origin checks still come first.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import threading
import time
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from desktop.api.deps import ok
from desktop.api.errors import is_api_path
from store.api_key import key_matches, key_path

COOKIE = "devhelion_session"
COOKIE_MAX_AGE_S = 30 * 24 * 3600
TOKEN_TTL_S = 120.0
MAX_FORM_BYTES = 4096
OPEN_PATH, LOGIN_PATH = "/auth/open", "/auth/login"


class DashboardAuth:
    """Session cookies and one-time tokens; thread-safe (the tray issues tokens, the event loop checks them)."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = now + TOKEN_TTL_S
        return token

    def open_url(self, base_url: str) -> str:
        """The URL a window opens: it signs the window in and lands on the dashboard."""
        return f"{base_url.rstrip('/')}{OPEN_PATH}?token={self.issue_token()}"

    def consume_token(self, token: str) -> bool:
        with self._lock:
            expiry = self._tokens.pop(token, None)
        return expiry is not None and expiry > time.monotonic()

    def _signature(self, issued: int) -> str:
        return hmac.new(self.api_key.encode(), f"dashboard:{issued}".encode(), hashlib.sha256).hexdigest()

    def new_cookie(self) -> str:
        issued = int(time.time())
        return f"{issued}.{self._signature(issued)}"

    def cookie_valid(self, value: str | None) -> bool:
        if not value:
            return False
        issued_text, _, signature = value.partition(".")
        if not issued_text.isdigit():
            return False
        issued = int(issued_text)
        if not 0 <= time.time() - issued < COOKIE_MAX_AGE_S + 60:
            return False
        return hmac.compare_digest(signature, self._signature(issued))


def set_session_cookie(response: Response, auth: DashboardAuth) -> None:
    response.set_cookie(COOKIE, auth.new_cookie(), max_age=COOKIE_MAX_AGE_S, path="/", httponly=True,
                        samesite="strict")


def _cookie(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is just no cookie
                return None
            if COOKIE in jar:
                return jar[COOKIE].value
    return None


def _safe_next(value: str | None) -> str:
    """Only local paths: an open redirect would let a page bounce the user anywhere after signing in."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def login_page(next_path: str = "/", error: str | None = None, status: int = 401) -> HTMLResponse:
    message = f'<p class="error">{html.escape(error)}</p>' if error else ""
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Devhelion: sign in</title>
<style>
 body {{ font-family: system-ui, sans-serif; background: #f4f6f8; color: #1d2733; display: flex;
        justify-content: center; padding-top: 12vh; margin: 0; }}
 main {{ background: #fff; padding: 2rem 2.5rem; border-radius: 10px; box-shadow: 0 2px 12px #0002; max-width: 30rem; }}
 h1 {{ margin-top: 0; font-size: 1.4rem; }} input[type=password] {{ width: 100%; padding: .55rem; font-size: 1rem;
   box-sizing: border-box; margin: .4rem 0 1rem; }} button {{ padding: .5rem 1.2rem; font-size: 1rem; }}
 code {{ background: #eef1f4; padding: 0 .25rem; }} .error {{ color: #b3261e; }}
</style></head>
<body><main><h1>Devhelion dashboard</h1>
<p>This dashboard shows your Claude Code usage. Enter the API key to open it; the Devhelion window opens it
without asking.</p>
<p>The key is in <code>{html.escape(str(key_path()))}</code>.</p>{message}
<form method="post" action="{LOGIN_PATH}">
<label for="key">API key</label>
<input id="key" name="key" type="password" autocomplete="current-password" autofocus required>
<input type="hidden" name="next" value="{html.escape(_safe_next(next_path))}">
<button type="submit">Open the dashboard</button></form></main></body></html>"""
    return HTMLResponse(body, status_code=status, headers={"cache-control": "no-store"})


class DashboardAuthMiddleware:
    def __init__(self, app: ASGIApp, auth: DashboardAuth, public_prefixes: tuple[str, ...]) -> None:
        self.app = app
        self.auth = auth
        self.public_prefixes = public_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if is_api_path(path) or path == "/ws":  # the API and /ws have their own key check
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http" and path in (OPEN_PATH, LOGIN_PATH):
            response = await self._auth_route(scope, receive, path)
            await response(scope, receive, send)
            return
        method = scope.get("method", "GET")
        if (scope["type"] == "http" and method in ("GET", "HEAD") and path.startswith(self.public_prefixes)) \
                or self.auth.cookie_valid(_cookie(scope)):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": "sign in to the dashboard first"})
            return
        if method in ("GET", "HEAD") and not path.startswith("/_nicegui"):
            query = scope.get("query_string", b"").decode("latin-1")
            await login_page(path + (f"?{query}" if query else ""))(scope, receive, send)
            return
        await Response("Sign in to the dashboard first", status_code=401)(scope, receive, send)

    async def _auth_route(self, scope: Scope, receive: Receive, path: str) -> Response:
        method = scope.get("method", "GET")
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if path == OPEN_PATH and method in ("GET", "HEAD"):
            token = (query.get("token") or [""])[0]
            if token and self.auth.consume_token(token):
                response: Response = RedirectResponse("/", status_code=303)
                set_session_cookie(response, self.auth)
                return response
            return login_page("/", "This sign-in link was already used or has expired.")
        if path == LOGIN_PATH and method in ("GET", "HEAD"):
            return login_page((query.get("next") or ["/"])[0], status=200)
        if path == LOGIN_PATH and method == "POST":
            form = parse_qs((await _read_body(receive, MAX_FORM_BYTES)).decode("utf-8", "replace"))
            key = (form.get("key") or [""])[0].strip()
            next_path = _safe_next((form.get("next") or ["/"])[0])
            if key and key_matches(key, self.auth.api_key):
                response = RedirectResponse(quote(next_path, safe="/?=&%"), status_code=303)
                set_session_cookie(response, self.auth)
                return response
            return login_page(next_path, "That is not the API key.")
        return Response("Method not allowed", status_code=405)


async def _read_body(receive: Receive, limit: int) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > limit:
            return b""
        if not message.get("more_body"):
            return body


router = APIRouter(prefix="/api/dashboard", tags=["dashboard"])


@router.post("/token")
def dashboard_token(request: Request) -> dict[str, Any]:
    """A one-time sign-in link for the dashboard (valid once, for two minutes): open it in a browser."""
    auth: DashboardAuth = request.app.state.dashboard_auth
    token = auth.issue_token()
    return ok({"token": token, "path": f"{OPEN_PATH}?token={token}", "expires_in_s": TOKEN_TTL_S})


def install_dashboard_auth(app: FastAPI, api_key: str) -> DashboardAuth:
    """Call before ``configure_app``: the middleware then sits inside the security middleware."""
    from nicegui import __version__ as nicegui_version

    from desktop.server.app import include_routers

    auth = DashboardAuth(api_key)
    app.state.dashboard_auth = auth
    public = (f"/_nicegui/{nicegui_version}/", "/favicon.ico")
    app.add_middleware(DashboardAuthMiddleware, auth=auth, public_prefixes=public)
    include_routers(app, [router])
    return auth
