"""The live surface: the `/ws` event stream, Claude Code's HTTP hooks, statusline quota samples, watching control.

`/ws` authenticates itself (the security middleware only refuses foreign Hosts and cross-site Origins for
WebSockets): the key comes as ``Authorization: Bearer`` or, for browsers that cannot set headers, ``?token=``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, WebSocket, WebSocketDisconnect

from desktop.api.deps import ArchiveDep, ok
from desktop.api.errors import validation_error
from desktop.live.bus import EventBus, Subscription
from store.api_key import key_matches
from store.hooks import HookPayloadError, parse_hook_payload, record_or_spool_hook_event
from store.quota import QuotaPayloadError, latest_quota, quota_history, record_statusline

router = APIRouter(tags=["live"])
HEARTBEAT_S = 15.0
CLOSE_POLICY, CLOSE_TRY_AGAIN = 1008, 1013


@router.post("/api/hooks", status_code=200, response_class=Response)
async def receive_hook(request: Request, archive: ArchiveDep) -> Response:
    """Claude Code's HTTP hooks post every event here. Stored, broadcast on `/ws`, answered at once with an empty
    2xx body (Claude Code reads a JSON body as hook output, so nothing is returned)."""
    try:
        payload = parse_hook_payload(await request.body())
    except HookPayloadError as exc:
        raise validation_error(str(exc), {}) from exc
    event, _ = await asyncio.to_thread(record_or_spool_hook_event, archive.db, payload, archive.path.parent)
    request.app.state.bus.publish(event)
    return Response(status_code=200)


@router.post("/api/statusline")
async def receive_statusline(request: Request, archive: ArchiveDep) -> dict[str, Any]:
    """Quota samples from a statusline payload (`devhelion statusline` posts here when the app runs)."""
    try:
        payload = parse_json_object(await request.body())
        samples = await asyncio.to_thread(record_statusline, archive.db, payload)
    except (QuotaPayloadError, ValueError) as exc:
        raise validation_error(str(exc), {}) from exc
    for sample in samples:
        request.app.state.bus.publish({"type": "quota.sample", **sample})
    return ok({"recorded": len(samples)})


def parse_json_object(body: bytes) -> dict[str, Any]:
    import orjson

    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"body is not valid JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise ValueError("body must be a JSON object")
    return value


@router.get("/api/quota")
def quota(archive: ArchiveDep,
          since: Annotated[int | None, Query(ge=0, le=2**53, description="History from this epoch-ms time")] = None,
          limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
          window: Annotated[str | None, Query(pattern="^(five_hour|seven_day)$")] = None) -> dict[str, Any]:
    """The real plan quota the statusline reported: the latest sample per window and the history."""
    return ok({"latest": latest_quota(archive.db),
               "history": quota_history(archive.db, since_ms=since, limit=limit, window=window)})


@router.get("/api/live/status")
def live_status(request: Request) -> dict[str, Any]:
    live = request.app.state.live
    bus: EventBus = request.app.state.bus
    return ok({"watching": live is not None and not live.paused, "subscribers": bus.subscriber_count,
               "published": bus.published})


@router.post("/api/live/pause")
def pause(request: Request) -> dict[str, Any]:
    if request.app.state.live is not None:
        request.app.state.live.pause()
    return live_status(request)


@router.post("/api/live/resume")
def resume(request: Request) -> dict[str, Any]:
    if request.app.state.live is not None:
        request.app.state.live.resume()
    return live_status(request)


def _presented_key(websocket: WebSocket) -> str | None:
    token = websocket.query_params.get("token")
    if token:
        return token
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


@router.websocket("/ws")
async def events(websocket: WebSocket) -> None:
    """JSON events: ours carry ``type``, hook events keep ``hook_event_name``; ``?types=a,b`` filters (a prefix
    such as ``session`` or ``hook`` selects a family). A client too slow to keep up is closed (code 1013)."""
    key = _presented_key(websocket)
    if key is None or not key_matches(key, websocket.app.state.api_key):
        await websocket.close(code=CLOSE_POLICY, reason="missing or invalid API key")
        return
    types = websocket.query_params.get("types")
    bus: EventBus = websocket.app.state.bus
    bus.attach_loop(asyncio.get_running_loop())  # normally done at start-up; harmless when already attached
    await websocket.accept()
    sub = bus.subscribe(types.split(",") if types else None)
    try:
        await websocket.send_json({"type": "hello", "filter": sorted(sub.kinds) if sub.kinds else None,
                                   "heartbeat_s": HEARTBEAT_S})
        await _pump(websocket, sub)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away
    finally:
        bus.unsubscribe(sub)


async def _pump(websocket: WebSocket, sub: Subscription) -> None:
    receiver = asyncio.create_task(_drain_client(websocket))
    try:
        while not receiver.done():
            if sub.overflowed.is_set():  # events were dropped for this client: tell it, and let it reconnect
                with contextlib.suppress(Exception):
                    await websocket.send_json({"type": "overflow", "dropped": sub.dropped})
                    await websocket.close(code=CLOSE_TRY_AGAIN, reason="client too slow; reconnect")
                return
            getter = asyncio.create_task(sub.queue.get())
            done, _ = await asyncio.wait({getter, receiver}, timeout=HEARTBEAT_S,
                                         return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                await websocket.send_json(getter.result())
                continue
            getter.cancel()
            if not done:
                await websocket.send_json({"type": "heartbeat"})
    finally:
        receiver.cancel()


async def _drain_client(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, so a close from its side is noticed at once."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
