"""The server closes connections that do not finish their headers or body in time, and caps connections.

The deadlines are configured short (0.5 s / 1 s) and each test waits for the close up to a
generous bound: it asserts the connection *was* closed, never how fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from spikeland.settings import Settings
from tests.core.live import base_url, serving

GENEROUS = 20.0  # seconds a test waits for a close that is due after at most 1 s


@pytest.fixture
async def server(settings: Settings, database_url: str) -> AsyncIterator[uvicorn.Server]:
    short = settings.model_copy(update={"header_timeout_seconds": 0.5, "body_timeout_seconds": 1.0})
    async with serving(short, database_url) as server:
        yield server


async def _closed_without_answer(reader: asyncio.StreamReader) -> bool:
    """True when the server closes the connection without sending a byte (waits up to GENEROUS)."""
    return await asyncio.wait_for(reader.read(), GENEROUS) == b""


async def _connect(server: uvicorn.Server) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.config.port)


async def test_a_connection_that_sends_nothing_is_closed(server: uvicorn.Server) -> None:
    reader, writer = await _connect(server)
    assert await _closed_without_answer(reader)
    writer.close()


async def test_half_a_request_line_is_closed(server: uvicorn.Server) -> None:
    reader, writer = await _connect(server)
    writer.write(b"GET /hea")
    await writer.drain()
    assert await _closed_without_answer(reader)
    writer.close()


async def test_unfinished_headers_are_closed(server: uvicorn.Server) -> None:
    reader, writer = await _connect(server)
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1\r\n")  # no blank line: never ends
    await writer.drain()
    assert await _closed_without_answer(reader)
    writer.close()


async def test_a_body_sent_one_byte_at_a_time_is_cut_off(server: uvicorn.Server) -> None:
    reader, writer = await _connect(server)
    body = b'{"email": "slow@example.com", "password": "' + b"x" * 60 + b'"}'
    head = "POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    writer.write(head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode())
    sent = 0

    async def drip() -> None:
        nonlocal sent
        for byte in body:  # ~20 s for the whole body at this pace, 20 times the deadline
            writer.write(bytes([byte]))
            await writer.drain()
            sent += 1
            await asyncio.sleep(0.2)

    dripping = asyncio.create_task(drip())
    try:
        assert await _closed_without_answer(reader)
        assert sent < len(body), "the connection was closed before the body was complete"
    finally:
        dripping.cancel()
        await asyncio.gather(dripping, return_exceptions=True)
        writer.close()


async def test_normal_requests_and_idle_keep_alive_still_work(server: uvicorn.Server) -> None:
    async with httpx.AsyncClient(base_url=base_url(server)) as client:
        assert (await client.get("/health")).status_code == 200
        # Longer than the header deadline, shorter than uvicorn's keep-alive (5 s): an idle
        # kept-alive connection is the keep-alive timer's business, not the header deadline's.
        await asyncio.sleep(1.5)
        assert (await client.get("/health")).status_code == 200
        login = await client.post("/api/v1/auth/login", json={"email": "n@example.com", "password": "x" * 10})
        assert login.status_code == 401
        assert len(server.server_state.connections) == 1, "one connection served all three"


async def test_connections_over_the_cap_are_answered_503(settings: Settings, database_url: str) -> None:
    capped = settings.model_copy(update={"max_connections": 3, "header_timeout_seconds": 60.0})
    async with serving(capped, database_url) as server:
        idle = [await _connect(server) for _ in range(3)]
        for _ in range(400):
            if len(server.server_state.connections) >= 3:
                break
            await asyncio.sleep(0.05)
        async with httpx.AsyncClient(base_url=base_url(server)) as client:
            assert (await client.get("/health")).status_code == 503
        for _, writer in idle:
            writer.close()
        async with httpx.AsyncClient(base_url=base_url(server)) as client:
            for _ in range(400):  # until the server has seen the idle ones go
                if (
                    answer := await client.get("/health", headers={"Connection": "close"})
                ).status_code == 200:
                    break
                await asyncio.sleep(0.05)
            assert answer.status_code == 200
