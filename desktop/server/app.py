"""Assemble the API on NiceGUI's FastAPI app: archive and sync runner on ``app.state``, security, errors, routes.

Routers are listed by module name and imported explicitly: a missing area is an error at start-up, not a
silently absent part of the API.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, FastAPI

from desktop import __version__
from desktop.api.errors import install_error_handlers
from desktop.api.security import SecurityMiddleware, allowed_hosts, openapi_security
from desktop.live.bus import EventBus
from desktop.live.service import LiveService
from store.archive import Archive
from store.config import Settings
from store.demo.archive import DemoArchive
from store.insights.service import InsightsService
from store.keys import KeyStore, archive_keys
from store.ratelimit import FILENAME as RATELIMIT_FILE
from store.ratelimit import Limits, RateLimiter
from store.sync_runner import SyncResult, SyncRunner


def include_routers(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Add the routes but not another layer of lifespan: FastAPI wraps the app's lifespan once per
    ``include_router`` even for routers without one, and NiceGUI's test fixture assembles the app once per test,
    so the nesting would grow until Python's recursion limit."""
    lifespan = app.router.lifespan_context
    for router in routers:
        app.include_router(router)
    app.router.lifespan_context = lifespan


ROUTER_MODULES = (
    "desktop.api.health",
    "desktop.api.analytics",
    "desktop.api.sync",
    "desktop.api.config",
    "desktop.api.monitor",
    "desktop.api.live",
    "desktop.api.budgets",
    "desktop.api.data",
    "desktop.api.keys",
    "desktop.api.workbench",
)
OPENAPI_URL = "/api/openapi.json"
DOCS_URL = "/api/docs"


def load_routers(modules: Iterable[str] = ROUTER_MODULES) -> list[APIRouter]:
    return [importlib.import_module(name).router for name in modules]


def configure_app(app: FastAPI, archive: Archive, api_key: str, bind_host: str = "127.0.0.1",
                  routers: Iterable[APIRouter] | None = None, live: bool = True,
                  keys: KeyStore | None = None) -> FastAPI:
    """Wire ``app`` (NiceGUI's ``app`` in production) for serving; call once, before the server starts.

    With ``live`` the log roots are watched from start-up (the watcher's first report is a full rescan, which
    ingests whatever changed while the app was not running); without it, one sync runs at start-up and later
    ones only on request. ``keys`` is the key store the middleware accepts keys from (by default the archive's,
    with ``api_key`` recorded in it as the local key).
    """
    app.title, app.version = "Devhelion", __version__
    app.description = ("Local API of Devhelion, your Claude Code archive. Every /api route except /api/health "
                       "needs `Authorization: Bearer <key>`, the key being in `$DEVHELION_HOME/api-key`. "
                       "Live events stream on `/ws` (key as bearer header or `?token=`).")
    app.openapi_url, app.docs_url, app.redoc_url = OPENAPI_URL, DOCS_URL, None
    app.state.archive = archive
    app.state.api_key = api_key
    app.state.bus = bus = EventBus()
    app.state.sync = runner = SyncRunner(archive)
    app.state.live = service = LiveService(runner, bus) if live else None
    if keys is None:
        keys = archive_keys(archive)
        keys.import_local(api_key)
    app.state.keys = keys
    app.state.limiter = limiter = RateLimiter(archive.path.parent / RATELIMIT_FILE)
    app.state.demo = demo = DemoArchive(archive.path.parent / "demo", archive.db.connection)
    app.state.insights = insights = InsightsService(archive, bus.publish)
    _after_each_sync(runner, insights)
    install_error_handlers(app)
    include_routers(app, load_routers() if routers is None else routers)
    app.add_middleware(SecurityMiddleware, api_key=api_key, hosts=allowed_hosts(bind_host), keys=keys,
                       limiter=limiter, limits=lambda: rate_limits(archive.settings))
    app.setup()  # adds the OpenAPI and docs routes now that their URLs are set
    _document_security(app)
    add_startup = getattr(app, "on_startup", None)
    add_shutdown = getattr(app, "on_shutdown", None)
    if callable(add_startup) and callable(add_shutdown):  # NiceGUI's app; plain FastAPI would use a lifespan
        add_startup(lambda: bus.attach_loop(asyncio.get_running_loop()))
        importlib.import_module("ui.pages").register(app)  # the dashboard's pages (ui/pages, issue 7)
        add_startup(insights.start)
        add_shutdown(insights.stop)
        add_shutdown(limiter.close)
        add_shutdown(demo.close)
        if service is not None:
            add_startup(service.start)
            add_shutdown(service.stop)
        else:
            add_startup(lambda: _start_sync(runner))
    return app


def rate_limits(settings: Settings) -> Limits:
    """The data API's limits as configured now (``data_api`` in config.json; changes apply to the next request)."""
    api = settings.data_api
    return Limits(api.rate_per_minute, api.rate_per_hour, api.team_rate_per_hour)


def _after_each_sync(runner: SyncRunner, insights: InsightsService) -> None:
    """Wake the insights engine after every ingest (it runs on its own thread and skips when nothing changed)."""
    previous = runner.on_finished

    def finished(result: SyncResult) -> None:
        if previous is not None:
            previous(result)
        insights.notify()

    runner.on_finished = finished


def _start_sync(runner: SyncRunner) -> None:
    """Ingest what changed while the server was down, on the runner's thread (never on the event loop)."""
    if not runner.is_running:
        runner.start()


def _document_security(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = openapi_security(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
