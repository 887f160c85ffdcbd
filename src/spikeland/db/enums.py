"""Enumerations used by more than one domain."""

from enum import StrEnum


class EnhancementTier(StrEnum):
    FREE = "FREE"  # Free tier (limited quality)
    TIER_1K = "TIER_1K"  # 1024px output (2 tokens)
    TIER_2K = "TIER_2K"  # 2048px output (5 tokens)
    TIER_4K = "TIER_4K"  # 4096px output (10 tokens)


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
