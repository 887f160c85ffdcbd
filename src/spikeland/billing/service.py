"""Billing as the user sees it: checkout, their subscription (downgrade, cancel) and payments.

Stripe is told first and our rows follow in the same request transaction; what Stripe does
later (payments, renewals, cancellations) comes back as webhook events (``handlers``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.billing import subscriptions as subs
from spikeland.billing.models import StripePayment, Subscription, SubscriptionPlan, SubscriptionStatus
from spikeland.billing.plans import plan_for_price, plan_for_tier
from spikeland.core.errors import Conflict, NotFound, ServiceUnavailable, SpikelandError, ValidationFailed
from spikeland.core.pagination import Page, newest_first
from spikeland.db.cuid import cuid
from spikeland.db.enums import SubscriptionTier
from spikeland.identity.models import User
from spikeland.integrations.stripe import (
    CheckoutSession,
    StripeGateway,
    StripeRequestError,
    StripeUnavailable,
)
from spikeland.settings import Settings
from spikeland.tokens.costs import is_upgrade
from spikeland.tokens.models import TokensPackage

# A Stripe subscription that still exists (and bills) for these; a new one would be a second.
LIVE = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)


class PaymentProviderError(SpikelandError):
    status_code = 502
    code = "payment_provider_error"


def require_gateway(gateway: StripeGateway | None) -> StripeGateway:
    if gateway is None:
        raise ServiceUnavailable(
            "Payments are not configured (SPIKELAND_STRIPE_SECRET_KEY).", code="payments_unavailable"
        )
    return gateway


def provider_error(exc: Exception) -> SpikelandError:
    if isinstance(exc, StripeUnavailable):
        return ServiceUnavailable(
            "The payment provider does not answer; try again.", code="payments_unavailable"
        )
    if isinstance(exc, StripeRequestError) and exc.code == "idempotency_error":
        # 422 like every other route's reused key (tokens.idempotency), not 409.
        return ValidationFailed(
            "This Idempotency-Key was used for a different request.", code="idempotency_key_reused"
        )
    return PaymentProviderError(f"The payment provider refused the request: {exc}")


def pence(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value(rounding=ROUND_HALF_UP))


def _absolute(settings: Settings, url: str) -> str:
    return settings.public_url.rstrip("/") + url if url.startswith("/") else url


async def _customer(session: AsyncSession, gateway: StripeGateway, user: User) -> str:
    if user.stripe_customer_id is None:
        user.stripe_customer_id = await gateway.create_customer(email=user.email, user_id=user.id)
        await session.flush()
    return user.stripe_customer_id


async def start_checkout(
    session: AsyncSession,
    user: User,
    *,
    package_id: str | None,
    plan_id: str | None,
    idempotency_key: str | None,
    settings: Settings,
    gateway: StripeGateway | None,
) -> CheckoutSession:
    """A Stripe Checkout Session for a token pack (``payment``) or a plan (``subscription``)."""
    stripe = require_gateway(gateway)
    if package_id is not None:
        package = await session.get(TokensPackage, package_id)
        if package is None or not package.active:
            raise NotFound("No such token package.", code="package_not_found")
        mode, name, lookup, price = "payment", package.name, package.stripe_price_id, package.price_usd
        metadata = {
            "userId": user.id,
            "packageId": package.id,
            "tokens": str(package.tokens),
            "type": "token_purchase",
        }
    else:
        plan = await session.get(SubscriptionPlan, plan_id or "")
        if plan is None or not plan.active:
            raise NotFound("No such subscription plan.", code="plan_not_found")
        current = await session.scalar(select(Subscription.status).where(Subscription.user_id == user.id))
        if current in LIVE:
            raise Conflict(
                "You already have a subscription: change or cancel it instead.", code="subscription_exists"
            )
        mode, name, lookup, price = "subscription", plan.name, plan.stripe_price_id, plan.price_gbp
        metadata = {"userId": user.id, "planId": plan.id, "type": "subscription"}
    try:
        customer = await _customer(session, stripe, user)
        price_id = await stripe.ensure_price(
            lookup_key=lookup,
            unit_amount=pence(price),
            currency=settings.stripe_currency,
            name=name,
            recurring=mode == "subscription",
        )
        return await stripe.create_checkout_session(
            mode=mode,
            customer=customer,
            price_id=price_id,
            success_url=_absolute(settings, settings.stripe_success_url),
            cancel_url=_absolute(settings, settings.stripe_cancel_url),
            metadata=metadata,
            # Scoped to the user: one user's key can never replay another's session.
            idempotency_key=f"checkout-{user.id}-{idempotency_key}" if idempotency_key else None,
        )
    except (StripeUnavailable, StripeRequestError) as exc:
        raise provider_error(exc) from None


# ----------------------------------------------------------------------------- the subscription


async def get_subscription(session: AsyncSession, user_id: str) -> Subscription | None:
    return (await session.scalars(select(Subscription).where(Subscription.user_id == user_id))).first()


async def _live_subscription(session: AsyncSession, user_id: str) -> Subscription:
    sub = await subs.lock_for_user(session, user_id)
    if sub is None or sub.status not in LIVE:
        raise NotFound("You have no paid subscription.", code="no_active_subscription")
    return sub


async def _plan_price(stripe: StripeGateway, plan: SubscriptionPlan, settings: Settings) -> str:
    return await stripe.ensure_price(
        lookup_key=plan.stripe_price_id,
        unit_amount=pence(plan.price_gbp),
        currency=settings.stripe_currency,
        name=plan.name,
        recurring=True,
    )


async def schedule_downgrade(
    session: AsyncSession,
    user: User,
    tier: SubscriptionTier,
    *,
    settings: Settings,
    gateway: StripeGateway | None,
) -> Subscription:
    """Move to a lower tier at the end of the paid period (FREE: the subscription ends then).

    Stripe is switched now, without proration, so the next invoice is already the lower price;
    the tier and allowance stay until ``tasks.end_of_period`` executes ``downgradeTo``.
    """
    stripe = require_gateway(gateway)
    sub = await _live_subscription(session, user.id)
    if not is_upgrade(tier, sub.tier):
        raise ValidationFailed(
            f"{tier.value} is not below your {sub.tier.value} plan.", code="not_a_downgrade"
        )
    try:
        if tier == SubscriptionTier.FREE:
            await stripe.set_cancel_at_period_end(sub.stripe_subscription_id, True)
            sub.cancel_at_period_end = True
        else:
            plan = await plan_for_tier(session, tier)
            if plan is None:
                raise ValidationFailed(f"No plan gives the {tier.value} tier.", code="no_plan_for_tier")
            metadata = {"userId": user.id, "planId": plan.id, "type": "subscription"}
            price_id = await _plan_price(stripe, plan, settings)
            await stripe.switch_price(sub.stripe_subscription_id, price_id, metadata)
    except (StripeUnavailable, StripeRequestError) as exc:
        raise provider_error(exc) from None
    sub.downgrade_to = tier
    await session.flush()
    return sub


async def cancel_downgrade(
    session: AsyncSession, user: User, *, settings: Settings, gateway: StripeGateway | None
) -> Subscription:
    """Keep the current plan after all: Stripe goes back to its price (or stops the cancellation)."""
    stripe = require_gateway(gateway)
    sub = await _live_subscription(session, user.id)
    if sub.downgrade_to is None:
        raise Conflict("No downgrade is scheduled.", code="no_downgrade_scheduled")
    try:
        if sub.downgrade_to == SubscriptionTier.FREE:
            await stripe.set_cancel_at_period_end(sub.stripe_subscription_id, False)
            sub.cancel_at_period_end = False
        else:
            plan = await plan_for_price(session, {"id": sub.stripe_price_id})
            if plan is None:
                raise Conflict("The current plan no longer exists.", code="plan_not_found")
            metadata = {"userId": user.id, "planId": plan.id, "type": "subscription"}
            await stripe.switch_price(
                sub.stripe_subscription_id, await _plan_price(stripe, plan, settings), metadata
            )
    except (StripeUnavailable, StripeRequestError) as exc:
        raise provider_error(exc) from None
    sub.downgrade_to = None
    await session.flush()
    return sub


async def cancel_subscription(
    session: AsyncSession, user: User, *, gateway: StripeGateway | None
) -> Subscription:
    """End the subscription when the paid period ends (Stripe stops billing; the job ends it here)."""
    stripe = require_gateway(gateway)
    sub = await _live_subscription(session, user.id)
    try:
        await stripe.set_cancel_at_period_end(sub.stripe_subscription_id, True)
    except (StripeUnavailable, StripeRequestError) as exc:
        raise provider_error(exc) from None
    sub.cancel_at_period_end = True
    await session.flush()
    return sub


async def list_payments(
    session: AsyncSession, user_id: str, *, limit: int = 20, cursor: str | None = None
) -> Page[StripePayment]:
    statement = select(StripePayment).where(StripePayment.user_id == user_id)
    return await newest_first(
        session, statement, StripePayment.created_at, StripePayment.id, limit=limit, cursor=cursor
    )


# ----------------------------------------------------------------------------- trial subscriptions
# Growth's SUBSCRIPTION_TRIAL vouchers start these; the rows are billing's, so billing writes them.
# A trial row looks like one billing made, so the period-end job ends it like any other.

TRIAL_PRICE_ID = "trial"


async def subscription_status(session: AsyncSession, user_id: str) -> SubscriptionStatus | None:
    """The status of the user's subscription row (a user has at most one), if any."""
    status: SubscriptionStatus | None = await session.scalar(
        select(Subscription.status).where(Subscription.user_id == user_id)
    )
    return status


async def start_trial(
    session: AsyncSession,
    user_id: str,
    subscription_id: str,
    tier: SubscriptionTier,
    starts_at: datetime,
    ends_at: datetime,
) -> bool:
    """Create (or replace a CANCELED) subscription row as TRIALING; False when another row is live.

    One conditional upsert: a subscription that appeared meanwhile (another trial, a Stripe
    checkout) makes it insert nothing.
    """
    fields = {
        "stripe_subscription_id": subscription_id,
        "stripe_price_id": TRIAL_PRICE_ID,
        "status": SubscriptionStatus.TRIALING,
        "tier": tier,
        "current_period_start": starts_at,
        "current_period_end": ends_at,
        "cancel_at_period_end": False,
        "downgrade_to": None,
        "tokens_per_month": 0,
        "rollover_tokens": 0,
        "max_rollover": 0,
        "updated_at": starts_at,
    }
    statement = (
        insert(Subscription)
        .values(id=cuid(), user_id=user_id, **fields)
        .on_conflict_do_update(
            index_elements=[Subscription.user_id],
            set_={getattr(Subscription, name): value for name, value in fields.items()},
            where=Subscription.status == SubscriptionStatus.CANCELED,
        )
        .returning(Subscription.id)
    )
    return (await session.execute(statement)).first() is not None


async def subscription_period(
    session: AsyncSession, subscription_id: str
) -> tuple[SubscriptionTier, datetime] | None:
    """The tier and period end of the subscription row with this Stripe id, if it is still there."""
    row = (
        await session.execute(
            select(Subscription.tier, Subscription.current_period_end).where(
                Subscription.stripe_subscription_id == subscription_id
            )
        )
    ).first()
    return (row.tier, row.current_period_end) if row else None
