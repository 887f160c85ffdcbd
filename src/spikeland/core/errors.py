"""Errors that carry their HTTP status and a stable code, and the handlers that render them.

Every error leaves the API as ``{"error": {"code": ..., "message": ..., "details": ...}}``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from spikeland.core.boundary import LOGGED, install_boundary
from spikeland.core.methods import allowed_methods
from spikeland.core.outage import is_outage

_log = logging.getLogger(__name__)


class SpikelandError(Exception):
    """Base of every expected error: a status, a stable machine-readable code and a message."""

    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        details: Any = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers
        if code is not None:
            self.code = code


class NotFound(SpikelandError):
    status_code = 404
    code = "not_found"


class Conflict(SpikelandError):
    status_code = 409
    code = "conflict"


class Unauthorized(SpikelandError):
    status_code = 401
    code = "unauthorized"


class Forbidden(SpikelandError):
    status_code = 403
    code = "forbidden"


class ValidationFailed(SpikelandError):
    """A rule the request schema cannot express (checked in a service)."""

    status_code = 422
    code = "validation_error"


class TooManyRequests(SpikelandError):
    status_code = 429
    code = "rate_limited"


class ServiceUnavailable(SpikelandError):
    status_code = 503
    code = "service_unavailable"


RETRY_AFTER_SECONDS = 5  # a restart or failover of PostgreSQL takes seconds


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot be reached (core.outage.is_outage): the client may retry shortly."""

    code = "database_unavailable"

    def __init__(self, message: str = "The database is not available; try again shortly.") -> None:
        super().__init__(message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "server_busy",  # core.admission: no slot came within the wait
}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _response(status: int, code: str, message: str, details: Any = None, headers: Any = None) -> JSONResponse:
    return JSONResponse(
        jsonable_encoder(error_body(code, message, details)), status_code=status, headers=headers
    )


async def _spikeland_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SpikelandError)
    return _spikeland_response(exc)


def _spikeland_response(exc: SpikelandError) -> JSONResponse:
    return _response(exc.status_code, exc.code, exc.message, exc.details, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return _response(400, "malformed_json", "The request body is not valid JSON.")
    details = [
        {
            "field": ".".join(str(part) for part in err.get("loc", ())),
            "message": _message_of(err),
            "type": err.get("type"),
        }
        for err in errors
    ]
    return _response(422, "validation_error", "The request is not valid.", details)


# Fields whose rejected value is a secret: their message may not repeat it (a validator's
# ValueError can quote the value). The input and ctx of an error are never sent back at all.
_SECRET_FIELD = re.compile(r"(?i)password|secret|token|code|key|state|otp|cookie|authorization|credential")


def _message_of(err: dict[str, Any]) -> str:
    message = str(err.get("msg", ""))
    loc = err.get("loc", ())
    given = err.get("input")
    if loc and _SECRET_FIELD.search(str(loc[-1])) and isinstance(given, str) and given and given in message:
        return message.replace(given, "[redacted]")
    return message


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = exc.headers
    if exc.status_code == 405:
        # Starlette names only the methods of the first route matching the path; the resource
        # may be served by several routes (GET on one, PATCH and DELETE on others).
        allow = ", ".join(allowed_methods(request.app, request.scope))
        if request.method == "OPTIONS":  # the path exists: say what it supports (no CORS here)
            return Response(status_code=204, headers={"Allow": allow})
        headers = {**(headers or {}), "Allow": allow}
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return _response(exc.status_code, code, str(exc.detail), headers=headers)


# SQLSTATEs that mean the client sent text PostgreSQL cannot store (a NUL byte, mostly): their
# input, not our fault, wherever it came in (path, query, header-derived values).
_BAD_TEXT_STATES = {"22021", "22P05"}


def _sqlstate(exc: Exception) -> str | None:
    # SQLAlchemy wraps the driver's error; a driver-mode unit (db.session) raises asyncpg's own.
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    for candidate in (orig, getattr(orig, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None)
        if state:
            return str(state)
    return None


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    if is_outage(exc):
        return _outage(request, exc)
    if _sqlstate(exc) in _BAD_TEXT_STATES:
        return _response(422, "invalid_text", "The request contains characters that cannot be stored (NUL).")
    return await _unexpected_error(request, exc)


def _outage(request: Request, exc: Exception) -> JSONResponse:
    # One line, no traceback: an outage fails every request the same way, and it is not a bug.
    request.scope[LOGGED] = exc
    _log.warning("database unavailable on %s %s: %s", request.method, request.url.path, _reason(exc))
    return _spikeland_response(DatabaseUnavailable())


def _reason(exc: BaseException) -> str:
    root = exc
    while root.__cause__ is not None:
        root = root.__cause__
    return f"{type(root).__name__}: {str(root).splitlines()[0] if str(root) else ''}"


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    if is_outage(exc):  # raised by the driver or the pool, outside SQLAlchemy's DBAPIError
        return _outage(request, exc)
    request.scope[LOGGED] = exc  # for core.boundary: logged once, here
    _log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _response(500, "internal_error", "An unexpected error occurred.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SpikelandError, _spikeland_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(asyncpg.PostgresError, _database_error)
    # The driver's and the pool's own errors (a closed connection, no free connection) are
    # handled here rather than by the catch-all, which Starlette runs in ServerErrorMiddleware.
    app.add_exception_handler(asyncpg.InterfaceError, _database_error)
    app.add_exception_handler(sa_exc.TimeoutError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)
    install_boundary(app)
