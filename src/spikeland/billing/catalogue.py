"""What can be bought: the active token packs and subscription plans, as a pricing page shows them.

Both tables keep a bare price (``priceUSD`` / ``priceGBP``, names from the original schema); the
amount is charged in the billing currency (``SPIKELAND_STRIPE_CURRENCY``, as checkout does), so
that is the currency the catalogue states.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.billing.models import SubscriptionPlan
from spikeland.billing.plans import UNLIMITED_ROLLOVER, tier_of
from spikeland.db.enums import SubscriptionTier
from spikeland.tokens.models import TokensPackage


@dataclass(frozen=True)
class Offer:
    id: str
    name: str
    tokens: int
    price: Decimal
    currency: str
    tier: SubscriptionTier | None
    features: list[str]


async def packages(session: AsyncSession, currency: str) -> list[Offer]:
    rows = await session.scalars(
        select(TokensPackage)
        .where(TokensPackage.active.is_(True))
        .order_by(TokensPackage.sort_order, TokensPackage.price_usd, TokensPackage.id)
    )
    return [
        Offer(p.id, p.name, p.tokens, p.price_usd, currency.upper(), None, [f"{p.tokens} tokens, once"])
        for p in rows
    ]


def _plan_features(plan: SubscriptionPlan) -> list[str]:
    features = [f"{plan.tokens_per_month} tokens every month"]
    # As renewals apply it (billing.subscriptions.renew): 0 rolls nothing over.
    if plan.max_rollover == 0:
        features.append("Unused tokens lapse at the end of the month")
    elif plan.max_rollover >= UNLIMITED_ROLLOVER:
        features.append("Unused tokens roll over without limit")
    else:
        features.append(f"Up to {plan.max_rollover} unused tokens roll over")
    if plan.priority:
        features.append("Priority processing")
    if plan.api_access:
        features.append("API access")
    return features


async def plans(session: AsyncSession, currency: str) -> list[Offer]:
    rows = await session.scalars(
        select(SubscriptionPlan)
        .where(SubscriptionPlan.active.is_(True))
        .order_by(SubscriptionPlan.sort_order, SubscriptionPlan.price_gbp, SubscriptionPlan.id)
    )
    return [
        Offer(p.id, p.name, p.tokens_per_month, p.price_gbp, currency.upper(), tier_of(p), _plan_features(p))
        for p in rows
    ]
