"""Subscriptions from checkout to the end: renewals with rollover, upgrade, downgrade, cancel."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import update

from spikeland.billing.models import Subscription, SubscriptionStatus
from spikeland.billing.plans import UNLIMITED_ROLLOVER
from spikeland.billing.tasks import end_of_period
from spikeland.billing.webhooks import process_pending
from spikeland.core.clock import utcnow
from spikeland.db.enums import SubscriptionTier
from spikeland.integrations.stripe import StripeGateway
from spikeland.tokens import service as tokens
from spikeland.tokens.models import TokenTransactionType
from tests.billing.helpers import (
    Sessions,
    balance,
    buy,
    complete,
    deliver,
    end_period,
    invoice_paid,
    movements,
    new_user,
    sign_in,
    spend,
    subscription,
)
from tests.integrations.stripe_peer import StripePeer, event

BASIC, STANDARD, PREMIUM, FREE = (
    SubscriptionTier.BASIC,
    SubscriptionTier.STANDARD,
    SubscriptionTier.PREMIUM,
    SubscriptionTier.FREE,
)


async def subscribe(
    client: httpx.AsyncClient, sessions: Sessions, peer: StripePeer, gateway: StripeGateway, plan: Any
) -> tuple[str, str]:
    """A signed-in user who bought ``plan`` through checkout: (user id, Stripe subscription id)."""
    user_id = await sign_in(client)
    started = await client.post("/api/v1/billing/checkout", json={"planId": plan.id})
    assert started.status_code == 200, started.text
    completed = await complete(peer, started.json()["sessionId"])
    assert (await deliver(client, completed)).status_code == 200
    await process_pending(sessions, gateway=gateway)
    return user_id, completed["data"]["object"]["subscription"]


async def stripe_says(
    client: httpx.AsyncClient, sessions: Sessions, gateway: StripeGateway, type_: str, obj: dict[str, Any]
) -> None:
    assert (await deliver(client, event(type_, obj))).status_code == 200
    await process_pending(sessions, gateway=gateway)


async def test_a_subscription_from_checkout_to_free(
    bclient: httpx.AsyncClient,
    sessions: Sessions,
    peer: StripePeer,
    gateway: StripeGateway,
    catalogue: dict[str, Any],
) -> None:
    hobby = catalogue["price_plan_hobby"]
    user_id, stripe_id = await subscribe(bclient, sessions, peer, gateway, hobby)
    sub = await subscription(sessions, user_id)
    assert (sub.status, sub.tier, sub.stripe_subscription_id, sub.stripe_price_id) == (
        SubscriptionStatus.ACTIVE,
        BASIC,
        stripe_id,
        "price_plan_hobby",
    )
    assert (sub.tokens_per_month, sub.max_rollover, sub.rollover_tokens) == (30, 30, 0)
    remote = await gateway.retrieve_subscription(stripe_id)
    assert int(sub.current_period_end.timestamp()) == remote["items"]["data"][0]["current_period_end"]
    assert remote["metadata"] == {"userId": user_id, "planId": hobby.id, "type": "subscription"}
    # BASIC: the balance rises to its cap of 20 at once, then the month's 30 tokens.
    view = await balance(sessions, user_id)
    assert (view.tier, view.balance) == (BASIC, 50)
    earned = await movements(sessions, user_id, TokenTransactionType.EARN_PURCHASE)
    assert [(m.amount, m.source) for m in earned] == [(10, "subscription"), (30, "subscription")]

    again = await bclient.post("/api/v1/billing/checkout", json={"planId": catalogue["price_plan_studio"].id})
    assert (again.status_code, again.json()["error"]["code"]) == (409, "subscription_exists")

    # The first invoice was the checkout's: it credits nothing more.
    await stripe_says(
        bclient,
        sessions,
        gateway,
        "invoice.paid",
        invoice_paid(stripe_id, "subscription_create", sub.current_period_start, sub.current_period_end)[
            "data"
        ]["object"],
    )
    assert (await balance(sessions, user_id)).balance == 50

    # Renewal 1, nothing spent: the whole 30 rolls over (maxRollover 30).
    start, end = await end_period(sessions, user_id)
    first = invoice_paid(stripe_id, "subscription_cycle", start, end)
    await stripe_says(bclient, sessions, gateway, "invoice.paid", first["data"]["object"])
    renewal = (await movements(sessions, user_id, TokenTransactionType.EARN_PURCHASE))[-1]
    assert (renewal.amount, renewal.source, renewal.source_id) == (
        30,
        "subscription_renewal",
        first["data"]["object"]["id"],
    )
    assert {k: renewal.metadata_[k] for k in ("monthlyTokens", "rolledOver", "forfeited")} == {
        "monthlyTokens": 30,
        "rolledOver": 30,
        "forfeited": 0,
    }
    assert (await balance(sessions, user_id)).balance == 80
    sub = await subscription(sessions, user_id)
    assert (sub.rollover_tokens, sub.current_period_start, sub.current_period_end) == (30, start, end)

    # Renewal 2: the allowance was 30 + 30; 5 were spent and 50 bought. 55 unused: 30 roll over,
    # 25 lapse; the bought tokens are untouched. Net +5.
    await spend(sessions, user_id, 5)
    await buy(sessions, user_id, 50)
    start, end = await end_period(sessions, user_id)
    second = invoice_paid(stripe_id, "subscription_cycle", start, end)
    await stripe_says(bclient, sessions, gateway, "invoice.paid", second["data"]["object"])
    renewal = (await movements(sessions, user_id, TokenTransactionType.EARN_PURCHASE))[-1]
    assert renewal.amount == 5
    assert {k: renewal.metadata_[k] for k in ("monthlyTokens", "rolledOver", "forfeited")} == {
        "monthlyTokens": 30,
        "rolledOver": 30,
        "forfeited": 25,
    }
    assert (await balance(sessions, user_id)).balance == 125 + 5
    # The same invoice again (a new event id, as a manual resend would have) changes nothing.
    await stripe_says(bclient, sessions, gateway, "invoice.paid", second["data"]["object"])
    assert (await balance(sessions, user_id)).balance == 130

    # Upgrade on Stripe's side (the customer portal): takes effect at once, balance to the cap.
    await spend(sessions, user_id, 90)
    studio_price = await gateway.ensure_price(
        lookup_key="price_plan_studio", unit_amount=2999, currency="gbp", name="Studio", recurring=True
    )
    upgraded = await gateway.switch_price(stripe_id, studio_price, {"userId": user_id})
    await stripe_says(bclient, sessions, gateway, "customer.subscription.updated", upgraded)
    sub = await subscription(sessions, user_id)
    assert (sub.tier, sub.tokens_per_month, sub.max_rollover) == (PREMIUM, 300, UNLIMITED_ROLLOVER)
    view = await balance(sessions, user_id)
    assert (view.tier, view.balance) == (PREMIUM, 100)
    top_up = (await movements(sessions, user_id, TokenTransactionType.EARN_PURCHASE))[-1]
    assert (top_up.amount, top_up.source) == (60, "subscription_upgrade")

    # Downgrade: scheduled (Stripe bills the lower price from the next period), executed at period end.
    scheduled = await bclient.post("/api/v1/billing/subscription/downgrade", json={"tier": "BASIC"})
    assert scheduled.status_code == 200, scheduled.text
    assert (scheduled.json()["tier"], scheduled.json()["downgradeTo"]) == ("PREMIUM", "BASIC")
    remote = await gateway.retrieve_subscription(stripe_id)
    assert remote["items"]["data"][0]["price"]["lookup_key"] == "price_plan_hobby"
    await stripe_says(bclient, sessions, gateway, "customer.subscription.updated", remote)
    sub = await subscription(sessions, user_id)
    assert (sub.tier, sub.downgrade_to) == (PREMIUM, BASIC)
    await end_of_period(sessions)  # not yet due
    assert (await subscription(sessions, user_id)).tier == PREMIUM

    async with sessions() as session, session.begin():
        await session.execute(
            update(Subscription)
            .where(Subscription.user_id == user_id)
            .values(current_period_end=utcnow() - timedelta(minutes=1))
        )
    runs = await asyncio.gather(end_of_period(sessions), end_of_period(sessions))
    assert sum(run.get("downgraded", 0) for run in runs) == 1
    assert "downgraded" not in await end_of_period(sessions)
    sub = await subscription(sessions, user_id)
    assert (sub.tier, sub.downgrade_to, sub.tokens_per_month, sub.max_rollover, sub.stripe_price_id) == (
        BASIC,
        None,
        30,
        30,
        "price_plan_hobby",
    )
    view = await balance(sessions, user_id)
    assert (view.tier, view.balance) == (BASIC, 100)  # a downgrade keeps the balance

    # Deleted on Stripe: CANCELED, tier FREE; a new plan may be bought.
    deleted = json.loads(str(await gateway.client.v1.subscriptions.cancel_async(stripe_id)))
    await stripe_says(bclient, sessions, gateway, "customer.subscription.deleted", deleted)
    sub = await subscription(sessions, user_id)
    assert sub.status == SubscriptionStatus.CANCELED
    view = await balance(sessions, user_id)
    assert (view.tier, view.balance) == (FREE, 100)
    fresh = await bclient.post("/api/v1/billing/checkout", json={"planId": hobby.id})
    assert fresh.status_code == 200


async def test_cancel_at_period_end(
    bclient: httpx.AsyncClient,
    sessions: Sessions,
    peer: StripePeer,
    gateway: StripeGateway,
    catalogue: dict[str, Any],
) -> None:
    user_id, stripe_id = await subscribe(bclient, sessions, peer, gateway, catalogue["price_plan_creator"])
    assert (await balance(sessions, user_id)).tier == STANDARD
    canceled = await bclient.post("/api/v1/billing/subscription/cancel")
    assert canceled.status_code == 200 and canceled.json()["cancelAtPeriodEnd"] is True
    remote = await gateway.retrieve_subscription(stripe_id)
    assert remote["cancel_at_period_end"] is True
    await stripe_says(bclient, sessions, gateway, "customer.subscription.updated", remote)
    assert (await subscription(sessions, user_id)).status == SubscriptionStatus.ACTIVE  # until period end

    await end_period(sessions, user_id)
    assert (await end_of_period(sessions)).get("canceled", 0) >= 1
    assert (await subscription(sessions, user_id)).status == SubscriptionStatus.CANCELED
    assert (await balance(sessions, user_id)).tier == FREE
    again = await bclient.post("/api/v1/billing/subscription/cancel")
    assert (again.status_code, again.json()["error"]["code"]) == (404, "no_active_subscription")


async def test_a_scheduled_downgrade_can_be_taken_back(
    bclient: httpx.AsyncClient,
    sessions: Sessions,
    peer: StripePeer,
    gateway: StripeGateway,
    catalogue: dict[str, Any],
) -> None:
    user_id, stripe_id = await subscribe(bclient, sessions, peer, gateway, catalogue["price_plan_creator"])
    url = "/api/v1/billing/subscription/downgrade"
    same = await bclient.post(url, json={"tier": "STANDARD"})
    assert (same.status_code, same.json()["error"]["code"]) == (422, "not_a_downgrade")
    nothing = await bclient.delete(url)
    assert (nothing.status_code, nothing.json()["error"]["code"]) == (409, "no_downgrade_scheduled")

    to_free = await bclient.post(url, json={"tier": "FREE"})
    assert to_free.json()["downgradeTo"] == "FREE" and to_free.json()["cancelAtPeriodEnd"] is True
    assert (await gateway.retrieve_subscription(stripe_id))["cancel_at_period_end"] is True
    kept = await bclient.delete(url)
    assert kept.json()["downgradeTo"] is None and kept.json()["cancelAtPeriodEnd"] is False
    assert (await gateway.retrieve_subscription(stripe_id))["cancel_at_period_end"] is False

    await bclient.post(url, json={"tier": "BASIC"})
    price = (await gateway.retrieve_subscription(stripe_id))["items"]["data"][0]["price"]
    assert price["lookup_key"] == "price_plan_hobby"
    await bclient.delete(url)
    remote = await gateway.retrieve_subscription(stripe_id)
    assert remote["items"]["data"][0]["price"]["lookup_key"] == "price_plan_creator"
    # Stripe's events for both switches, in order, leave the subscription as it is now.
    await stripe_says(bclient, sessions, gateway, "customer.subscription.updated", remote)
    sub = await subscription(sessions, user_id)
    assert (sub.tier, sub.downgrade_to) == (STANDARD, None)
    current = await bclient.get("/api/v1/billing/subscription")
    assert current.json()["tier"] == "STANDARD" and current.json()["downgradeTo"] is None


async def test_status_changes_from_stripe(
    bclient: httpx.AsyncClient,
    sessions: Sessions,
    peer: StripePeer,
    gateway: StripeGateway,
    catalogue: dict[str, Any],
) -> None:
    user_id, stripe_id = await subscribe(bclient, sessions, peer, gateway, catalogue["price_plan_hobby"])
    remote = await gateway.retrieve_subscription(stripe_id)
    await stripe_says(
        bclient, sessions, gateway, "customer.subscription.updated", {**remote, "status": "past_due"}
    )
    assert (await subscription(sessions, user_id)).status == SubscriptionStatus.PAST_DUE
    assert (await balance(sessions, user_id)).tier == BASIC  # Stripe is still retrying the payment
    await stripe_says(
        bclient, sessions, gateway, "customer.subscription.updated", {**remote, "status": "canceled"}
    )
    assert (await subscription(sessions, user_id)).status == SubscriptionStatus.CANCELED
    assert (await balance(sessions, user_id)).tier == FREE


async def test_an_expired_trial_ends_once(sessions: Sessions) -> None:
    """A voucher trial (contract (b)) ends at its period end like any subscription."""
    user_id = await new_user(sessions)
    now = utcnow()
    async with sessions() as session, session.begin():
        session.add(
            Subscription(
                user_id=user_id,
                stripe_subscription_id=f"trial_v1_{user_id}",
                stripe_price_id="trial",
                status=SubscriptionStatus.TRIALING,
                tier=STANDARD,
                current_period_start=now - timedelta(days=7),
                current_period_end=now - timedelta(seconds=5),
                tokens_per_month=0,
            )
        )
        await tokens.change_tier(session, user_id, STANDARD, raise_to_cap=True, source="voucher")
    assert (await balance(sessions, user_id)).balance == 50
    runs = await asyncio.gather(end_of_period(sessions), end_of_period(sessions))
    assert sum(run.get("trials_ended", 0) for run in runs) >= 1
    assert (await subscription(sessions, user_id)).status == SubscriptionStatus.CANCELED
    view = await balance(sessions, user_id)
    assert (view.tier, view.balance) == (FREE, 50)


async def test_a_second_paid_subscription_is_flagged_not_swapped_in(
    bclient: httpx.AsyncClient,
    sessions: Sessions,
    peer: StripePeer,
    gateway: StripeGateway,
    catalogue: dict[str, Any],
) -> None:
    """Two checkouts paid at once: the first subscription stays; the second is left to an operator."""
    hobby = catalogue["price_plan_hobby"]
    user_id, stripe_id = await subscribe(bclient, sessions, peer, gateway, hobby)
    remote = await gateway.retrieve_subscription(stripe_id)
    price = remote["items"]["data"][0]["price"]["id"]
    second = json.loads(
        str(
            await gateway.client.v1.subscriptions.create_async(
                {"customer": remote["customer"], "items": [{"price": price}]}
            )
        )
    )
    completed = event(
        "checkout.session.completed",
        {
            "id": "cs_test_second",
            "object": "checkout.session",
            "mode": "subscription",
            "payment_status": "paid",
            "subscription": second["id"],
            "metadata": {"userId": user_id, "planId": hobby.id, "type": "subscription"},
        },
    )
    await deliver(bclient, completed)
    await process_pending(sessions, gateway=gateway)
    assert (await subscription(sessions, user_id)).stripe_subscription_id == stripe_id
    assert (await balance(sessions, user_id)).balance == 50  # no second month of tokens
