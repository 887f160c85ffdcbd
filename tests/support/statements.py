"""The app and the database: every statement the app sends (through the ORM or on the driver), and
a test session lent to a domain's driver reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.db.session import driver_connection


@asynccontextmanager
async def statements_sent(app: FastAPI) -> AsyncIterator[list[str]]:
    """The statements the app's connections run while the block runs (asyncpg's query logger,
    which sees both paths). The app's idle connections are closed first, so every connection the
    block uses is a new one, with the logger attached as it connects."""
    seen: list[str] = []

    def log(record: Any) -> None:
        seen.append(record.query)

    def attach(dbapi_connection: Any, record: Any) -> None:
        record.driver_connection.add_query_logger(log)

    await app.state.driver_connections.close()
    await app.state.engine.dispose()
    engine = app.state.engine.sync_engine
    event.listen(engine, "connect", attach)
    try:
        yield seen
    finally:
        event.remove(engine, "connect", attach)


class OnSession:
    """A test session as a domain's ``reads`` take their connections (``db.query.Connections``):
    its own connection, inside the test's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def reader(self) -> asyncpg.Connection:
        return await driver_connection(self.session)

    async def driver(self) -> asyncpg.Connection:
        return await driver_connection(self.session)
