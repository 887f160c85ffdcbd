"""A 500 is answered and its keep-alive connection kept: the next request on it works."""

from __future__ import annotations

import logging

import httpx
import pytest
from fastapi import FastAPI, Request

from spikeland.app import create_app
from spikeland.settings import Settings
from tests.core.live import base_url, serving


class Boom(RuntimeError):
    pass


def _app(settings: Settings, database_url: str) -> FastAPI:
    app = create_app(settings, database_url=database_url)

    @app.get("/test/boom")
    async def boom() -> None:
        raise Boom("a bug in a route")

    @app.get("/test/port")
    async def port(request: Request) -> int:
        assert request.client is not None
        return request.client.port

    return app


async def test_the_connection_survives_a_500(
    settings: Settings, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    async with (
        serving(settings, database_url, app=_app(settings, database_url)) as server,
        httpx.AsyncClient(base_url=base_url(server)) as client,
    ):
        first = (await client.get("/test/port")).json()
        failed = await client.get("/test/boom")
        assert failed.status_code == 500
        assert failed.json()["error"]["code"] == "internal_error"
        assert "connection" not in failed.headers  # no "Connection: close"
        after = await client.get("/test/port")
        assert after.status_code == 200
        assert after.json() == first, "the request after the 500 came on the same connection"
        assert len(server.server_state.connections) == 1
    logged = [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], Boom)]
    assert len(logged) == 1, [r.getMessage() for r in caplog.records]
    assert logged[0].getMessage() == "unhandled error on GET /test/boom"
