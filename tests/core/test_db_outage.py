"""A database outage is 503 ``database_unavailable`` with Retry-After on every route, never 500.

The app runs on a throwaway database of the test server; the outage is real: its connections are
terminated (``pg_terminate_backend``) and it refuses new ones (``ALLOW_CONNECTIONS false``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import exc as sa_exc

from spikeland.app import create_app
from spikeland.core.outage import is_outage
from spikeland.db import migrate
from spikeland.settings import Settings
from tests.conftest import create_database, drop_database, with_database
from tests.support import client_of, sign_up


@dataclass
class Outage:
    name: str
    admin_url: str
    app: FastAPI
    client: httpx.AsyncClient
    key: str

    async def admin(self, statement: str) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    async def go_down(self) -> None:
        await self.admin(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
        await self.admin(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{self.name}'"
        )

    async def come_back(self) -> None:
        await self.admin(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')

    async def answers(self) -> dict[str, httpx.Response]:
        bearer = {"Authorization": f"Bearer {self.key}"}
        spend = {"amount": 1, "purpose": "box"}
        return {
            "health": await self.client.get("/health"),
            "me (session)": await self.client.get("/api/v1/me"),
            "me (api key)": await self.client.get("/api/v1/me", headers=bearer),
            "albums (list)": await self.client.get("/api/v1/albums"),
            "spend (driver)": await self.client.post("/api/v1/tokens/spend", json=spend, headers=bearer),
        }


@pytest.fixture
async def outage(server_url: str, settings: Settings) -> AsyncIterator[Outage]:
    name = f"spikeland_outage_{secrets.token_hex(3)}"
    url = await create_database(server_url, name)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        app = create_app(settings.model_copy(update={"database_url": url}), database_url=url)
        async with app.router.lifespan_context(app), client_of(app) as client:
            await sign_up(client)
            key = (await client.post("/api/v1/api-keys", json={"name": "outage"})).json()["key"]
            yield Outage(name, with_database(server_url, "postgres"), app, client, key)
    finally:
        await drop_database(server_url, name)


async def test_an_outage_is_503_everywhere_and_recovers(
    outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    before = await outage.answers()
    assert all(r.status_code < 300 for r in before.values()), {k: r.text for k, r in before.items()}

    await outage.go_down()
    caplog.clear()
    for _ in range(2):  # first on the terminated connections, then on refused new ones
        for route, answer in (await outage.answers()).items():
            assert answer.status_code == 503, (route, answer.text)
            assert answer.json()["error"]["code"] == "database_unavailable", route
            assert answer.headers["retry-after"] == "5", route
    unhandled = [
        r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("spikeland.core")
    ]
    assert not unhandled, "an outage is a warning line, not an unhandled error"

    await outage.come_back()
    after = await outage.answers()
    assert all(r.status_code < 300 for r in after.values()), {k: r.text for k, r in after.items()}


async def test_connections_killed_under_a_running_app_never_give_500(outage: Outage) -> None:
    await outage.answers()  # every kind of connection is open and pooled
    await outage.admin(
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{outage.name}'"
    )
    for _ in range(3):  # a dead pooled connection may cost one 503; nothing is ever a 500
        answers = await outage.answers()
        assert all(r.status_code in (200, 201, 503) for r in answers.values()), {
            k: r.text for k, r in answers.items()
        }
    assert all(r.status_code < 300 for r in (await outage.answers()).values())


def test_what_counts_as_an_outage() -> None:
    assert is_outage(sa_exc.TimeoutError("QueuePool limit reached"))  # no free connection
    assert is_outage(asyncpg.exceptions.ConnectionDoesNotExistError("closed in the middle"))
    assert is_outage(
        asyncpg.exceptions.InternalClientError(
            "cannot switch to state 11; another operation (2) is in progress"
        )
    )
    assert is_outage(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert is_outage(asyncpg.exceptions.CannotConnectNowError("the database system is starting up"))
    assert not is_outage(asyncpg.exceptions.UniqueViolationError("duplicate key"))
    assert not is_outage(asyncpg.exceptions.QueryCanceledError("statement timeout"))
    assert not is_outage(ConnectionRefusedError("not from a database connect"))


async def test_a_stopped_database_is_503(settings: Settings) -> None:
    with socket.socket() as sock:  # a port nothing listens on: connections are refused
        sock.bind(("127.0.0.1", 0))
        url = f"postgresql://postgres@127.0.0.1:{sock.getsockname()[1]}/gone"
    app = create_app(settings.model_copy(update={"database_url": url}), database_url=url)
    async with app.router.lifespan_context(app), client_of(app) as client:
        for answer in (
            await client.get("/health"),
            await client.get("/api/v1/me", headers={"cookie": "spikeland_session=whatever"}),
            await client.post(
                "/api/v1/tokens/spend",
                json={"amount": 1, "purpose": "box"},
                headers={"Authorization": "Bearer sk_live_whatever"},
            ),
        ):
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "database_unavailable"
            assert answer.headers["retry-after"] == "5"
