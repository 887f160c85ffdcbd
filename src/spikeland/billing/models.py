"""Billing tables of the specification: stripe_payments, subscriptions, subscription_plans."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from spikeland.db.base import (
    Base,
    Json,
    enum_default,
    fk,
    id_column,
    now_default,
    pg_enum,
    server_default,
    updated_at,
)
from spikeland.db.enums import SubscriptionTier


class StripePaymentStatus(StrEnum):
    PENDING = "PENDING"  # Payment intent created
    SUCCEEDED = "SUCCEEDED"  # Payment completed
    FAILED = "FAILED"  # Payment failed
    REFUNDED = "REFUNDED"  # Payment refunded


class SubscriptionStatus(StrEnum):
    ACTIVE = "ACTIVE"  # Subscription active
    CANCELED = "CANCELED"  # Subscription cancelled
    PAST_DUE = "PAST_DUE"  # Payment failed
    UNPAID = "UNPAID"  # Payment not received
    TRIALING = "TRIALING"  # In trial period


class StripePayment(Base):
    __tablename__ = "stripe_payments"
    __table_args__ = (
        Index(None, "stripePaymentIntentId", unique=True),
        Index(None, "userId", "createdAt"),
        Index(None, "packageId"),  # FK index, migration 0002
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    package_id: Mapped[str] = mapped_column("packageId", fk("tokens_packages.id", "RESTRICT"))
    tokens_granted: Mapped[int] = mapped_column("tokensGranted")
    amount_usd: Mapped[Decimal] = mapped_column("amountUSD")
    stripe_payment_intent_id: Mapped[str] = mapped_column("stripePaymentIntentId")
    status: Mapped[StripePaymentStatus] = mapped_column("status", pg_enum(StripePaymentStatus))
    metadata_: Mapped[Any] = mapped_column("metadata", Json, nullable=True)
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        Index(None, "userId", unique=True),
        Index(None, "stripeSubscriptionId", unique=True),
        Index(None, "status"),
        Index(None, "tier"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    stripe_subscription_id: Mapped[str] = mapped_column("stripeSubscriptionId")
    stripe_price_id: Mapped[str] = mapped_column("stripePriceId")
    status: Mapped[SubscriptionStatus] = mapped_column("status", pg_enum(SubscriptionStatus))
    tier: Mapped[SubscriptionTier] = mapped_column(
        "tier",
        pg_enum(SubscriptionTier),
        server_default=enum_default(SubscriptionTier.BASIC),
    )
    current_period_start: Mapped[datetime] = mapped_column("currentPeriodStart")
    current_period_end: Mapped[datetime] = mapped_column("currentPeriodEnd")
    cancel_at_period_end: Mapped[bool] = mapped_column(
        "cancelAtPeriodEnd",
        server_default=server_default(False),
    )
    downgrade_to: Mapped[SubscriptionTier | None] = mapped_column("downgradeTo", pg_enum(SubscriptionTier))
    tokens_per_month: Mapped[int] = mapped_column("tokensPerMonth")
    rollover_tokens: Mapped[int] = mapped_column("rolloverTokens", server_default=server_default(0))
    max_rollover: Mapped[int] = mapped_column("maxRollover", server_default=server_default(0))
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()


class SubscriptionPlan(Base):
    __tablename__ = "subscription_plans"
    __table_args__ = (
        Index(None, "stripePriceId", unique=True),
        Index(None, "active", "sortOrder"),
    )

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column("name")
    tokens_per_month: Mapped[int] = mapped_column("tokensPerMonth")
    price_gbp: Mapped[Decimal] = mapped_column("priceGBP")
    stripe_price_id: Mapped[str] = mapped_column("stripePriceId")
    max_rollover: Mapped[int] = mapped_column("maxRollover", server_default=server_default(0))
    priority: Mapped[bool] = mapped_column("priority", server_default=server_default(False))
    api_access: Mapped[bool] = mapped_column("apiAccess", server_default=server_default(False))
    active: Mapped[bool] = mapped_column("active", server_default=server_default(True))
    sort_order: Mapped[int] = mapped_column("sortOrder", server_default=server_default(0))
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
