"""``/api/app``: the running desktop app, for a second launch (``show``) and for tests and scripts (``status``).

Registered only by the desktop app: a headless server answers 404, which tells a second launch it has no window.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from desktop.api.deps import ok

router = APIRouter(prefix="/api/app", tags=["desktop app"])


@router.post("/show")
async def show(request: Request) -> dict[str, Any]:
    """Open the dashboard window, or bring the open one forward."""
    result = await run_in_threadpool(request.app.state.desktop.open_window)
    return ok({"window": result})


@router.get("/status")
async def status(request: Request) -> dict[str, Any]:
    """Window process, tray backend, icon state and menu texts, budget level."""
    return ok(await run_in_threadpool(request.app.state.desktop.status))
