from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.db.enums import SubscriptionTier
from spikeland.tokens import service
from spikeland.tokens.models import TokenTransaction, UserTokenBalance
from spikeland.tokens.models import TokenTransactionType as T
from spikeland.tokens.service import InsufficientTokens
from tests.support import make_user


async def history(session: AsyncSession, user_id: str) -> list[TokenTransaction]:
    rows = await session.scalars(
        select(TokenTransaction)
        .where(TokenTransaction.user_id == user_id)
        .order_by(TokenTransaction.created_at, TokenTransaction.id)
    )
    return list(rows)


async def test_first_use_creates_ten_tokens_with_their_ledger_row(session: AsyncSession) -> None:
    user = await make_user(session)
    view = await service.get_balance(session, user.id)
    assert (view.balance, view.tier, view.cap) == (10, SubscriptionTier.FREE, 10)
    rows = await history(session, user.id)
    assert [(r.type, r.amount, r.balance_after, r.source) for r in rows] == [
        (T.EARN_BONUS, 10, 10, "initial_balance")
    ]


async def test_spend_credit_refund_chain(session: AsyncSession) -> None:
    user = await make_user(session)
    spent = await service.spend(
        session, user.id, 4, T.SPEND_ENHANCEMENT, source="enhancement", source_id="job1"
    )
    assert (spent.amount, spent.balance_after, spent.applied) == (-4, 6, True)
    again = await service.spend(
        session, user.id, 4, T.SPEND_ENHANCEMENT, source="enhancement", source_id="job1"
    )
    assert (
        again.applied is False and again.transaction_id == spent.transaction_id and again.balance_after == 6
    )
    await service.credit(session, user.id, 50, T.EARN_PURCHASE, source="stripe", source_id="pi_1")
    refunded = await service.refund(session, user.id, 4, source="enhancement_failed", source_id="job1")
    assert refunded.balance_after == 60
    assert (
        await service.refund(session, user.id, 4, source="enhancement_failed", source_id="job1")
    ).applied is False
    rows = await history(session, user.id)
    running = 0
    for row in rows:
        running += row.amount
        assert row.balance_after == running
    assert running == (await service.get_balance(session, user.id)).balance == 60


async def test_insufficient_balance_is_402_with_required_and_available(session: AsyncSession) -> None:
    user = await make_user(session)
    with pytest.raises(InsufficientTokens) as caught:
        await service.spend(session, user.id, 11, T.SPEND_MCP_GENERATION)
    assert caught.value.status_code == 402 and caught.value.details == {"required": 11, "available": 10}


async def test_reverse_never_goes_below_zero_and_records_the_shortfall(session: AsyncSession) -> None:
    user = await make_user(session)
    await service.spend(session, user.id, 7, T.SPEND_ENHANCEMENT)
    reversed_ = await service.reverse(session, user.id, 50, source="stripe_refund", source_id="ch_1")
    assert reversed_.amount == -3 and reversed_.balance_after == 0
    assert reversed_.metadata == {"requested": 50, "shortfall": 47}


async def test_regeneration_one_per_quarter_hour_up_to_the_cap(session: AsyncSession) -> None:
    user = await make_user(session)
    await service.spend(session, user.id, 8, T.SPEND_ENHANCEMENT)  # 2 left
    # 50 minutes ago: three whole intervals have passed, 5 minutes of the fourth are kept.
    await session.execute(
        update(UserTokenBalance)
        .where(UserTokenBalance.user_id == user.id)
        .values(last_regeneration=utcnow() - timedelta(minutes=50))
    )
    view = await service.get_balance(session, user.id)
    assert view.balance == 5
    assert (await service.get_balance(session, user.id)).balance == 5  # applied once
    await session.execute(
        update(UserTokenBalance)
        .where(UserTokenBalance.user_id == user.id)
        .values(last_regeneration=utcnow() - timedelta(days=2))
    )
    assert (await service.get_balance(session, user.id)).balance == 10  # never past the FREE cap
    regen = [r for r in await history(session, user.id) if r.type == T.EARN_REGENERATION]
    assert [r.amount for r in regen] == [3, 5]


async def test_upgrade_raises_balance_to_the_new_cap(session: AsyncSession) -> None:
    user = await make_user(session)
    moved = await service.change_tier(
        session,
        user.id,
        SubscriptionTier.STANDARD,
        raise_to_cap=True,
        source="tier_upgrade",
        source_id="sub_1",
    )
    assert moved is not None and moved.amount == 40 and moved.balance_after == 50
    view = await service.get_balance(session, user.id)
    assert (view.tier, view.balance, view.cap) == (SubscriptionTier.STANDARD, 50, 50)
