"""Enumerations used by more than one domain."""

from enum import StrEnum


class EnhancementTier(StrEnum):
    FREE = "FREE"  # Free tier (limited quality)
    TIER_1K = "TIER_1K"  # 1024px output (2 tokens)
    TIER_2K = "TIER_2K"  # 2048px output (5 tokens)
    TIER_4K = "TIER_4K"  # 4096px output (10 tokens)


# Output long side per tier; FREE keeps at most 1024. Here, beside the tier, because the imaging
# adapters (below every domain) size their output by it and the token prices are a domain above.
TIER_MAX_DIMENSION: dict[EnhancementTier, int] = {
    EnhancementTier.FREE: 1024,
    EnhancementTier.TIER_1K: 1024,
    EnhancementTier.TIER_2K: 2048,
    EnhancementTier.TIER_4K: 4096,
}


class JobStatus(StrEnum):
    PENDING = "PENDING"  # Job queued
    PROCESSING = "PROCESSING"  # Job in progress
    COMPLETED = "COMPLETED"  # Job finished successfully
    FAILED = "FAILED"  # Job failed
    REFUNDED = "REFUNDED"  # Job failed and refunded
    CANCELLED = "CANCELLED"  # Job cancelled by user


class SubscriptionTier(StrEnum):
    FREE = "FREE"  # Free tier
    BASIC = "BASIC"  # Basic subscription
    STANDARD = "STANDARD"  # Standard subscription
    PREMIUM = "PREMIUM"  # Premium subscription
