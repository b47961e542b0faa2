"""GET /api/health: the one route without a key, so launchers and tests can wait for the server."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from desktop import __version__
from desktop.api.deps import RunnerDep, ok

router = APIRouter(prefix="/api", tags=["health"])


class Health(BaseModel):
    status: str
    version: str
    syncRunning: bool


class HealthEnvelope(BaseModel):
    success: bool = True
    data: Health


@router.get("/health", response_model=HealthEnvelope)
def health(runner: RunnerDep) -> dict[str, Any]:
    return ok({"status": "ok", "version": __version__, "syncRunning": runner.is_running})
