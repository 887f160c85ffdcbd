"""PERCENTAGE_BONUS: pending after redemption, granted once by the next pack purchase."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.ratelimit import RateLimiter
from spikeland.growth import service
from spikeland.growth.models import VoucherRedemption, VoucherType
from spikeland.tokens import service as tokens
from spikeland.tokens.models import TokenTransaction, TokenTransactionType
from tests.support import make_user, make_voucher


async def redeem(session: AsyncSession, user_id: str, code: str) -> service.Redeemed:
    return await service.redeem(session, user_id, code, limiter=RateLimiter(), per_hour=5)


async def granted(session: AsyncSession, redemption_id: str) -> int:
    value = await session.scalar(
        select(VoucherRedemption.tokens_granted)
        .where(VoucherRedemption.id == redemption_id)
        .execution_options(populate_existing=True)
    )
    assert value is not None
    return value


async def test_granted_once_on_the_next_purchase(session: AsyncSession) -> None:
    user = await make_user(session)
    voucher = await make_voucher(session, type=VoucherType.PERCENTAGE_BONUS, value=25)
    redeemed = await redeem(session, user.id, voucher.code)
    assert await service.apply_purchase_bonus(session, await _other(session), 100, "pay_x") is None

    bonus = await service.apply_purchase_bonus(session, user.id, 150, "pay_1")
    assert bonus is not None and bonus.applied
    assert (bonus.type, bonus.amount, bonus.balance_after) == (TokenTransactionType.EARN_BONUS, 37, 47)
    assert bonus.metadata is not None and bonus.metadata["redemptionId"] == redeemed.redemption_id
    assert await granted(session, redeemed.redemption_id) == 37

    repeat = await service.apply_purchase_bonus(session, user.id, 150, "pay_1")
    assert repeat is not None and not repeat.applied and repeat.transaction_id == bonus.transaction_id
    assert await service.apply_purchase_bonus(session, user.id, 500, "pay_2") is None
    assert (await tokens.get_balance(session, user.id)).balance == 47
    rows = await session.scalars(
        select(TokenTransaction).where(
            TokenTransaction.user_id == user.id, TokenTransaction.source == "voucher_bonus"
        )
    )
    assert [(r.amount, r.source_id) for r in rows] == [(37, "pay_1")]


async def test_the_oldest_pending_bonus_goes_first(session: AsyncSession) -> None:
    user = await make_user(session)
    first = await make_voucher(session, type=VoucherType.PERCENTAGE_BONUS, value=10)
    second = await make_voucher(session, type=VoucherType.PERCENTAGE_BONUS, value=50)
    fixed = await make_voucher(session, type=VoucherType.FIXED_TOKENS, value=5)
    a = await redeem(session, user.id, first.code)
    await redeem(session, user.id, fixed.code)  # a FIXED_TOKENS redemption is never "pending"
    b = await redeem(session, user.id, second.code)

    one = await service.apply_purchase_bonus(session, user.id, 100, "pay_a")
    two = await service.apply_purchase_bonus(session, user.id, 100, "pay_b")
    assert one is not None and two is not None and (one.amount, two.amount) == (10, 50)
    assert (await granted(session, a.redemption_id), await granted(session, b.redemption_id)) == (10, 50)
    assert await service.apply_purchase_bonus(session, user.id, 100, "pay_c") is None


async def test_a_bonus_that_rounds_to_nothing_stays_pending(session: AsyncSession) -> None:
    user = await make_user(session)
    voucher = await make_voucher(session, type=VoucherType.PERCENTAGE_BONUS, value=5)
    redeemed = await redeem(session, user.id, voucher.code)
    assert await service.apply_purchase_bonus(session, user.id, 19, "pay_small") is None
    assert await granted(session, redeemed.redemption_id) == 0
    later = await service.apply_purchase_bonus(session, user.id, 100, "pay_big")
    assert later is not None and later.amount == 5


async def _other(session: AsyncSession) -> str:
    return (await make_user(session)).id
