"""What the app sends to PostgreSQL: every statement, through the ORM or on the driver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event


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
