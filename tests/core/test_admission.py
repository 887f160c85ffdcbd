"""The line (core.admission): how many work at once, what holds a slot, and the busy answer.

Each test drives the middleware over a small ASGI application with hand-made ``receive``/``send``,
so it controls exactly when a body ends and when a response starts; the last ones go through the
real app and its error handlers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from spikeland.app import create_app
from spikeland.core.admission import Admission, outside
from spikeland.core.errors import install_error_handlers
from spikeland.core.routing import Route
from spikeland.core.schemas import Schema
from spikeland.settings import Settings

Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


def _scope(method: str = "GET", path: str = "/", body: bool = False) -> Scope:
    headers = [(b"host", b"test")]
    if body:
        headers.append((b"transfer-encoding", b"chunked"))
    return {"type": "http", "method": method, "path": path, "headers": headers, "query_string": b""}


class Exchange:
    """One request: the body is fed chunk by chunk; what the application sends is kept."""

    def __init__(self) -> None:
        self.chunks: asyncio.Queue[Message] = asyncio.Queue()
        self.sent: list[Message] = []
        self.started = asyncio.Event()

    async def receive(self) -> Message:
        return await self.chunks.get()

    async def send(self, message: Message) -> None:
        self.sent.append(message)
        if message["type"] == "http.response.start":
            self.started.set()

    def feed(self, body: bytes, more: bool) -> None:
        self.chunks.put_nowait({"type": "http.request", "body": body, "more_body": more})

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])


async def _answer(send: Send, status: int = 200, body: bytes = b"ok") -> None:
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


def _call(app: Admission, scope: Scope, exchange: Exchange) -> asyncio.Task[None]:
    return asyncio.create_task(app(scope, exchange.receive, exchange.send))


async def test_at_most_the_limit_work_at_once_and_all_finish() -> None:
    running = peak = 0

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        await _answer(send)

    app = Admission(inner, limit=3, wait_seconds=10)
    exchanges = [Exchange() for _ in range(12)]
    await asyncio.gather(*(_call(app, _scope(), e) for e in exchanges))
    assert peak == 3
    assert [e.status for e in exchanges] == [200] * 12


async def test_a_body_still_arriving_holds_no_slot() -> None:
    """A slow uploader waits outside: with one slot, a second request is served meanwhile."""

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive) if scope["method"] == "POST" else b""
        await _answer(send, body=body or b"ok")

    app = Admission(inner, limit=1, wait_seconds=10)
    upload, quick = Exchange(), Exchange()
    uploading = _call(app, _scope("POST", body=True), upload)
    upload.feed(b"first half ", more=True)
    await asyncio.sleep(0.01)
    quick_task = _call(app, _scope(), quick)
    await asyncio.wait_for(quick_task, 1)
    assert quick.status == 200 and not upload.sent

    upload.feed(b"second half", more=False)
    await asyncio.wait_for(uploading, 1)
    assert upload.status == 200 and upload.sent[1]["body"] == b"first half second half"


async def test_the_slot_is_given_back_when_the_response_starts() -> None:
    """A streamed response (the job events) runs outside the line."""
    release = asyncio.Event()

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if scope["path"] == "/stream":
            await send({"type": "http.response.body", "body": b"event", "more_body": True})
            await release.wait()
        await send({"type": "http.response.body", "body": b"end"})

    app = Admission(inner, limit=1, wait_seconds=10)
    stream, quick = Exchange(), Exchange()
    streaming = _call(app, _scope(path="/stream"), stream)
    await asyncio.wait_for(stream.started.wait(), 1)
    await asyncio.wait_for(_call(app, _scope(), quick), 1)
    assert quick.status == 200
    release.set()
    await asyncio.wait_for(streaming, 1)


async def test_outside_gives_the_slot_to_others_during_a_slow_outside_call() -> None:
    answer = asyncio.Event()
    order: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/stripe":
            async with outside():
                await answer.wait()  # the outside service takes its time
            order.append("stripe done")
        else:
            order.append("quick done")
        await _answer(send)

    app = Admission(inner, limit=1, wait_seconds=10)
    slow, quick = Exchange(), Exchange()
    slow_task = _call(app, _scope(path="/stripe"), slow)
    await asyncio.sleep(0.01)
    await asyncio.wait_for(_call(app, _scope(), quick), 1)
    answer.set()
    await asyncio.wait_for(slow_task, 1)
    assert order == ["quick done", "stripe done"] and slow.status == 200


async def test_a_failed_request_gives_its_slot_back() -> None:
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/fail":
            raise RuntimeError("boom")
        await _answer(send)

    app = Admission(inner, limit=1, wait_seconds=0.5)
    failed = Exchange()
    with contextlib.suppress(RuntimeError):
        await _call(app, _scope(path="/fail"), failed)
    after = Exchange()
    await asyncio.wait_for(_call(app, _scope(), after), 1)
    assert after.status == 200


async def test_waiting_past_the_wait_is_answered_busy() -> None:
    release = asyncio.Event()

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await release.wait()
        await _answer(send)

    app = Admission(inner, limit=1, wait_seconds=0.05)
    holder, late = Exchange(), Exchange()
    holding = _call(app, _scope(), holder)
    await asyncio.sleep(0.01)
    await asyncio.wait_for(_call(app, _scope(), late), 1)
    headers = dict(late.sent[0]["headers"])
    assert late.status == 503 and headers[b"retry-after"] == b"1"
    assert json.loads(late.sent[1]["body"])["error"]["code"] == "server_busy"
    release.set()
    await holding
    assert holder.status == 200


class _Echo(Schema):
    text: str


def _busy_app() -> tuple[FastAPI, asyncio.Event]:
    """A FastAPI app on our route class and error handlers with a route that holds its slot."""
    release = asyncio.Event()
    inner = FastAPI()
    inner.router.route_class = Route
    install_error_handlers(inner)

    @inner.get("/hold")
    async def hold() -> dict[str, str]:
        await release.wait()
        return {"held": "yes"}

    @inner.post("/echo", response_model=_Echo)
    async def echo(body: _Echo) -> _Echo:
        return body

    inner.add_middleware(Admission, limit=1, wait_seconds=0.05)
    return inner, release


async def test_a_body_request_past_the_wait_gets_the_error_envelope() -> None:
    """The body case is refused inside the application's body reading: the route's own error
    handling must answer it as 503 server_busy, not a 400 about the body."""
    app, release = _busy_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        holding = asyncio.create_task(client.get("/hold"))
        await asyncio.sleep(0.02)
        refused = await client.post("/echo", json={"text": "hi"})
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "server_busy"
        assert refused.headers["retry-after"] == "1"
        release.set()
        assert (await holding).status_code == 200
        echoed = await client.post("/echo", json={"text": "hi"})
        assert echoed.status_code == 200 and echoed.json() == {"text": "hi"}


def _middleware(app: FastAPI) -> list[Any]:
    return [m.cls for m in app.user_middleware]


def test_the_app_serves_in_line_unless_turned_off(settings: Settings) -> None:
    assert Admission in _middleware(create_app(settings))
    assert Admission not in _middleware(create_app(settings.model_copy(update={"max_active_requests": 0})))
