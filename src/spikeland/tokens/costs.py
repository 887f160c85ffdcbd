"""Every number of the token economy, in one place."""

from __future__ import annotations

import math
from datetime import timedelta

from spikeland.db.enums import EnhancementTier, SubscriptionTier

# Image enhancement and MCP generation cost the same per output tier (reference §1.1).
ENHANCEMENT_COST: dict[EnhancementTier, int] = {
    EnhancementTier.FREE: 0,
    EnhancementTier.TIER_1K: 2,
    EnhancementTier.TIER_2K: 5,
    EnhancementTier.TIER_4K: 10,
}
GENERATION_COST = ENHANCEMENT_COST

# The balance regenerates up to this cap; purchases and bonuses may exceed it.
TIER_CAP: dict[SubscriptionTier, int] = {
    SubscriptionTier.FREE: 10,
    SubscriptionTier.BASIC: 20,
    SubscriptionTier.STANDARD: 50,
    SubscriptionTier.PREMIUM: 100,
}
TIER_ORDER = (
    SubscriptionTier.FREE,
    SubscriptionTier.BASIC,
    SubscriptionTier.STANDARD,
    SubscriptionTier.PREMIUM,
)

INITIAL_BALANCE = TIER_CAP[SubscriptionTier.FREE]
REGENERATION_INTERVAL = timedelta(minutes=15)
REGENERATION_AMOUNT = 1  # tokens per interval

# Admin adjustments, per call (reference §1.6).
ADJUST_MIN, ADJUST_MAX = -1000, 10_000


def enhancement_cost(tier: EnhancementTier) -> int:
    return ENHANCEMENT_COST[tier]


def generation_cost(tier: EnhancementTier) -> int:
    return GENERATION_COST[tier]


def box_cost(price_per_hour: int, running: timedelta) -> int:
    """A box costs its tier's hourly price per started hour (at least one hour)."""
    hours = max(1, math.ceil(running / timedelta(hours=1)))
    return price_per_hour * hours


def is_upgrade(current: SubscriptionTier, target: SubscriptionTier) -> bool:
    return TIER_ORDER.index(target) > TIER_ORDER.index(current)
