"""The app under a real uvicorn server on a loopback port, in the test's own event loop.

Built by ``core.server.server_config`` — what ``spikeland serve`` runs — so the protocol, the
deadlines and the connection cap are the production ones. The server object is yielded: tests
read its open connections (``server.server_state.connections``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from spikeland.app import create_app
from spikeland.core.server import server_config
from spikeland.settings import Settings

_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


@asynccontextmanager
async def serving(
    settings: Settings, database_url: str, app: FastAPI | None = None, port: int = 0, **options: Any
) -> AsyncIterator[uvicorn.Server]:
    """Serve ``app`` (default: a new one on ``database_url``) on ``port`` (0: a free one);
    ``server.config.port`` is where (``options`` go to uvicorn)."""
    app = app or create_app(settings, database_url=database_url)
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    saved = [(lg, lg.handlers[:], lg.level, lg.propagate) for lg in map(logging.getLogger, _UVICORN_LOGGERS)]
    options.setdefault("log_config", None)  # leave the test process's logging alone unless asked
    server = uvicorn.Server(server_config(app, settings, "127.0.0.1", port, **options))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(600):
            if server.started or task.done():
                break
            await asyncio.sleep(0.05)
        assert server.started, "the server did not start"
        yield server
    finally:
        server.should_exit = True
        await task
        sock.close()
        for lg, handlers, level, propagate in saved:  # uvicorn's dictConfig, undone
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.propagate = propagate


def free_port() -> int:
    """A loopback port free a moment ago: for an app that must know its own URL before it serves."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def base_url(server: uvicorn.Server) -> str:
    return f"http://127.0.0.1:{server.config.port}"
