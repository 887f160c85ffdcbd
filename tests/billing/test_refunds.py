"""charge.refunded: the refunded share of the tokens is taken back, never below zero."""

from __future__ import annotations

import json
from typing import Any

import httpx

from spikeland.billing.models import StripePaymentStatus
from spikeland.billing.webhooks import process_pending
from spikeland.integrations.stripe import StripeGateway
from spikeland.tokens.models import TokenTransactionType
from tests.billing.helpers import (
    Sessions,
    balance,
    complete,
    deliver,
    inbox,
    movements,
    payments,
    sign_in,
    spend,
)
from tests.integrations.stripe_peer import StripePeer, event


async def buy_pack(
    client: httpx.AsyncClient, sessions: Sessions, peer: StripePeer, gateway: StripeGateway, package: Any
) -> tuple[str, str]:
    """A user who bought ``package`` through checkout: (user id, payment intent id)."""
    user_id = await sign_in(client)
    started = await client.post("/api/v1/billing/checkout", json={"packageId": package.id})
    completed = await complete(peer, started.json()["sessionId"])
    await deliver(client, completed)
    await process_pending(sessions, gateway=gateway)
    return user_id, completed["data"]["object"]["payment_intent"]


async def refund(gateway: StripeGateway, intent: str, amount: int | None = None) -> dict[str, Any]:
    """Refund on Stripe; returns the charge as the charge.refunded event carries it."""
    params: dict[str, Any] = {"payment_intent": intent} | ({"amount": amount} if amount else {})
    await gateway.client.v1.refunds.create_async(params)  # type: ignore[arg-type]
    paid = json.loads(str(await gateway.client.v1.payment_intents.retrieve_async(intent)))
    charge = paid["latest_charge"]
    charge_id = charge["id"] if isinstance(charge, dict) else charge
    return dict(json.loads(str(await gateway.client.v1.charges.retrieve_async(charge_id))))


async def test_a_refund_after_the_tokens_were_spent_records_the_shortfall(
    bclient: httpx.AsyncClient,
    sessions: Sessions,
    peer: StripePeer,
    gateway: StripeGateway,
    catalogue: dict[str, Any],
) -> None:
    user_id, intent = await buy_pack(bclient, sessions, peer, gateway, catalogue["price_tokens_50"])
    assert (await balance(sessions, user_id)).balance == 60
    await spend(sessions, user_id, 55)

    charge = await refund(gateway, intent)
    assert (charge["amount"], charge["amount_refunded"], charge["payment_intent"]) == (999, 999, intent)
    assert (await deliver(bclient, event("charge.refunded", charge))).status_code == 200
    await process_pending(sessions, gateway=gateway)

    [payment] = await payments(sessions, user_id)
    assert payment.status == StripePaymentStatus.REFUNDED
    assert (payment.metadata_["tokensReversed"], payment.metadata_["shortfall"]) == (50, 45)
    [taken] = await movements(sessions, user_id, TokenTransactionType.REFUND)
    assert (taken.amount, taken.source, taken.source_id) == (-5, "stripe_refund", charge["id"])
    assert (taken.metadata_["requested"], taken.metadata_["shortfall"]) == (50, 45)
    assert (await balance(sessions, user_id)).balance == 0


async def test_partial_refunds_take_back_their_share(
    bclient: httpx.AsyncClient,
    sessions: Sessions,
    peer: StripePeer,
    gateway: StripeGateway,
    catalogue: dict[str, Any],
) -> None:
    user_id, intent = await buy_pack(bclient, sessions, peer, gateway, catalogue["price_tokens_150"])
    first = await refund(gateway, intent, 1000)  # of 2499
    await deliver(bclient, event("charge.refunded", first))
    await process_pending(sessions, gateway=gateway)
    assert (await balance(sessions, user_id)).balance == 160 - 150 * 1000 // 2499

    rest = await refund(gateway, intent, 1499)
    assert rest["amount_refunded"] == 2499
    await deliver(bclient, event("charge.refunded", rest))
    await process_pending(sessions, gateway=gateway)
    taken = await movements(sessions, user_id, TokenTransactionType.REFUND)
    assert [(m.amount, m.source_id) for m in taken] == [(-60, first["id"]), (-90, f"{first['id']}:2499")]
    assert (await balance(sessions, user_id)).balance == 10
    [payment] = await payments(sessions, user_id)
    assert (payment.status, payment.metadata_["tokensReversed"], payment.metadata_["shortfall"]) == (
        StripePaymentStatus.REFUNDED,
        150,
        0,
    )


async def test_a_refunded_charge_that_bought_no_tokens_changes_nothing(
    bclient: httpx.AsyncClient, sessions: Sessions, gateway: StripeGateway
) -> None:
    charge = {
        "id": "ch_not_ours",
        "object": "charge",
        "amount": 499,
        "amount_refunded": 499,
        "payment_intent": "pi_subscription_invoice",
    }
    sent = event("charge.refunded", charge)
    assert (await deliver(bclient, sent)).status_code == 200
    await process_pending(sessions, gateway=gateway)
    [row] = await inbox(sessions, sent["id"])
    assert row.processed
