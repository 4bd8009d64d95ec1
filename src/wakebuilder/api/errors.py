"""The only exception handlers: every error becomes ``{"error", "message", "details"}``.

- :class:`WakeBuilderError` -> its own code and status;
- request validation (FastAPI's 422) -> 400 ``validation_error`` with ``details.fields``;
- Starlette HTTP errors (unknown route, wrong method) -> their status, seed-style body;
- anything else -> 500 ``internal_error``, traceback logged, never in the body.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from wakebuilder.errors import WakeBuilderError

log = logging.getLogger(__name__)

_HTTP_CODES = {400: "validation_error", 401: "unauthorized", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 413: "validation_error"}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details or {}}


def _fields(errors: list[Any]) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        out.append({"field": ".".join(loc) or "request", "message": err.get("msg", ""),
                    "type": err.get("type", "")})
    return out


def _validation_response(errors: list[Any]) -> JSONResponse:
    fields = _fields(errors)
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    return JSONResponse(status_code=400, content=error_body(
        "validation_error", f"Invalid request: {summary}", {"fields": fields}))


async def _wakebuilder_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WakeBuilderError)
    if exc.http_status >= 500:
        log.error("%r", exc)
    return JSONResponse(status_code=exc.http_status, content=exc.to_dict())


async def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return _validation_response(list(exc.errors()))


async def _pydantic_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationError)
    return _validation_response(list(exc.errors()))


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "internal_error" if exc.status_code >= 500
                           else "validation_error")
    message = exc.detail if isinstance(exc.detail, str) else "Request failed"
    return JSONResponse(status_code=exc.status_code, content=error_body(code, message),
                        headers=getattr(exc, "headers", None))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(status_code=500, content=error_body(
        "internal_error", "An unexpected error occurred; see the server log"))


def register_error_handlers(app: FastAPI) -> None:
    """Install the handlers on ``app``."""
    app.add_exception_handler(WakeBuilderError, _wakebuilder_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(ValidationError, _pydantic_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
