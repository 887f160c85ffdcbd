"""The ledger under real concurrency: committed data, one connection and transaction per caller.

Callers run at once with ``asyncio.gather`` on an engine with enough connections for all of them,
so they truly overlap in PostgreSQL and only the ledger's locking keeps the books exact.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from spikeland.db.engine import SERVER_SETTINGS, async_url
from spikeland.db.enums import SubscriptionTier
from spikeland.tokens import service
from spikeland.tokens.models import TokenTransactionType as T
from spikeland.tokens.service import InsufficientTokens
from spikeland.tokens.verify import verify
from tests.support import make_user, sign_up

# One xdist worker runs all the tests that open many connections at once, one after another:
# two of them side by side would pass the server's max_connections (100).
pytestmark = pytest.mark.xdist_group("many_connections")

R = TypeVar("R")
Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture(scope="module")
async def wide_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """30 connections, so 30 callers hold 30 transactions at once instead of queueing on the pool.

    Not more: the suite's other xdist worker uses the same server (max_connections 100) meanwhile.
    """
    engine = create_async_engine(
        async_url(database_url),
        pool_size=30,
        max_overflow=0,
        connect_args={"server_settings": SERVER_SETTINGS},
    )
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(wide_engine: AsyncEngine) -> Sessions:
    return async_sessionmaker(wide_engine, expire_on_commit=False)


async def in_transaction(sessions: Sessions, work: Callable[[AsyncSession], Awaitable[R]]) -> R:
    async with sessions() as session, session.begin():
        return await work(session)


async def all_at_once(sessions: Sessions, calls: list[Callable[[AsyncSession], Awaitable[Any]]]) -> list[Any]:
    """Each call in its own session and transaction, all started together; exceptions are returned."""
    return await asyncio.gather(*(in_transaction(sessions, call) for call in calls), return_exceptions=True)


async def new_user(sessions: Sessions, *, with_balance: bool = True) -> str:
    async def create(session: AsyncSession) -> str:
        user = await make_user(session)
        if with_balance:
            await service.get_balance(session, user.id)
        return user.id

    return await in_transaction(sessions, create)


async def ledger_of(sessions: Sessions, user_id: str) -> tuple[int, list[Any]]:
    async with sessions() as session:
        balance = await session.scalar(
            text('SELECT balance FROM user_token_balances WHERE "userId" = :u'), {"u": user_id}
        )
        rows = (
            await session.execute(
                text(
                    'SELECT type, amount, "balanceAfter", "sourceId" FROM token_transactions '
                    'WHERE "userId" = :u ORDER BY "createdAt", id'
                ),
                {"u": user_id},
            )
        ).all()
    return int(balance), list(rows)


async def problems_of(sessions: Sessions, user_ids: set[str]) -> list[Any]:
    async with sessions() as session:
        return [m for m in await verify(session) if m.user_id in user_ids]


async def test_fifty_parallel_spends_of_two_on_ten_tokens(sessions: Sessions) -> None:
    user_id = await new_user(sessions)

    def spend(session: AsyncSession) -> Awaitable[Any]:
        return service.spend(session, user_id, 2, T.SPEND_ENHANCEMENT, source="test")

    results = await all_at_once(sessions, [spend] * 50)
    succeeded = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, InsufficientTokens)]
    assert len(succeeded) == 5 and len(refused) == 45, [r for r in results if isinstance(r, Exception)][:3]
    assert sorted(m.balance_after for m in succeeded) == [0, 2, 4, 6, 8]
    balance, rows = await ledger_of(sessions, user_id)
    assert balance == 0 and len(rows) == 6
    assert await problems_of(sessions, {user_id}) == []


@pytest.mark.parametrize("first_use", [False, True], ids=["existing-balance", "first-use"])
async def test_one_payment_delivered_ten_times_at_once_credits_once(
    sessions: Sessions, first_use: bool
) -> None:
    # first-use: no balance row yet, so the ten callers also race to create it.
    user_id = await new_user(sessions, with_balance=not first_use)
    source_id = f"pi_{secrets.token_hex(6)}"

    def credit(session: AsyncSession) -> Awaitable[Any]:
        return service.credit(session, user_id, 100, T.EARN_PURCHASE, source="stripe", source_id=source_id)

    results = await all_at_once(sessions, [credit] * 10)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert [r.applied for r in results].count(True) == 1
    assert len({r.transaction_id for r in results}) == 1
    balance, rows = await ledger_of(sessions, user_id)
    assert balance == 110
    assert [(r.type, r.amount, r.sourceId) for r in rows] == [
        ("EARN_BONUS", 10, None),
        ("EARN_PURCHASE", 100, source_id),
    ]


async def test_one_upgrade_delivered_five_times_at_once_tops_up_once(sessions: Sessions) -> None:
    user_id = await new_user(sessions)
    source_id = f"sub_{secrets.token_hex(6)}"

    def upgrade(session: AsyncSession) -> Awaitable[Any]:
        return service.change_tier(
            session,
            user_id,
            SubscriptionTier.PREMIUM,
            raise_to_cap=True,
            source="stripe",
            source_id=source_id,
        )

    await all_at_once(sessions, [upgrade] * 5)
    balance, rows = await ledger_of(sessions, user_id)
    assert balance == 100 and [r.amount for r in rows] == [10, 90]


async def test_regeneration_after_the_clock_moved_is_applied_once(sessions: Sessions) -> None:
    user_id = await new_user(sessions)
    await in_transaction(sessions, lambda s: service.spend(s, user_id, 8, T.SPEND_ENHANCEMENT))
    async with sessions() as session, session.begin():  # 50 minutes pass: three whole intervals
        await session.execute(
            text(
                "UPDATE user_token_balances SET \"lastRegeneration\" = now() at time zone 'utc' "
                "- interval '50 minutes' WHERE \"userId\" = :u"
            ),
            {"u": user_id},
        )

    def regenerate(session: AsyncSession) -> Awaitable[Any]:
        return service.regenerate(session, user_id)

    def read(session: AsyncSession) -> Awaitable[Any]:
        return service.get_balance(session, user_id)

    results = await all_at_once(sessions, [regenerate, read] * 10)
    assert not [r for r in results if isinstance(r, BaseException)], results
    # Whoever locks first (an explicit regeneration or a read) applies it; the rest find nothing due.
    assert len([r for r in results[::2] if r is not None]) <= 1
    assert all(view.balance == 5 for view in results[1::2])  # every read saw the regenerated balance
    balance, rows = await ledger_of(sessions, user_id)
    assert balance == 5
    assert [(r.type, r.amount) for r in rows if r.type == "EARN_REGENERATION"] == [("EARN_REGENERATION", 3)]


async def test_mixed_spends_and_credits_on_a_few_users_keep_the_books(sessions: Sessions) -> None:
    users = [await new_user(sessions) for _ in range(3)]
    rng = random.Random(4)
    plan = [(rng.choice(users), rng.choice(["spend", "credit"]), rng.randint(1, 6)) for _ in range(60)]

    def call(user_id: str, kind: str, amount: int) -> Callable[[AsyncSession], Awaitable[Any]]:
        if kind == "spend":
            return lambda s: service.spend(s, user_id, amount, T.SPEND_MCP_GENERATION, source="test")
        return lambda s: service.credit(s, user_id, amount, T.EARN_BONUS, source="test")

    results = await all_at_once(sessions, [call(*step) for step in plan])
    unexpected = [
        r for r in results if isinstance(r, BaseException) and not isinstance(r, InsufficientTokens)
    ]
    assert unexpected == []
    for user_id in users:
        applied = [
            (kind, amount)
            for (who, kind, amount), result in zip(plan, results, strict=True)
            if who == user_id and not isinstance(result, BaseException)
        ]
        expected = 10 + sum(amount if kind == "credit" else -amount for kind, amount in applied)
        balance, rows = await ledger_of(sessions, user_id)
        assert balance == expected and len(rows) == 1 + len(applied)
    assert await problems_of(sessions, set(users)) == []


async def test_twenty_concurrent_http_spends_with_one_idempotency_key_spend_once(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    email = f"concurrent-{secrets.token_hex(4)}@example.com"
    user_id = (await sign_up(client, email))["id"]
    headers = {"Idempotency-Key": f"order-{secrets.token_hex(4)}"}

    responses = await asyncio.gather(
        *(
            client.post("/api/v1/tokens/spend", json={"amount": 2, "purpose": "generation"}, headers=headers)
            for _ in range(20)
        )
    )
    assert [r.status_code for r in responses] == [201] * 20, [
        r.text for r in responses if r.status_code != 201
    ]
    bodies = [r.json() for r in responses]
    assert [b["applied"] for b in bodies].count(True) == 1
    assert len({b["transactionId"] for b in bodies}) == 1
    assert (await client.get("/api/v1/tokens/balance")).json()["balance"] == 8
    async with engine.connect() as conn:
        spends = await conn.scalar(
            text('SELECT count(*) FROM token_transactions WHERE "userId" = :u AND amount < 0'), {"u": user_id}
        )
    assert spends == 1
