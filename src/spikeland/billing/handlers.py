"""What each Stripe event does. One handler per event type, each in the worker's transaction.

Handlers are safe to repeat: the inbox hands each event to one worker once, and every token
movement carries a source id the ledger applies only once. They raise ``BadEvent`` for content
that can never be applied (recorded, not retried); any other error leaves the event for a retry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.billing import events as ev
from spikeland.billing import hooks
from spikeland.billing import subscriptions as subs
from spikeland.billing.events import BadEvent
from spikeland.billing.models import (
    StripePayment,
    StripePaymentStatus,
    Subscription,
    SubscriptionPlan,
    SubscriptionStatus,
)
from spikeland.billing.plans import plan_for_price, tier_of
from spikeland.core.clock import utcnow
from spikeland.db.enums import SubscriptionTier
from spikeland.identity.models import User
from spikeland.integrations.stripe import StripeGateway
from spikeland.settings import Settings
from spikeland.tokens import service as tokens
from spikeland.tokens.costs import is_upgrade
from spikeland.tokens.models import TokensPackage, TokenTransactionType

STATUS = {
    "active": SubscriptionStatus.ACTIVE,
    "trialing": SubscriptionStatus.TRIALING,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.UNPAID,
    "incomplete": SubscriptionStatus.UNPAID,  # first payment not made yet
    "paused": SubscriptionStatus.UNPAID,  # no payment is being collected
    "canceled": SubscriptionStatus.CANCELED,
    "incomplete_expired": SubscriptionStatus.CANCELED,
}


@dataclass(frozen=True)
class Context:
    event_id: str
    gateway: StripeGateway | None
    settings: Settings


Handler = Callable[[AsyncSession, Context, dict[str, Any]], Awaitable[str]]


async def _user(session: AsyncSession, meta: dict[str, str]) -> str:
    user_id = meta.get("userId")
    if not user_id or await session.get(User, user_id) is None:
        raise BadEvent(f"no user {user_id!r} in the metadata")
    return user_id


async def _stripe_subscription(ctx: Context, subscription_id: str) -> dict[str, Any]:
    if ctx.gateway is None:
        # Not the event's fault: it stays in the inbox until the key is configured.
        raise RuntimeError("SPIKELAND_STRIPE_SECRET_KEY is not set; cannot read the subscription")
    return await ctx.gateway.retrieve_subscription(subscription_id)


# ----------------------------------------------------------------------------- checkout


async def checkout_completed(session: AsyncSession, ctx: Context, payload: dict[str, Any]) -> str:
    checkout = ev.data_object(payload)
    if checkout.get("payment_status") not in ("paid", "no_payment_required"):
        return "not paid yet (an asynchronous payment method): waiting for async_payment_succeeded"
    meta = ev.metadata(checkout)
    if checkout.get("mode") == "payment":
        return await _pack_paid(session, checkout, meta)
    if checkout.get("mode") == "subscription":
        return await _plan_started(session, ctx, checkout, meta)
    raise BadEvent(f"checkout mode {checkout.get('mode')!r} is not ours")


async def _pack_paid(session: AsyncSession, checkout: dict[str, Any], meta: dict[str, str]) -> str:
    user_id = await _user(session, meta)
    package = await session.get(TokensPackage, meta.get("packageId", ""))
    if package is None:
        raise BadEvent(f"no token package {meta.get('packageId')!r}")
    granted = int(meta["tokens"]) if meta.get("tokens", "").isdigit() else package.tokens
    session_id = ev.text(checkout, "id")
    intent = ev.optional_text(checkout, "payment_intent") or session_id
    amount = ev.integer(checkout, "amount_total")
    record = {
        "sessionId": session_id,
        "customer": ev.optional_text(checkout, "customer"),
        "currency": checkout.get("currency"),
    }
    # A payment that failed first and then succeeded (same intent) turns its FAILED row into
    # SUCCEEDED; a row that already succeeded or was refunded is left alone.
    statement = insert(StripePayment).values(
        user_id=user_id,
        package_id=package.id,
        tokens_granted=granted,
        amount_usd=ev.money(amount),
        stripe_payment_intent_id=intent,
        status=StripePaymentStatus.SUCCEEDED,
        metadata_=record,
        updated_at=utcnow(),
    )
    statement = statement.on_conflict_do_update(
        index_elements=[StripePayment.stripe_payment_intent_id],
        set_={
            "status": statement.excluded.status,
            "tokensGranted": statement.excluded.tokensGranted,
            "amountUSD": statement.excluded.amountUSD,
            "packageId": statement.excluded.packageId,
            "metadata": statement.excluded.metadata,
            "updatedAt": statement.excluded.updatedAt,
        },
        where=StripePayment.status.in_([StripePaymentStatus.PENDING, StripePaymentStatus.FAILED]),
    )
    await session.execute(statement)
    movement = await tokens.credit(
        session,
        user_id,
        granted,
        TokenTransactionType.EARN_PURCHASE,
        source="stripe",
        source_id=intent,
        metadata={"packageId": package.id, "sessionId": session_id, "amountPaid": amount},
    )
    if movement.applied:
        # A voucher bonus on the purchase, among others: growth registers on this hook.
        await hooks.run_tokens_purchased_hooks(session, user_id, granted, intent)
        currency = str(checkout.get("currency") or "gbp").upper()
        await hooks.run_payment_hooks(session, user_id, Decimal(amount) / 100, currency, f"stripe:{intent}")
    return f"{granted} tokens for {user_id}" if movement.applied else "already credited"


async def _plan_started(
    session: AsyncSession, ctx: Context, checkout: dict[str, Any], meta: dict[str, str]
) -> str:
    user_id = await _user(session, meta)
    plan = await session.get(SubscriptionPlan, meta.get("planId", ""))
    if plan is None:
        raise BadEvent(f"no subscription plan {meta.get('planId')!r}")
    stripe_id = ev.text(checkout, "subscription")
    remote = await _stripe_subscription(ctx, stripe_id)
    start, end = ev.subscription_period(remote)
    sub = await subs.lock_for_user(session, user_id)
    live = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE, SubscriptionStatus.UNPAID)
    if sub is not None and sub.status in live and sub.stripe_subscription_id != stripe_id:
        # Two checkouts paid at once: both Stripe subscriptions bill. Keep the first; an operator
        # must cancel and refund the second (error_logs says which).
        raise BadEvent(f"{user_id} already has {sub.stripe_subscription_id}; {stripe_id} is a duplicate")
    if sub is None:
        sub = Subscription(user_id=user_id, rollover_tokens=0)
        session.add(sub)
    # A trial or an ended subscription of this user is replaced by the paid one (one row per user).
    sub.stripe_subscription_id = stripe_id
    sub.status = STATUS.get(str(remote.get("status")), SubscriptionStatus.ACTIVE)
    if sub.status in (SubscriptionStatus.UNPAID, SubscriptionStatus.CANCELED):
        sub.status = SubscriptionStatus.ACTIVE  # the checkout was paid
    subs.apply_plan(sub, plan)
    sub.current_period_start, sub.current_period_end = start, end
    sub.cancel_at_period_end = bool(remote.get("cancel_at_period_end"))
    sub.downgrade_to = None
    sub.rollover_tokens = 0
    await session.flush()

    tier = tier_of(plan)
    current = (await tokens.get_balance(session, user_id)).tier
    await tokens.change_tier(
        session,
        user_id,
        tier,
        raise_to_cap=is_upgrade(current, tier),
        source="subscription",
        source_id=f"{ctx.event_id}:tier",
        metadata={"planId": plan.id, "subscriptionId": stripe_id},
    )
    if plan.tokens_per_month > 0:
        await tokens.credit(
            session,
            user_id,
            plan.tokens_per_month,
            TokenTransactionType.EARN_PURCHASE,
            source="subscription",
            source_id=f"{stripe_id}:initial",
            metadata={"planId": plan.id, "subscriptionId": stripe_id, "period": "initial"},
        )
    return f"{plan.name} ({tier.value}) for {user_id}"


# ----------------------------------------------------------------------------- subscriptions


async def invoice_paid(session: AsyncSession, ctx: Context, payload: dict[str, Any]) -> str:
    invoice = ev.data_object(payload)
    if invoice.get("billing_reason") == "subscription_create":
        return "first invoice: the checkout already credited it"
    stripe_id = ev.invoice_subscription_id(invoice)
    if stripe_id is None:
        return "not a subscription invoice"
    sub = await subs.lock_by_stripe_id(session, stripe_id)
    if sub is None:
        raise BadEvent(f"no subscription {stripe_id}")
    period = ev.invoice_period(invoice)
    if period is None:
        period = ev.subscription_period(await _stripe_subscription(ctx, stripe_id))
    start, end = period
    if end <= sub.current_period_end:
        return "no new period (a proration, or already renewed)"
    meta = await subs.renew(session, sub, invoice_id=ev.text(invoice, "id"), start=start, end_=end)
    return f"renewed: {meta}"


async def subscription_updated(session: AsyncSession, ctx: Context, payload: dict[str, Any]) -> str:
    remote = ev.data_object(payload)
    sub = await subs.lock_by_stripe_id(session, ev.text(remote, "id"))
    if sub is None:
        return "unknown subscription (its checkout creates it)"
    status = STATUS.get(str(remote.get("status")), sub.status)
    if status == SubscriptionStatus.CANCELED:
        if sub.status != SubscriptionStatus.CANCELED:
            await subs.end(session, sub, reason="stripe_canceled")
        return "canceled"
    sub.status = status
    sub.cancel_at_period_end = bool(remote.get("cancel_at_period_end"))
    if sub.downgrade_to == SubscriptionTier.FREE and not sub.cancel_at_period_end:
        sub.downgrade_to = None  # the cancellation was taken back
    start, end = ev.subscription_period(remote)
    # A new period is invoice.paid's to open (with the month's tokens); dates within the
    # current period (an anchor moved, a trial shortened) are taken as they are.
    if start < sub.current_period_end:
        sub.current_period_start, sub.current_period_end = start, end

    outcome = f"status {sub.status.value}"
    plan = await plan_for_price(session, ev.subscription_price(remote))
    if plan is not None and plan.stripe_price_id != sub.stripe_price_id:
        tier = tier_of(plan)
        if is_upgrade(sub.tier, tier):
            subs.apply_plan(sub, plan)
            sub.downgrade_to = None
            await session.flush()
            await tokens.change_tier(
                session,
                sub.user_id,
                tier,
                raise_to_cap=True,
                source="subscription_upgrade",
                source_id=f"{ctx.event_id}:tier",
                metadata={"planId": plan.id, "subscriptionId": sub.stripe_subscription_id},
            )
            outcome += f", upgraded to {tier.value}"
        elif tier != sub.tier:
            sub.downgrade_to = tier  # at period end (tasks.end_of_period)
            outcome += f", downgrade to {tier.value} at period end"
        else:
            subs.apply_plan(sub, plan)
    elif plan is not None and sub.downgrade_to not in (None, SubscriptionTier.FREE):
        sub.downgrade_to = None  # back on the current plan: the scheduled downgrade was taken back
    await session.flush()
    return outcome


async def subscription_deleted(session: AsyncSession, ctx: Context, payload: dict[str, Any]) -> str:
    remote = ev.data_object(payload)
    sub = await subs.lock_by_stripe_id(session, ev.text(remote, "id"))
    if sub is None:
        return "unknown subscription"
    await subs.end(session, sub, reason="stripe_deleted")
    return "ended: tier FREE"


# ----------------------------------------------------------------------------- payments


async def _lock_payment(session: AsyncSession, intent_id: str) -> StripePayment | None:
    statement = (
        select(StripePayment)
        .where(StripePayment.stripe_payment_intent_id == intent_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).first()


async def charge_refunded(session: AsyncSession, ctx: Context, payload: dict[str, Any]) -> str:
    """Take back the refunded share of the tokens (never below zero; a shortfall is recorded).

    ``amount_refunded`` is cumulative, so each partial refund takes back only what the earlier
    ones did not; the first reversal of a charge has the charge id as its source id, later ones
    ``charge:amount_refunded``.
    """
    charge = ev.data_object(payload)
    charge_id = ev.text(charge, "id")
    intent = ev.optional_text(charge, "payment_intent")
    payment = await _lock_payment(session, intent) if intent else None
    if payment is None:
        elsewhere = await hooks.run_charge_refunded_handlers(session, charge)
        return elsewhere or "no token purchase for this charge (a subscription payment, or not ours)"
    amount, refunded = ev.integer(charge, "amount"), ev.integer(charge, "amount_refunded")
    if amount <= 0 or refunded < 0:
        raise BadEvent("charge amounts are not valid")
    target = payment.tokens_granted if refunded >= amount else payment.tokens_granted * refunded // amount
    record: dict[str, Any] = dict(payment.metadata_ or {})
    already = int(record.get("tokensReversed", 0))
    shortfall = int(record.get("shortfall", 0))
    if target > already:
        movement = await tokens.reverse(
            session,
            payment.user_id,
            target - already,
            source="stripe_refund",
            source_id=charge_id if already == 0 else f"{charge_id}:{refunded}",
            metadata={
                "chargeId": charge_id,
                "paymentIntentId": intent,
                "amountRefunded": refunded,
                "amount": amount,
            },
        )
        shortfall += int((movement.metadata or {}).get("shortfall", 0))
    payment.status = StripePaymentStatus.REFUNDED
    payment.metadata_ = {
        **record,
        "tokensReversed": max(target, already),
        "amountRefunded": refunded,
        "shortfall": shortfall,
        "chargeId": charge_id,
    }
    await session.flush()
    return f"refunded {refunded}/{amount}: {target} tokens taken back, shortfall {shortfall}"


async def payment_intent_event(session: AsyncSession, ctx: Context, payload: dict[str, Any]) -> str:
    """An intent event for the domain that registered the intent's ``metadata.type``."""
    intent = ev.data_object(payload)
    handler = hooks.intent_handler(ev.metadata(intent).get("type"))
    if handler is None:
        return "not an intent a domain registered"
    return await handler(
        session, str(payload.get("type")), intent, hooks.IntentContext(ctx.gateway, ctx.settings)
    )


async def payment_failed(session: AsyncSession, ctx: Context, payload: dict[str, Any]) -> str:
    intent = ev.data_object(payload)
    if hooks.intent_handler(ev.metadata(intent).get("type")) is not None:
        return await payment_intent_event(session, ctx, payload)
    intent_id = ev.text(intent, "id")
    error = intent.get("last_payment_error")
    error = error if isinstance(error, dict) else {}
    failure = {"code": error.get("code"), "message": error.get("message")}
    payment = await _lock_payment(session, intent_id)
    if payment is not None:
        if payment.status != StripePaymentStatus.PENDING:
            return f"payment already {payment.status.value}"
        payment.status = StripePaymentStatus.FAILED
        payment.metadata_ = {**(payment.metadata_ or {}), "failure": failure}
        await session.flush()
        return "FAILED"
    meta = ev.metadata(intent)
    if meta.get("type") != "token_purchase":
        return "not a token purchase"
    user_id = await _user(session, meta)
    package = await session.get(TokensPackage, meta.get("packageId", ""))
    if package is None:
        raise BadEvent(f"no token package {meta.get('packageId')!r}")
    session.add(
        StripePayment(
            user_id=user_id,
            package_id=package.id,
            tokens_granted=0,  # nothing was granted: tokens come only with SUCCEEDED
            amount_usd=ev.money(ev.integer(intent, "amount")),
            stripe_payment_intent_id=intent_id,
            status=StripePaymentStatus.FAILED,
            metadata_={"failure": failure, "tokens": package.tokens},
        )
    )
    await session.flush()
    return "FAILED (recorded)"


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": checkout_completed,
    "checkout.session.async_payment_succeeded": checkout_completed,
    "invoice.paid": invoice_paid,
    "customer.subscription.updated": subscription_updated,
    "customer.subscription.deleted": subscription_deleted,
    "charge.refunded": charge_refunded,
    "payment_intent.payment_failed": payment_failed,
    "payment_intent.amount_capturable_updated": payment_intent_event,
    "payment_intent.succeeded": payment_intent_event,
    "payment_intent.canceled": payment_intent_event,
}
