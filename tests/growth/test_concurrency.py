"""Redemptions and bonus grants under concurrency: separate sessions on separate connections."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from spikeland.core.errors import SpikelandError
from spikeland.core.ratelimit import RateLimiter
from spikeland.db.engine import transaction
from spikeland.growth import service
from spikeland.growth.models import Voucher, VoucherRedemption, VoucherStatus, VoucherType
from spikeland.tokens.models import TokenTransaction
from tests.support import make_user, make_voucher

# One xdist worker runs all the tests that open many connections at once, one after another:
# two of them side by side would pass the server's max_connections (100).
pytestmark = pytest.mark.xdist_group("many_connections")


async def _attempt(makers: async_sessionmaker[AsyncSession], user_id: str, code: str) -> str:
    try:
        async with transaction(makers) as session:
            await service.redeem(session, user_id, code, limiter=RateLimiter(), per_hour=5)
    except SpikelandError as exc:
        return exc.code
    return "ok"


async def test_max_uses_holds_against_twenty_redeemers(engine: AsyncEngine) -> None:
    makers = async_sessionmaker(engine, expire_on_commit=False)
    async with transaction(makers) as session:
        voucher = await make_voucher(session, value=7, max_uses=5)
        users = [(await make_user(session)).id for _ in range(20)]
    outcomes = await asyncio.gather(*(_attempt(makers, user_id, voucher.code) for user_id in users))
    assert Counter(outcomes) == {"ok": 5, "voucher_depleted": 15}
    async with transaction(makers) as session:
        stored = await session.get(Voucher, voucher.id)
        assert stored is not None and (stored.current_uses, stored.status) == (5, VoucherStatus.DEPLETED)
        count = (
            select(func.count())
            .select_from(VoucherRedemption)
            .where(VoucherRedemption.voucher_id == voucher.id)
        )
        assert await session.scalar(count) == 5
        credits = select(func.count()).where(
            TokenTransaction.source == "voucher", TokenTransaction.user_id.in_(users)
        )
        assert await session.scalar(credits) == 5


async def test_one_user_redeeming_at_once_gets_one_redemption(engine: AsyncEngine) -> None:
    makers = async_sessionmaker(engine, expire_on_commit=False)
    async with transaction(makers) as session:
        voucher = await make_voucher(session, value=3)
        user_id = (await make_user(session)).id
    outcomes = await asyncio.gather(*(_attempt(makers, user_id, voucher.code) for _ in range(5)))
    assert Counter(outcomes) == {"ok": 1, "voucher_already_redeemed": 4}
    async with transaction(makers) as session:
        stored = await session.get(Voucher, voucher.id)
        assert stored is not None and stored.current_uses == 1


async def test_one_purchase_delivered_at_once_grants_one_bonus(engine: AsyncEngine) -> None:
    makers = async_sessionmaker(engine, expire_on_commit=False)
    async with transaction(makers) as session:
        user_id = (await make_user(session)).id
        for value in (10, 20):
            voucher = await make_voucher(session, type=VoucherType.PERCENTAGE_BONUS, value=value)
            await service.redeem(session, user_id, voucher.code, limiter=RateLimiter(), per_hour=5)

    async def grant() -> int | None:
        async with transaction(makers) as session:
            movement = await service.apply_purchase_bonus(session, user_id, 100, "pay_same")
            return movement.amount if movement else None

    results = await asyncio.gather(*(grant() for _ in range(6)))
    assert set(results) == {10}  # every call reports the one grant: the oldest bonus
    async with transaction(makers) as session:
        rows = await session.scalars(
            select(VoucherRedemption.tokens_granted)
            .where(VoucherRedemption.user_id == user_id)
            .order_by(VoucherRedemption.redeemed_at, VoucherRedemption.id)
        )
        assert list(rows) == [10, 0]  # the second bonus still waits for another purchase
