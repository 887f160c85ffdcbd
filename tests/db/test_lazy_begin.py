"""The request unit's session begins its transaction at its first write (``db.lazy_begin``): reads
alone send no BEGIN, a write and everything after it is one transaction, and other sessions and the
connection's next users are unaffected."""

from __future__ import annotations

import secrets

import asyncpg
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from spikeland.db.engine import make_sessionmaker
from spikeland.db.lazy_begin import reads_only
from spikeland.db.session import DriverConnections, RequestDb
from spikeland.identity.models import User


def unit(engine: AsyncEngine) -> RequestDb:
    return RequestDb(DriverConnections(engine.sync_engine, keep=0), make_sessionmaker(engine))


async def driver_of(session: AsyncSession) -> asyncpg.Connection:
    connection: asyncpg.Connection = (
        await (await session.connection()).get_raw_connection()
    ).driver_connection
    return connection


@pytest.mark.parametrize(
    ("statement", "reads"),
    [
        ("SELECT users.id FROM users WHERE users.id = $1", True),
        ("  select 1", True),
        ("SELECT users.id FROM users WHERE users.id = $1 FOR UPDATE", False),
        ("SELECT users.id FROM users FOR NO KEY UPDATE OF users SKIP LOCKED", False),
        ("SELECT id FROM users FOR KEY SHARE", False),
        ("SELECT pg_advisory_xact_lock($1)", False),
        ("SELECT set_config('x.y', 'z', true)", False),
        ("SELECT nextval('s')", False),
        ("UPDATE users SET name = $1", False),
        ("WITH moved AS (DELETE FROM t RETURNING id) SELECT id FROM moved", False),
        ("SAVEPOINT sa_savepoint_1", False),
    ],
)
def test_what_counts_as_a_plain_read(statement: str, reads: bool) -> None:
    assert reads_only(statement) is reads


async def test_reads_send_no_begin_and_a_write_begins_one_transaction(one_connection: AsyncEngine) -> None:
    user_id = f"lazy-{secrets.token_hex(4)}"
    db = unit(one_connection)
    session = await db.session()
    await session.scalar(select(User.id).limit(1))
    assert not (await driver_of(session)).is_in_transaction()
    await session.execute(
        text("""INSERT INTO users (id, email, "updatedAt") VALUES (:id, :email, now())"""),
        {"id": user_id, "email": f"{user_id}@example.com"},
    )
    assert (await driver_of(session)).is_in_transaction()
    await db.close()  # no commit: the write is rolled back
    async with one_connection.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM users WHERE id = :id"), {"id": user_id}) == 0


async def test_a_locking_read_begins_the_transaction(one_connection: AsyncEngine) -> None:
    db = unit(one_connection)
    session = await db.session()
    await session.execute(select(User.id).limit(1).with_for_update())
    assert (await driver_of(session)).is_in_transaction()
    await db.close()


async def test_the_driver_after_reads_is_in_a_transaction(one_connection: AsyncEngine) -> None:
    db = unit(one_connection)
    await (await db.session()).scalar(text("SELECT 1"))
    assert (await db.driver()).is_in_transaction()
    await db.commit()
    await db.close()


async def test_other_sessions_on_the_same_connection_begin_as_usual(one_connection: AsyncEngine) -> None:
    db = unit(one_connection)
    await (await db.session()).scalar(text("SELECT 1"))  # deferred, then given back to the pool
    await db.commit()
    await db.close()
    async with make_sessionmaker(one_connection)() as session:
        await session.scalar(text("SELECT 1"))
        assert (await driver_of(session)).is_in_transaction()


async def test_a_first_write_of_many_rows_is_in_the_transaction(one_connection: AsyncEngine) -> None:
    ids = [f"lazy-{secrets.token_hex(4)}" for _ in range(2)]
    db = unit(one_connection)
    session = await db.session()
    await session.execute(  # executemany: the dialect's other execution path
        text("""INSERT INTO users (id, email, "updatedAt") VALUES (:id, :email, now())"""),
        [{"id": i, "email": f"{i}@example.com"} for i in ids],
    )
    assert (await driver_of(session)).is_in_transaction()
    await db.close()
    async with one_connection.connect() as conn:
        found = await conn.scalar(text("SELECT count(*) FROM users WHERE id = ANY(:ids)"), {"ids": ids})
    assert found == 0


async def test_a_session_at_another_isolation_level_begins_at_once(one_connection: AsyncEngine) -> None:
    db = unit(one_connection)
    session = await db.session()
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    await session.scalar(text("SELECT 1"))
    assert (await driver_of(session)).is_in_transaction()
    await db.close()
