"""Logging that never carries a secret: a filter redacts tokens, keys and credentials in any record.

The record keeps its shape: formatters read ``record.args`` themselves (uvicorn's access formatter
unpacks it as a 5-tuple), so the filter redacts each argument in place rather than replacing the
record's message; only when a secret spans the format string and an argument does it flatten the
record into its redacted message (with an empty args tuple, which every formatter accepts).
A traceback attached to a record is rendered here, redacted, and validation errors in it are
written without their rejected input (a request validation error echoes a too-long password).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from types import TracebackType
from typing import Any

from fastapi.exceptions import ValidationException
from pydantic import ValidationError

# What a record logged while handling a request was about: the request (its ASGI scope, set by
# core.routing; ``route_of`` names it) and the signed-in user (set by identity's auth
# dependencies). Each request runs in a task of its own, so these never leak between requests.
log_request: ContextVar[Mapping[str, Any] | None] = ContextVar("spikeland_log_request", default=None)
log_user: ContextVar[str | None] = ContextVar("spikeland_log_user", default=None)
UNMATCHED = "(unmatched)"


def route_template(scope: Mapping[str, Any]) -> str:
    """The path template of the route that took the request ("/api/v1/images/{image_id}"), with the
    prefixes it was included under; ``(unmatched)`` when none did."""
    context = scope.get("fastapi", {}).get("effective_route_context")
    found = getattr(getattr(context, "starlette_route", None), "path_format", None)
    found = found or getattr(context, "path_format", None) or getattr(scope.get("route"), "path_format", None)
    return found or UNMATCHED


def route_of(scope: Mapping[str, Any] | None) -> str | None:
    """``"GET /api/v1/images/{image_id}"`` for the request being handled, if any."""
    return None if scope is None else f"{scope.get('method', '')} {route_template(scope)}"


_PATTERNS = [
    # query parameters that carry secrets (magic links, OAuth callbacks)
    (re.compile(r"(?i)\b(token|code|state|password|key)=([^&\s\"']+)"), r"\1=[redacted]"),
    (re.compile(r"(?i)\bBearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer [redacted]"),
    (re.compile(r"\bsk_live_[A-Za-z0-9_-]+"), "sk_live_[redacted]"),
    (re.compile(r"(?i)(spikeland_session=)[^;\s\"']+"), r"\1[redacted]"),
]

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_arg(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def _redact_args(args: Any) -> Any:
    if isinstance(args, tuple):
        return tuple(_redact_arg(value) for value in args)
    if isinstance(args, dict):  # logging's single-mapping form: log("%(name)s", {"name": ...})
        return {key: _redact_arg(value) for key, value in args.items()}
    return args


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)


def describe_errors(errors: Any) -> str:
    """Validation errors as text without their input or context (where rejected secrets are)."""
    lines = [f"{len(errors)} validation error(s):"]
    lines += [f"  {err.get('loc')}: {err.get('msg')} [{err.get('type')}]" for err in errors]
    return "\n".join(lines)


def _exception_text(exc_info: _ExcInfo) -> str:
    text = logging.Formatter().formatException(exc_info)
    for exc in _chain(exc_info[1]):
        # str() of both kinds lists each error with its input: replace that text wherever the
        # traceback printed it (the traceback module prints exactly str(exc)).
        if isinstance(exc, ValidationException):
            text = text.replace(str(exc), describe_errors(exc.errors()))
        elif isinstance(exc, ValidationError):
            text = text.replace(str(exc), describe_errors(exc.errors(include_input=False)))
    return redact(text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            _redact_record(record)
        except Exception:  # a broken log call: its formatter reports it; never hide the record
            record.msg, record.args = "[a log record that could not be redacted]", ()
        return True


def _redact_record(record: logging.LogRecord) -> None:
    if not record.args:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
    else:
        # The format string is left alone: redacting "token=%s" in it would break its arguments.
        record.args = _redact_args(record.args)
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:  # a secret made of the format and an argument together
            record.msg, record.args = cleaned, ()
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        # Formatters reuse exc_text when it is set, so the redacted rendering is what they print.
        record.exc_text = _exception_text(record.exc_info)


def install_redaction() -> None:
    """Attach the filter to every handler of the root and uvicorn loggers (idempotent)."""
    for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error", "spikeland"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactingFilter) for f in logger.filters):
            logger.addFilter(RedactingFilter())
        for handler in logger.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(RedactingFilter())
