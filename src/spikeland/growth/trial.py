"""SUBSCRIPTION_TRIAL vouchers: a TRIALING subscription row and the tier it gives (contract (b)).

Billing's service writes the row (the table is billing's), so it looks like a subscription billing
made and billing's period-end job ends it like any other (tier back to FREE, status CANCELED):
``stripeSubscriptionId`` is ``trial_{voucherId}_{userId}``, ``stripePriceId`` "trial", no monthly
tokens.

``subscriptions.userId`` is unique, so a user has one row. No row, or a CANCELED one (replaced
in place), may start a trial; ACTIVE or TRIALING is ``already_subscribed`` — and so are PAST_DUE
and UNPAID, which are live Stripe subscriptions in arrears that billing's webhooks still update.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.billing import service as billing
from spikeland.billing.models import SubscriptionStatus
from spikeland.core.clock import to_ms, utcnow
from spikeland.db.enums import SubscriptionTier
from spikeland.growth.errors import AlreadySubscribed
from spikeland.growth.models import Voucher
from spikeland.growth.vouchers import trial_tier
from spikeland.tokens import service as tokens
from spikeland.tokens.costs import is_upgrade
from spikeland.tokens.models import TokenTransactionType


@dataclass(frozen=True)
class Trial:
    tier: SubscriptionTier
    ends_at: datetime
    tokens_granted: int  # the top-up to the new tier's cap, if any
    balance: int | None


def trial_subscription_id(voucher_id: str, user_id: str) -> str:
    return f"trial_{voucher_id}_{user_id}"


def _refused() -> AlreadySubscribed:
    return AlreadySubscribed("You already have a subscription; a trial voucher cannot be added to it.")


async def ensure_can_start(session: AsyncSession, user_id: str) -> None:
    status = await billing.subscription_status(session, user_id)
    if status is not None and status != SubscriptionStatus.CANCELED:
        raise _refused()


async def start(session: AsyncSession, voucher: Voucher, user_id: str, redemption_id: str) -> Trial:
    """Create (or replace a CANCELED) subscription row as TRIALING (through billing) and raise the
    tier. A subscription that appeared meanwhile makes billing insert nothing: the redemption is
    refused."""
    now = to_ms(utcnow())
    tier = trial_tier(voucher)
    ends_at = now + timedelta(days=voucher.value)
    subscription_id = trial_subscription_id(voucher.id, user_id)
    if not await billing.start_trial(session, user_id, subscription_id, tier, now, ends_at):
        raise _refused()
    # A user already at this tier or above (set by hand) keeps it: a trial never lowers a tier.
    current = (await tokens.get_balance(session, user_id)).tier
    if not is_upgrade(current, tier):
        return Trial(tier, ends_at, 0, None)
    movement = await tokens.change_tier(
        session,
        user_id,
        tier,
        raise_to_cap=True,
        source="voucher_trial",
        source_id=redemption_id,
        metadata={"voucherId": voucher.id, "code": voucher.code, "trialEndsAt": ends_at.isoformat()},
    )
    if movement is None or movement.type != TokenTransactionType.EARN_PURCHASE:
        return Trial(tier, ends_at, 0, None)  # already at or above the new cap: nothing granted
    return Trial(tier, ends_at, movement.amount, movement.balance_after)


async def find(
    session: AsyncSession, voucher: Voucher, user_id: str
) -> tuple[SubscriptionTier, datetime] | None:
    """The trial a redemption started (for replaying its result), if its row is still there."""
    return await billing.subscription_period(session, trial_subscription_id(voucher.id, user_id))
