"""HTTP clients on the app, in process: one maker, each client with its own cookie jar."""

from __future__ import annotations

import json
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

ClientFactory = Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]

# Which app each client talks to, so ``sign_in(client)`` can write the session to that app's
# database without every test passing the app along (httpx does not expose a client's transport).
_apps: weakref.WeakKeyDictionary[httpx.AsyncClient, FastAPI] = weakref.WeakKeyDictionary()


def http_client(
    app: FastAPI, ip: str = "127.0.0.1", headers: dict[str, str] | None = None
) -> httpx.AsyncClient:
    """A client on ``app`` whose requests come from ``ip``; use it in ``async with``."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 40000))
    client = httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)
    _apps[client] = app
    return client


@asynccontextmanager
async def client_of(
    app: FastAPI, ip: str = "127.0.0.1", headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on ``app``, closed when the block ends."""
    async with http_client(app, ip, headers) as client:
        yield client


def app_of(client: httpx.AsyncClient) -> FastAPI:
    try:
        return _apps[client]
    except KeyError:
        raise LookupError("not a client made by tests.support (client_of/http_client)") from None


def parse_sse(body: str) -> list[tuple[str, dict[str, Any]]]:
    """A server-sent event stream's events, as (event, data)."""
    events = []
    for block in body.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if "event" in lines:
            events.append((lines["event"], json.loads(lines["data"])))
    return events
