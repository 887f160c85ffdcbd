"""The request's unit of work: one transaction per request, committed once before the response.

The transaction begins at the request's first write, not its first statement (under READ
COMMITTED a plain read sees the same rows either way; ``db.lazy_begin``): a request that only
reads sends neither BEGIN nor COMMIT.

A route takes the unit as the ORM session (``DbSession``), or the unit itself (``DbUnit``) for its
asyncpg connection: ``reader()`` for plain reads (``db.query.Query``, no transaction begun),
``driver()`` inside the request's transaction (BEGIN sent on first use). The session and
SQLAlchemy's connection layer cost more Python than most reads (measured: a request doing one
statement costs ~0.8 M instructions more than one without the database through the session,
~0.45 M on the driver with BEGIN/COMMIT), so reads go to the driver. Whichever the route asks for
first opens the unit. The ORM session may come after reads on the driver (their connection goes
back and the session takes one; nothing of a transaction was held), not after ``driver()`` began a
transaction: that raises at once, so such a route fails its first test instead of splitting its
transaction.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from spikeland.db.lazy_begin import RequestSession, undefer

_log = logging.getLogger(__name__)


async def driver_connection(db: AsyncSession | asyncpg.Connection) -> asyncpg.Connection:
    """The asyncpg connection under ``db`` (a session, or already a driver connection), inside
    its transaction.

    SQLAlchemy's asyncpg adapter sends BEGIN lazily, on its first statement; a statement sent
    to the driver before that would run outside the transaction (and a row lock would not
    hold), so the adapter is asked to begin first. (``_start_transaction`` is the adapter's own
    method; the pinned SQLAlchemy is checked by the concurrency tests, which fail without it.)
    """
    if isinstance(db, asyncpg.Connection):
        assert db.is_in_transaction(), "a driver connection is used only inside its request's transaction"
        return db
    raw = await (await db.connection()).get_raw_connection()
    await _begin(raw)
    driver: asyncpg.Connection = raw.driver_connection
    return driver


async def _begin(raw: PoolProxiedConnection) -> None:
    adapter: Any = raw.dbapi_connection
    undefer(raw)  # a request's session defers BEGIN to its first write (db.lazy_begin)
    if adapter._transaction is None:
        await adapter._start_transaction()
    assert raw.driver_connection is not None and raw.driver_connection.is_in_transaction()


def _driver(raw: PoolProxiedConnection) -> asyncpg.Connection:
    driver: asyncpg.Connection = raw.driver_connection
    return driver


class DriverConnections:
    """Connections for units that work on the driver only, kept out of SQLAlchemy's pool between
    requests.

    Checking a connection out of SQLAlchemy's pool and back costs a hot request more than its
    statements' own Python (pool events, reset, a greenlet each way: ~6 % of a token spend,
    measured), so a unit takes one from this free list instead and gives it back here. At most
    ``keep`` wait here; each is still one of the engine's (``pool_size + max_overflow`` bounds
    every connection), the ORM sessions using the rest. A connection that is closed or cannot be
    rolled back is discarded, never kept or pooled.
    """

    def __init__(self, engine: Engine, keep: int) -> None:
        self._engine = engine
        self._keep = keep
        self._idle: list[PoolProxiedConnection] = []

    async def take(self) -> PoolProxiedConnection:
        while self._idle:
            raw = self._idle.pop()
            if not _driver(raw).is_closed():
                return raw
            await greenlet_spawn(raw.invalidate)  # the server closed it while it waited here
        return await greenlet_spawn(self._engine.raw_connection)

    async def give_back(self, raw: PoolProxiedConnection, *, failed: bool = False) -> None:
        """Take back a unit's connection, rolling back whatever a failure left open (the
        request's own error, if any, is the one that propagates).

        After a failed request the connection is probed with a ROLLBACK even outside a transaction
        (a no-op for PostgreSQL): a read that was cancelled or cut off mid-statement can leave the
        driver with an operation in progress while it still says it is open, and kept here it
        would break the next request (seen when the database's backends were terminated)."""
        driver = _driver(raw)
        try:
            if failed or driver.is_in_transaction():
                await driver.execute("ROLLBACK")
            healthy = not driver.is_closed()
        except Exception:
            _log.warning("a request's connection could not be rolled back; discarding it", exc_info=True)
            healthy = False
        except BaseException:  # cancelled while rolling back: its state is unknown
            raw.invalidate()  # outside a greenlet SQLAlchemy terminates it without waiting
            raise
        if healthy and len(self._idle) < self._keep:
            self._idle.append(raw)
        else:
            await greenlet_spawn(raw.close if healthy else raw.invalidate)

    async def make_room(self) -> None:
        """Hand one kept connection back to the engine's pool for an ORM session about to check
        one out: the session then reuses it instead of opening another. The kept ones count against
        the pool, so without this a process held up to twice its pool size open (the free list's
        and the pool's idle ones), and the test suite ran the shared server out of connections."""
        if self._idle:
            await greenlet_spawn(self._idle.pop().close)

    async def close(self) -> None:
        """Give every kept connection back to the engine's pool (before the engine is disposed)."""
        while self._idle:
            await greenlet_spawn(self._idle.pop().close)


class RequestDb:
    """One request's database work: at most one pooled connection and one transaction."""

    __slots__ = ("_connections", "_later", "_raw", "_session", "_sessionmaker")

    def __init__(
        self, connections: DriverConnections, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        self._connections = connections
        self._sessionmaker = sessionmaker
        self._session: AsyncSession | None = None
        self._raw: PoolProxiedConnection | None = None
        self._later: list[tuple[str, tuple[Any, ...]]] = []

    def write(self, statement: str, *arguments: Any) -> None:
        """Queue a small write of the request's own bookkeeping (an API key's lastUsedAt, a session's
        sliding expiry) into its transaction: sent at the commit, on whichever connection the request
        ends on, so looking up the caller never pins the request to the driver's transaction (a
        route may still take the ORM session after it) and a failed request writes nothing."""
        self._later.append((statement, arguments))

    async def _write_queued(self) -> None:
        queued, self._later = self._later, []
        if self._session is not None:
            connection = await driver_connection(self._session)  # begins the session's transaction
        else:
            connection = await self.reader()  # in the driver's transaction if one began; else each
            # statement is its own (one atomic UPDATE: no BEGIN/COMMIT round trips for it)
        for statement, arguments in queued:
            await connection.execute(statement, *arguments)

    async def session(self) -> AsyncSession:
        """The unit's ORM session (made on first use)."""
        if self._raw is not None:
            if _driver(self._raw).is_in_transaction():
                raise RuntimeError(
                    "this request began its transaction on the driver: ask for the session first"
                )
            raw, self._raw = self._raw, None  # only reads so far: nothing to keep
            await self._connections.give_back(raw)
        if self._session is None:
            await self._connections.make_room()
            self._session = self._sessionmaker(sync_session_class=RequestSession)
        return self._session

    async def reader(self) -> asyncpg.Connection:
        """The unit's asyncpg connection for plain reads: inside the transaction once the request
        has begun one, outside it before (no BEGIN sent for them)."""
        if self._session is not None:
            raw = await (await self._session.connection()).get_raw_connection()
            return _driver(raw)
        if self._raw is None:
            self._raw = await self._connections.take()
        return _driver(self._raw)

    async def driver(self) -> asyncpg.Connection:
        """The asyncpg connection of the unit, inside its transaction (for raw statements).

        Without a session the unit sends BEGIN and COMMIT itself: the connection is only ours
        until it is released, and SQLAlchemy's adapter (asked to begin and commit through
        greenlets) costs more (measured: ~35 k instructions per request).
        """
        if self._session is not None:
            return await driver_connection(self._session)
        driver = await self.reader()
        if not driver.is_in_transaction():
            await driver.execute("BEGIN")
        return driver

    async def commit(self) -> None:
        """Send the queued writes, commit and release (the session is closed by ``close``)."""
        if self._later:
            await self._write_queued()
        if self._session is not None:
            await self._session.commit()
        if self._raw is not None:
            raw, self._raw = self._raw, None
            committed = False
            try:
                if _driver(raw).is_in_transaction():
                    await _driver(raw).execute("COMMIT")
                committed = True
            finally:
                await self._connections.give_back(raw, failed=not committed)

    async def close(self) -> None:
        """Roll back whatever is still open and release everything (after ``commit``: only closes)."""
        try:
            if self._session is not None:
                await self._session.close()
        finally:
            if self._raw is not None:  # only when the request failed: commit gives it back
                raw, self._raw = self._raw, None
                await self._connections.give_back(raw, failed=True)


_UNIT = "spikeland.request_db"  # in the request's scope: its unit, while its owner holds it


# The unit is the request's whichever of the two dependencies below asks first (that one commits
# and closes it); each is one dependency rather than the session one under the unit one, as each
# level of dependency costs FastAPI's solver about as much Python as a statement (measured).
async def _request_db(request: Request) -> AsyncIterator[RequestDb]:
    scope = request.scope
    db: RequestDb | None = scope.get(_UNIT)
    if db is not None:
        yield db
        return
    state = request.app.state
    db = scope[_UNIT] = RequestDb(state.driver_connections, state.sessionmaker)
    try:
        yield db
        await db.commit()
    finally:
        del scope[_UNIT]
        await db.close()


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    scope = request.scope
    db: RequestDb | None = scope.get(_UNIT)
    if db is not None:
        yield await db.session()
        return
    state = request.app.state
    db = scope[_UNIT] = RequestDb(state.driver_connections, state.sessionmaker)
    try:
        yield await db.session()
        await db.commit()
    finally:
        del scope[_UNIT]
        await db.close()


# scope="function": the commit happens before the response is sent, so a failed commit is an
# error response rather than a success the client saw for work that was lost.
DbUnit = Annotated[RequestDb, Depends(_request_db, scope="function")]
DbSession = Annotated[AsyncSession, Depends(_request_session, scope="function")]
