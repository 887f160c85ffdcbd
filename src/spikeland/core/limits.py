"""A cap on request bodies, applied before anything reads them.

Starlette spools a whole multipart body to disk before a handler runs, so a handler cannot refuse
a huge upload early: this ASGI middleware does. A declared ``Content-Length`` over the cap is
answered 413 at once, without reading; a body without one (chunked) is counted as it arrives and
cut off at the cap with the same 413 (an HTTPException, which FastAPI passes to our handler).

Why not FastAPI's own ``max_body_size``: for a declared length it answers with Starlette's plain
text "Content Too Large", not the error envelope every other error has.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spikeland.core.errors import SpikelandError, error_body

CODE = "payload_too_large"


class BodyLimit:
    """``max_bytes`` for every body, or the cap of the first of ``smaller`` (path prefix → bytes)
    the path starts with: routes with small bodies (analytics ingest) refuse big ones unread."""

    def __init__(self, app: ASGIApp, max_bytes: int, smaller: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.smaller = tuple(sorted((smaller or {}).items(), key=lambda item: -len(item[0])))

    def _cap(self, path: str) -> int:
        for prefix, cap in self.smaller:
            if path.startswith(prefix):
                return cap
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self._cap(scope["path"]) if self.smaller else self.max_bytes
        message = f"The request body is larger than {cap} bytes."
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > cap:
            await self._refuse(send, message)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            received = await receive()
            if received["type"] == "http.request":
                seen += len(received.get("body", b""))
                if seen > cap:
                    raise HTTPException(413, message)
            return received

        await self.app(scope, counted, send)

    async def _refuse(self, send: Send, message: str) -> None:
        body = json.dumps(error_body(CODE, message)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class PayloadTooLarge(SpikelandError):
    status_code = 413
    code = CODE


async def read_body(request: Request, limit: int, what: str) -> bytes:
    """The raw body (a webhook's: its signature covers the exact bytes), refused past ``limit``
    bytes before more is read."""
    message = f"The {what} body is larger than {limit // 1024} KB."
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(message)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(message)
    return bytes(body)
