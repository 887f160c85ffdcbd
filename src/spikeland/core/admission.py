"""Admission: at most ``limit`` requests of a process do their work at once, the rest wait in line.

Without it every request that arrives starts at once, and under load they all advance together:
each statement's round trip waits a turn of an event loop that runs every other request's step
first, so a request's time grows with its number of round trips times the number in flight, and a
write of six round trips waited six crowded turns (the mixed load's tails, benchmarks/README.md,
"Admission"). In line, a request waits once, in arrival order, and then runs among a few.

What holds a slot: a request's work, from the end of its body to the start of its response.

- A request with a body is admitted when the application has read the last of it, so a client
  that sends its body slowly (an upload over a slow link) waits outside and holds nothing.
- The slot is given back at ``http.response.start``: a streamed response (the job events' SSE, a
  file download) and the background tasks after a response run outside.
- Code that waits on an outside service (Stripe, S3, an OAuth provider, the mail API) steps
  ``outside()`` for the call, or a few slow calls would hold every slot.

A request that waits longer than ``wait_seconds`` is answered 503 ``server_busy`` with Retry-After.
The line is bounded anyway: uvicorn refuses connections past ``max_connections``.

Why not a library: uvicorn's ``limit_concurrency`` answers 503 at once instead of queueing, and no
ASGI limiter we found admits after the body and releases at the response's start.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spikeland.core.errors import error_body

CODE = "server_busy"
MESSAGE = "The server is busy; try again shortly."
RETRY_AFTER = "1"


class _Line:
    """The slots of one event loop (a test suite runs apps on several loops, one at a time)."""

    __slots__ = ("loop", "slots")

    def __init__(self, limit: int) -> None:
        self.loop = asyncio.get_running_loop()
        self.slots = asyncio.Semaphore(limit)


class _Ticket:
    """One request's place: whether it holds a slot now."""

    __slots__ = ("held", "line", "wait")

    def __init__(self, line: _Line, wait: float) -> None:
        self.line = line
        self.wait = wait
        self.held = False

    async def enter(self, *, deadline: bool = True) -> bool:
        """Take a slot; False when none came within the wait (never False without a deadline)."""
        slots = self.line.slots
        if deadline and slots.locked():
            try:
                async with asyncio.timeout(self.wait):
                    await slots.acquire()
            except TimeoutError:
                return False
        else:
            await slots.acquire()
        self.held = True
        return True

    def leave(self) -> None:
        if self.held:
            self.held = False
            self.line.slots.release()


_ticket: ContextVar[_Ticket | None] = ContextVar("spikeland_admission", default=None)


@asynccontextmanager
async def outside() -> AsyncIterator[None]:
    """Give the request's slot back while waiting on an outside service, and take one again after
    (in line with the others). Outside a request, or with admission off, it does nothing."""
    ticket = _ticket.get()
    if ticket is None or not ticket.held:
        yield
        return
    ticket.leave()
    try:
        yield
    finally:
        await ticket.enter(deadline=False)


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False


class Admission:
    def __init__(self, app: ASGIApp, limit: int, wait_seconds: float) -> None:
        self.app = app
        self.limit = limit
        self.wait_seconds = wait_seconds
        self._line: _Line | None = None

    def _current_line(self) -> _Line:
        line = self._line
        if line is None or line.loop is not asyncio.get_running_loop():
            line = self._line = _Line(self.limit)
        return line

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ticket = _Ticket(self._current_line(), self.wait_seconds)
        if not _has_body(scope):
            if not await ticket.enter():
                await _busy(send)
                return
            inner_receive = receive
        else:

            async def inner_receive() -> Message:
                message = await receive()
                last = message["type"] == "http.request" and not message.get("more_body", False)
                if last and not ticket.held and not await ticket.enter():
                    # Raised inside the application's body reading, which passes an
                    # HTTPException on to the error handlers (as core.limits' 413).
                    raise HTTPException(503, MESSAGE, headers={"Retry-After": RETRY_AFTER})
                return message

        async def inner_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                ticket.leave()
            await send(message)

        token = _ticket.set(ticket)
        try:
            await self.app(scope, inner_receive, inner_send)
        finally:
            _ticket.reset(token)
            ticket.leave()


async def _busy(send: Send) -> None:
    body = json.dumps(error_body(CODE, MESSAGE)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", RETRY_AFTER.encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
