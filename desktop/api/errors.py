"""The error envelope ``{"success": false, "error": {"message", "code", "details"}}`` for every /api path.

The data API (``/api/data/*`` and ``/api/keys``) answers in the shape of the Devhelion API reference instead:
``{"error": "<message>", "code": "...", ...}`` (a rate-limited request gets exactly ``{"error": "Rate limit
exceeded", "retry_after": N}``), so scripts written against the reference read our errors unchanged.
Handlers take over FastAPI's (and NiceGUI's) only under /api, so NiceGUI pages keep their own error pages.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from peewee import PeeweeException
from starlette.exceptions import HTTPException as StarletteHTTPException

from store.sqlite.connection import ArchiveError

log = logging.getLogger(__name__)

VALIDATION_ERROR = "VALIDATION_ERROR"
NOT_FOUND = "NOT_FOUND"
SYNC_IN_PROGRESS = "SYNC_IN_PROGRESS"
DATABASE_ERROR = "DATABASE_ERROR"
INTERNAL_ERROR = "INTERNAL_ERROR"

_HTTP_CODES = {400: VALIDATION_ERROR, 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: NOT_FOUND,
               405: "METHOD_NOT_ALLOWED", 409: "CONFLICT", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}


class ApiError(Exception):
    """Raised by routes; becomes the error envelope with this status and code."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def validation_error(message: str, details: Any = None) -> ApiError:
    return ApiError(400, VALIDATION_ERROR, message, details)


def not_found(message: str) -> ApiError:
    return ApiError(404, NOT_FOUND, message)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"success": False, "error": {"message": message, "code": code, "details": details}}


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


DATA_API_ROOTS = ("/api/data", "/api/keys")


def is_data_api_path(path: str) -> bool:
    """The reference's data API and key management: rate-limited, errors in the reference's shape."""
    return any(path == root or path.startswith(root + "/") for root in DATA_API_ROOTS)


def data_error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "code": code}
    if isinstance(details, dict):
        body.update((k, v) for k, v in details.items() if k not in body)
    return body


def error_body_for(path: str, code: str, message: str, details: Any = None) -> dict[str, Any]:
    return data_error_body(code, message, details) if is_data_api_path(path) else error_body(code, message, details)


def error_response_for(path: str, status: int, code: str, message: str, details: Any = None,
                       headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body_for(path, code, message, details), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    previous_404 = app.exception_handlers.get(404)
    previous_500 = app.exception_handlers.get(Exception)

    async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response_for(request.url.path, exc.status, exc.code, exc.message, exc.details)

    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"location": list(e.get("loc", ())), "message": e.get("msg", ""), "type": e.get("type", "")}
                  for e in exc.errors()]
        first = errors[0] if errors else None
        where = ".".join(str(p) for p in first["location"][1:]) if first else ""
        message = f"Invalid {where}: {first['message']}" if first and where else "Invalid request"
        if is_data_api_path(request.url.path):
            details = {"parameter": where or None, "errors": errors}
            return error_response_for(request.url.path, 400, VALIDATION_ERROR, message, jsonable_encoder(details))
        return error_response(400, VALIDATION_ERROR, message, jsonable_encoder({"errors": errors}))

    async def on_http(request: Request, exc: StarletteHTTPException) -> Any:
        if not is_api_path(request.url.path):
            if exc.status_code == 404 and previous_404 is not None:
                return await previous_404(request, exc)
            return await http_exception_handler(request, exc)
        code = _HTTP_CODES.get(exc.status_code, INTERNAL_ERROR if exc.status_code >= 500 else "HTTP_ERROR")
        message = "No such API endpoint" if exc.status_code == 404 and exc.detail == "Not Found" else str(exc.detail)
        return error_response_for(request.url.path, exc.status_code, code, message,
                                  headers=getattr(exc, "headers", None))

    async def on_exception(request: Request, exc: Exception) -> Any:
        if not is_api_path(request.url.path):
            if previous_500 is not None:
                return await previous_500(request, exc)
            raise exc
        path = request.url.path
        if isinstance(exc, sqlite3.Error | PeeweeException | ArchiveError):
            log.error("database error on %s: %s", path, exc)
            return error_response_for(path, 500, DATABASE_ERROR, f"The archive could not be read: {exc}")
        log.exception("unexpected error on %s", path)
        return error_response_for(path, 500, INTERNAL_ERROR, "Unexpected server error; see the server log")

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(404, on_http)
    app.add_exception_handler(Exception, on_exception)
