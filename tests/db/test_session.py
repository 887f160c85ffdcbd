"""The request's unit of work (``RequestDb``): one connection, one transaction, whichever way a
route uses it (the ORM session, or the driver connection on a hot path)."""

from __future__ import annotations

import asyncio
import secrets

import asyncpg
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from spikeland.db.engine import async_url, make_sessionmaker
from spikeland.db.session import DriverConnections, RequestDb
from spikeland.identity.models import User

INSERT = 'INSERT INTO users (id, email, "updatedAt") VALUES ($1, $2, now())'


def unit(engine: AsyncEngine, connections: DriverConnections | None = None) -> RequestDb:
    """A unit whose driver connection goes back to the engine's pool at its end (none kept)."""
    return RequestDb(connections or DriverConnections(engine.sync_engine, keep=0), make_sessionmaker(engine))


async def exists(engine: AsyncEngine, user_id: str) -> bool:
    async with engine.connect() as conn:
        found = await conn.scalar(text("select count(*) from users where id = :id"), {"id": user_id})
    return found == 1


async def test_driver_work_is_committed_once_and_the_connection_goes_back(
    one_connection: AsyncEngine,
) -> None:
    user_id = f"unit-{secrets.token_hex(4)}"
    db = unit(one_connection)
    driver = await db.driver()
    assert await db.driver() is driver and driver.is_in_transaction()
    await driver.execute(INSERT, user_id, f"{user_id}@example.com")
    await db.commit()
    await db.close()
    assert await exists(one_connection, user_id)  # the pool's only connection was returned


async def test_driver_work_without_a_commit_is_rolled_back(one_connection: AsyncEngine) -> None:
    user_id = f"unit-{secrets.token_hex(4)}"
    db = unit(one_connection)
    await (await db.driver()).execute(INSERT, user_id, f"{user_id}@example.com")
    await db.close()  # the request failed
    assert not await exists(one_connection, user_id)
    async with one_connection.connect() as conn:  # the same connection, clean
        raw = await conn.get_raw_connection()
        assert raw.driver_connection is not None and not raw.driver_connection.is_in_transaction()


async def test_the_driver_after_the_session_is_the_sessions_own_connection(
    one_connection: AsyncEngine,
) -> None:
    user_id = f"unit-{secrets.token_hex(4)}"
    db = unit(one_connection)
    session = await db.session()
    assert await db.session() is session
    await (await db.driver()).execute(INSERT, user_id, f"{user_id}@example.com")
    assert await session.scalar(select(User.id).where(User.id == user_id)) == user_id  # one transaction
    await db.commit()
    await db.close()
    assert await exists(one_connection, user_id)


async def test_the_session_after_reads_on_the_driver_takes_over(one_connection: AsyncEngine) -> None:
    """Reads on the driver held nothing of a transaction: their connection goes back (the engine
    here has one) and the session takes it."""
    db = unit(one_connection)
    assert await (await db.reader()).fetchval("SELECT 1") == 1
    assert not (await db.reader()).is_in_transaction()
    session = await db.session()
    assert await session.scalar(text("SELECT 2")) == 2
    await db.commit()
    await db.close()


async def test_the_session_after_the_driver_began_is_refused(one_connection: AsyncEngine) -> None:
    db = unit(one_connection)
    await db.driver()
    with pytest.raises(RuntimeError, match="session first"):
        await db.session()
    await db.close()


async def test_a_failed_commit_is_the_error_and_leaves_the_connection_clean(
    one_connection: AsyncEngine,
) -> None:
    db = unit(one_connection)
    driver = await db.driver()
    await driver.execute("SET CONSTRAINTS ALL DEFERRED")
    # A deferred foreign key fails at COMMIT, not at the statement.
    await driver.execute("CREATE TEMP TABLE parent (id int PRIMARY KEY)")
    await driver.execute("CREATE TEMP TABLE child (id int REFERENCES parent DEFERRABLE INITIALLY DEFERRED)")
    await driver.execute("INSERT INTO child VALUES (1)")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await db.commit()
    await db.close()
    async with one_connection.connect() as conn:  # the same connection, back in the pool, clean
        raw = await conn.get_raw_connection()
        assert raw.driver_connection is not None and not raw.driver_connection.is_in_transaction()
        assert await conn.scalar(text("select to_regclass('pg_temp.child')")) is None  # rolled back


async def test_a_connection_that_cannot_roll_back_is_discarded(one_connection: AsyncEngine) -> None:
    db = unit(one_connection)
    driver = await db.driver()
    pid = await driver.fetchval("select pg_backend_pid()")
    await driver.close()  # the connection dies mid-request (as when the server restarts)
    await db.close()
    async with one_connection.connect() as conn:  # a new connection, not the dead one
        assert await conn.scalar(text("select pg_backend_pid()")) != pid


async def test_driver_connections_are_kept_for_the_next_unit_unless_they_are_broken(
    database_url: str,
) -> None:
    engine = create_async_engine(async_url(database_url), pool_size=2, max_overflow=0)
    kept = DriverConnections(engine.sync_engine, keep=1)
    try:
        first = unit(engine, kept)
        pid = await (await first.driver()).fetchval("select pg_backend_pid()")
        await first.commit()
        await first.close()
        assert engine.sync_engine.pool.checkedout() == 1  # kept here, out of the engine's pool
        second = unit(engine, kept)
        assert await (await second.driver()).fetchval("select pg_backend_pid()") == pid  # the same one
        await (await second.driver()).close()  # it dies mid-request
        await second.close()
        assert engine.sync_engine.pool.checkedout() == 0  # discarded, not kept
        third = unit(engine, kept)
        dead, pid = pid, await (await third.driver()).fetchval("select pg_backend_pid()")
        assert pid != dead
        await third.close()  # rolled back, and kept
        async with engine.connect() as other:  # the server ends the kept one while it waits
            await other.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.sleep(0.2)
        fourth = unit(engine, kept)  # gets a live connection, not the dead one
        assert await (await fourth.driver()).fetchval("select pg_backend_pid()") != pid
        await fourth.commit()
        await fourth.close()
        await kept.close()
        assert engine.sync_engine.pool.checkedout() == 0  # all back in the engine's pool
    finally:
        await engine.dispose()


@pytest.mark.parametrize("ends_on", ["reads", "driver", "session"])
async def test_queued_writes_land_at_the_commit_whichever_connection_the_request_ends_on(
    one_connection: AsyncEngine, ends_on: str
) -> None:
    """The caller lookup queues its bookkeeping (``write``) after a read on the driver; the route
    then reads, writes on the driver, or takes the ORM session: the write lands with the commit."""
    user_id = f"unit-{secrets.token_hex(4)}"
    db = unit(one_connection)
    assert await (await db.reader()).fetchval("SELECT 1") == 1
    db.write(INSERT, user_id, f"{user_id}@example.com")
    if ends_on == "driver":
        await (await db.driver()).execute("SELECT 1")
    elif ends_on == "session":
        await (await db.session()).execute(text("SELECT 1"))
    await db.commit()
    await db.close()
    assert await exists(one_connection, user_id)


async def test_queued_writes_of_a_failed_request_are_not_sent(one_connection: AsyncEngine) -> None:
    user_id = f"unit-{secrets.token_hex(4)}"
    db = unit(one_connection)
    db.write(INSERT, user_id, f"{user_id}@example.com")
    await (await db.session()).execute(text("SELECT 1"))
    await db.close()  # the request failed: no commit
    assert not await exists(one_connection, user_id)
