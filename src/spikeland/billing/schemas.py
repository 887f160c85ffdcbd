"""Wire schemas of billing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, model_validator

from spikeland.billing.models import StripePaymentStatus, SubscriptionStatus
from spikeland.core.schemas import RequestSchema, Schema
from spikeland.db.enums import SubscriptionTier

Id = Annotated[str, Field(min_length=1, max_length=64)]


class OfferOut(Schema):
    """A token pack (``tier`` null, ``tokens`` once) or a plan (``tokens`` every month)."""

    id: str
    name: str
    tokens: int
    price: Decimal = Field(description='In ``currency``; a decimal string such as "4.99".')
    currency: str
    tier: SubscriptionTier | None
    features: list[str]


class CheckoutRequest(RequestSchema):
    """Exactly one of ``packageId`` (a token pack) and ``planId`` (a subscription)."""

    package_id: Id | None = None
    plan_id: Id | None = None

    @model_validator(mode="after")
    def _one_of(self) -> CheckoutRequest:
        if (self.package_id is None) == (self.plan_id is None):
            raise ValueError("give exactly one of packageId and planId")
        return self


class CheckoutOut(Schema):
    session_id: str
    url: str


class WebhookAck(Schema):
    received: bool
    duplicate: bool


class SubscriptionOut(Schema):
    id: str
    status: SubscriptionStatus
    tier: SubscriptionTier
    stripe_price_id: str
    current_period_start: datetime
    current_period_end: datetime
    cancel_at_period_end: bool
    downgrade_to: SubscriptionTier | None
    tokens_per_month: int
    rollover_tokens: int
    max_rollover: int
    created_at: datetime


class DowngradeRequest(RequestSchema):
    tier: SubscriptionTier


class PaymentOut(Schema):
    id: str
    package_id: str
    tokens_granted: int
    amount: Decimal = Field(validation_alias="amount_usd", description="In the billing currency (GBP).")
    stripe_payment_intent_id: str
    status: StripePaymentStatus
    created_at: datetime

    @classmethod
    def of(cls, payment: Any) -> PaymentOut:
        return cls.model_validate(payment)


class PaymentPage(Schema):
    items: list[PaymentOut]
    next_cursor: str | None
