"""The changes a subscription goes through, shared by the webhook handlers and the period-end job.

Every function takes a row the caller locked (``SELECT ... FOR UPDATE``) and leaves it so that
the same change cannot match again (downgradeTo cleared, status CANCELED, the period moved on):
that is what makes each change happen once however many workers run.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.billing.models import Subscription, SubscriptionPlan, SubscriptionStatus
from spikeland.billing.plans import plan_for_tier, tier_of
from spikeland.db.enums import SubscriptionTier
from spikeland.tokens import service as tokens
from spikeland.tokens.models import TokenTransaction, TokenTransactionType

_log = logging.getLogger(__name__)

SPEND_TYPES = (
    TokenTransactionType.SPEND_ENHANCEMENT,
    TokenTransactionType.SPEND_MCP_GENERATION,
    TokenTransactionType.SPEND_BOX_CREATION,
)


async def lock_by_stripe_id(session: AsyncSession, stripe_subscription_id: str) -> Subscription | None:
    statement = (
        select(Subscription)
        .where(Subscription.stripe_subscription_id == stripe_subscription_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).first()


async def lock_for_user(session: AsyncSession, user_id: str) -> Subscription | None:
    statement = (
        select(Subscription)
        .where(Subscription.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).first()


def apply_plan(sub: Subscription, plan: SubscriptionPlan) -> None:
    sub.tier = tier_of(plan)
    sub.tokens_per_month = plan.tokens_per_month
    sub.max_rollover = plan.max_rollover
    sub.stripe_price_id = plan.stripe_price_id


async def end(session: AsyncSession, sub: Subscription, *, reason: str) -> None:
    """The subscription is over: CANCELED, and the user's tier back to FREE (balance kept)."""
    sub.status = SubscriptionStatus.CANCELED
    sub.downgrade_to = None
    sub.cancel_at_period_end = False
    await session.flush()
    await tokens.change_tier(
        session,
        sub.user_id,
        SubscriptionTier.FREE,
        raise_to_cap=False,
        source="subscription_end",
        metadata={"subscriptionId": sub.stripe_subscription_id, "reason": reason},
    )


async def execute_downgrade(session: AsyncSession, sub: Subscription) -> SubscriptionTier:
    """Apply the scheduled ``downgradeTo``: the lower plan's tier and allowance from now on."""
    target = sub.downgrade_to
    assert target is not None
    if target == SubscriptionTier.FREE:
        await end(session, sub, reason="downgrade")
        return target
    plan = await plan_for_tier(session, target)
    if plan is not None:
        apply_plan(sub, plan)
    sub.tier = target
    sub.downgrade_to = None
    await session.flush()
    await tokens.change_tier(
        session,
        sub.user_id,
        target,
        raise_to_cap=False,
        source="subscription_downgrade",
        metadata={"subscriptionId": sub.stripe_subscription_id},
    )
    return target


async def _spent_since(session: AsyncSession, user_id: str, since: datetime) -> int:
    """Tokens spent on work since ``since``, less the spends given back (positive REFUND rows)."""
    spent = await session.scalar(
        select(func.coalesce(-func.sum(TokenTransaction.amount), 0)).where(
            TokenTransaction.user_id == user_id,
            TokenTransaction.created_at >= since,
            TokenTransaction.type.in_(SPEND_TYPES),
        )
    )
    refunded = await session.scalar(
        select(func.coalesce(func.sum(TokenTransaction.amount), 0)).where(
            TokenTransaction.user_id == user_id,
            TokenTransaction.created_at >= since,
            TokenTransaction.type == TokenTransactionType.REFUND,
            TokenTransaction.amount > 0,
        )
    )
    return max(0, int(spent or 0) - int(refunded or 0))


async def renew(
    session: AsyncSession, sub: Subscription, *, invoice_id: str, start: datetime, end_: datetime
) -> dict[str, Any]:
    """A paid renewal: the month's tokens, with the unused allowance rolled over up to maxRollover.

    The allowance of the period that ended is ``tokensPerMonth + rolloverTokens``. Spending is
    taken from it first, because it is the only part that can lapse; so purchased, bonus and
    regenerated tokens are never forfeited. What is left of it (and still in the balance) rolls
    over up to ``maxRollover``; the rest lapses. The ledger gets one EARN_PURCHASE row of the net
    change (the month minus what lapsed) with ``{monthlyTokens, rolledOver, forfeited}``. A net of
    0 (Hobby left unused: 30 lapse, 30 arrive) moves no tokens, so there is no row; a negative net
    (possible only after a downgrade) is one negative REFUND row, the ledger's compensating debit.

    A downgrade due by the new period is executed first, so the outcome does not depend on
    whether the period-end job or this invoice came first: the lower plan's tokensPerMonth and
    maxRollover are then the ones used.
    """
    if sub.downgrade_to is not None and sub.current_period_end <= start:
        await execute_downgrade(session, sub)
    if sub.status == SubscriptionStatus.CANCELED:
        return {"skipped": "the subscription has ended"}
    await tokens.lock_balance(session, sub.user_id)  # no spend slips between the reading and the credit
    balance = (await tokens.get_balance(session, sub.user_id)).balance
    allowance = sub.tokens_per_month + sub.rollover_tokens
    spent = await _spent_since(session, sub.user_id, sub.current_period_start)
    unused = min(balance, max(0, allowance - spent))
    rolled = min(unused, sub.max_rollover)
    forfeited = unused - rolled
    monthly = sub.tokens_per_month
    net = monthly - forfeited
    meta = {
        "monthlyTokens": monthly,
        "rolledOver": rolled,
        "forfeited": forfeited,
        "invoiceId": invoice_id,
        "subscriptionId": sub.stripe_subscription_id,
    }
    if net > 0:
        await tokens.credit(
            session,
            sub.user_id,
            net,
            TokenTransactionType.EARN_PURCHASE,
            source="subscription_renewal",
            source_id=invoice_id,
            metadata=meta,
        )
    elif net < 0:
        await tokens.reverse(
            session, sub.user_id, -net, source="subscription_renewal", source_id=invoice_id, metadata=meta
        )
    sub.rollover_tokens = rolled
    sub.current_period_start, sub.current_period_end = start, end_
    sub.status = SubscriptionStatus.ACTIVE  # paid for the new period
    await session.flush()
    _log.info("subscription %s renewed: %s", sub.stripe_subscription_id, meta)
    return meta
