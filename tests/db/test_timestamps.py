"""``updatedAt`` follows updates while ``createdAt`` stays; datetimes are aware UTC, naive ones refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.db.registry import metadata
from spikeland.identity.models import User
from tests.support import make_user

users = metadata.tables["users"]
GAP = 0.01  # seconds: well above timestamp(3)'s millisecond precision


async def _stamps(session: AsyncSession, user_id: str) -> Any:
    query = select(users.c.createdAt, users.c.updatedAt).where(users.c.id == user_id)
    return (await session.execute(query)).one()


async def test_updated_at_moves_on_orm_update(session: AsyncSession) -> None:
    user = await make_user(session)
    before = await _stamps(session, user.id)
    await asyncio.sleep(GAP)

    user.name = "renamed"
    await session.flush()

    after = await _stamps(session, user.id)
    assert after.updatedAt > before.updatedAt
    assert after.createdAt == before.createdAt
    await session.refresh(user)
    assert user.updated_at == after.updatedAt


@pytest.mark.parametrize("target", [users, User], ids=["table", "orm-entity"])
async def test_updated_at_moves_on_core_update(session: AsyncSession, target: Any) -> None:
    user = await make_user(session)
    before = await _stamps(session, user.id)
    await asyncio.sleep(GAP)

    await session.execute(update(target).where(users.c.id == user.id).values(name="renamed"))

    after = await _stamps(session, user.id)
    assert after.updatedAt > before.updatedAt
    assert after.createdAt == before.createdAt


async def test_datetimes_come_back_aware_utc(session: AsyncSession) -> None:
    user = await make_user(session)
    await session.refresh(user)
    for value in (user.created_at, user.updated_at, *(await _stamps(session, user.id))):
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
    assert abs(datetime.now(UTC) - user.created_at) < timedelta(minutes=5)  # connections work in UTC


async def test_aware_datetime_is_stored_as_utc(session: AsyncSession) -> None:
    plus_two = datetime(2024, 6, 1, 12, 30, 15, 123000, tzinfo=timezone(timedelta(hours=2)))
    user = await make_user(session, email_verified=plus_two)

    raw = text('SELECT "emailVerified"::text FROM users WHERE id = :id')
    assert (await session.execute(raw, {"id": user.id})).scalar_one() == "2024-06-01 10:30:15.123"
    stored = (await session.execute(select(users.c.emailVerified).where(users.c.id == user.id))).scalar_one()
    assert stored == plus_two and stored.tzinfo == UTC


async def test_naive_datetime_is_refused_by_orm(session: AsyncSession) -> None:
    with pytest.raises(StatementError) as caught:
        async with session.begin_nested():
            await make_user(session, email_verified=datetime(2024, 6, 1, 12, 0))
    assert isinstance(caught.value.orig, ValueError)
    assert "naive datetime" in str(caught.value.orig)


async def test_naive_datetime_is_refused_by_core(session: AsyncSession) -> None:
    statement = insert(users).values(email="naive@example.com", emailVerified=datetime(2024, 6, 1))
    with pytest.raises(StatementError) as caught:
        async with session.begin_nested():
            await session.execute(statement)
    assert isinstance(caught.value.orig, ValueError)
    count = select(users.c.id).where(users.c.email == "naive@example.com")
    assert (await session.execute(count)).first() is None
