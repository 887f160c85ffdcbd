"""Which tier each subscription plan gives, and how a Stripe price is traced back to a plan.

``subscription_plans`` has no tier column, so the mapping lives here, in one place. The seeded
plans (Hobby £4.99, Creator £12.99, Studio £29.99) and the three paid tiers (BASIC £5,
STANDARD £10, PREMIUM £20 in the original platform, reference §1.2/§1.7) are the same three steps
of the same ladder, cheapest to dearest, so each plan maps to the tier at its rung. A plan whose
name is not listed gets BASIC, the ``subscriptions.tier`` column default, and a warning in the log.

A plan's ``stripePriceId`` is either a Stripe price id or a price ``lookup_key`` (the seed's
``price_plan_hobby`` style); a price Stripe reports is the plan's when either matches.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.billing.models import SubscriptionPlan
from spikeland.db.enums import SubscriptionTier

_log = logging.getLogger(__name__)

UNLIMITED_ROLLOVER = 2_147_483_647
"""``maxRollover`` of a plan whose unused tokens roll over without limit: the largest PostgreSQL Int.

``maxRollover`` is a cap (rollover = min(balance, maxRollover)) and the column is Int NOT NULL DEFAULT
0, where 0 means "no rollover" (the spec's default). The largest Int is a cap that can never bind, so
every consumer's ``min()`` is right without a special case, and it cannot be confused with 0. (The
original platform used 0 for "unlimited" on Studio, ref §1.7/§4 - which collides with the default.)
"""

PLAN_TIER: dict[str, SubscriptionTier] = {
    "hobby": SubscriptionTier.BASIC,
    "creator": SubscriptionTier.STANDARD,
    "studio": SubscriptionTier.PREMIUM,
}


def tier_of(plan: SubscriptionPlan) -> SubscriptionTier:
    tier = PLAN_TIER.get(plan.name.strip().lower())
    if tier is None:
        _log.warning("plan %r (%s) has no tier mapping; using BASIC", plan.name, plan.id)
        return SubscriptionTier.BASIC
    return tier


async def plan_for_tier(session: AsyncSession, tier: SubscriptionTier) -> SubscriptionPlan | None:
    """The plan that gives ``tier`` (an active one first)."""
    names = [name for name, mapped in PLAN_TIER.items() if mapped == tier]
    if not names:
        return None
    plans = (await session.scalars(select(SubscriptionPlan))).all()
    matching = [p for p in plans if p.name.strip().lower() in names]
    matching.sort(key=lambda p: (not p.active, p.sort_order))
    return matching[0] if matching else None


async def plan_for_price(session: AsyncSession, price: dict[str, Any] | None) -> SubscriptionPlan | None:
    """The plan a Stripe price object (or bare id) belongs to."""
    if not price:
        return None
    keys = [k for k in (price.get("id"), price.get("lookup_key")) if isinstance(k, str) and k]
    if not keys:
        return None
    statement = select(SubscriptionPlan).where(or_(*(SubscriptionPlan.stripe_price_id == k for k in keys)))
    return (await session.scalars(statement.limit(1))).first()
