"""An order's payment through Stripe's signed webhooks: authorised → checked again → captured → PAID
with the cart emptied; the same event ten times at once captures once; a declined card or a
mismatched amount cancels the order; later events change nothing."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from typing import Any

import httpx
from fastapi import FastAPI
from localstripe import resources as ls
from sqlalchemy import select

from spikeland.billing import webhooks
from spikeland.integrations.stripe import make_gateway
from spikeland.merch.models import MerchOrderEvent
from tests.billing.helpers import deliver
from tests.integrations.stripe_peer import StripePeer
from tests.merch.test_cart import CART
from tests.merch.test_checkout import CHECKOUT, _shopper, body
from tests.support import client_of
from tests.support.fixtures import UserClient
from tests.support.mail import mails_to


def _authorize(stripe: StripePeer, intent_id: str, card: str = "4242424242424242") -> dict[str, Any]:
    """What the customer's confirmation makes Stripe send: the event, as the peer answers it."""
    answer = httpx.post(
        f"{stripe.url}/_test/payment_intents/{intent_id}/authorize",
        data={"card": card},
        headers={"Authorization": "Bearer sk_test_x"},
    )
    answer.raise_for_status()
    return dict(answer.json())


async def _apply(app: FastAPI) -> int:
    gateway = make_gateway(app.state.settings)
    return await webhooks.process_pending(
        app.state.sessionmaker, gateway=gateway, settings=app.state.settings
    )


async def _mail(app: FastAPI, number: str) -> EmailMessage:
    """The order's confirmation, sent after the event's transaction committed (so: soon)."""
    subject = f"Your Spike Land order {number} is confirmed"
    for _ in range(100):
        found = mails_to(app.state.settings, "ada@example.com", subject)
        if found:
            assert len(found) == 1
            return found[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"no confirmation of {number}")


async def _events(app: FastAPI, order_id: str) -> list[str]:
    async with app.state.sessionmaker() as session:
        statement = select(MerchOrderEvent.type).where(MerchOrderEvent.order_id == order_id)
        return list((await session.scalars(statement.order_by(MerchOrderEvent.created_at))).all())


async def test_authorised_checked_captured_paid(
    app: FastAPI, user_client: UserClient, stripe: StripePeer
) -> None:
    user, _ = await _shopper(app, user_client, "Ceramic Photo Mug", 2)
    made = (await user.post(CHECKOUT, json=body())).json()
    intent_id = made["clientSecret"].split("_secret_")[0]
    event = _authorize(stripe, intent_id)
    assert event["type"] == "payment_intent.amount_capturable_updated"

    async with client_of(app) as stripe_client:
        answers = await asyncio.gather(*(deliver(stripe_client, event) for _ in range(10)))
    assert {a.status_code for a in answers} == {200}
    assert await _apply(app) == 1

    order = (await user.get(f"/api/v1/merch/orders/{made['orderId']}")).json()
    assert order["status"] == "PAID" and order["paidAt"] is not None
    assert await _events(app, made["orderId"]) == ["ORDER_CREATED", "PAYMENT_CAPTURED"]
    captured = stripe.call(lambda: ls.PaymentIntent._api_retrieve(intent_id)._export())
    assert captured["status"] == "succeeded"
    assert (await user.get(CART)).json()["items"] == []
    mail = await _mail(app, made["orderNumber"])
    text = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Total: £38.97" in text and "2 x Ceramic Photo Mug: £33.98" in text

    # Stripe's own succeeded event, and the authorisation again under a new event id: no change.
    later = {**event, "id": event["id"] + "b"}
    succeeded = {
        **event,
        "id": event["id"] + "c",
        "type": "payment_intent.succeeded",
        "data": {"object": captured},
    }
    async with client_of(app) as stripe_client:
        for again in (later, succeeded):
            assert (await deliver(stripe_client, again)).status_code == 200
    assert await _apply(app) == 2
    assert await _events(app, made["orderId"]) == ["ORDER_CREATED", "PAYMENT_CAPTURED"]


async def test_a_declined_card_cancels_the_order(
    app: FastAPI, user_client: UserClient, stripe: StripePeer
) -> None:
    user, _ = await _shopper(app, user_client, "Ceramic Photo Mug")
    made = (await user.post(CHECKOUT, json=body())).json()
    event = _authorize(stripe, made["clientSecret"].split("_secret_")[0], card="4000000000000341")
    assert event["type"] == "payment_intent.payment_failed"
    async with client_of(app) as stripe_client:
        await deliver(stripe_client, event)
    await _apply(app)
    order = (await user.get(f"/api/v1/merch/orders/{made['orderId']}")).json()
    assert order["status"] == "CANCELLED" and order["paidAt"] is None
    assert await _events(app, made["orderId"]) == ["ORDER_CREATED", "PAYMENT_FAILED"]
    assert (await user.get(CART)).json()["itemCount"] == 1  # the cart stays for another try


async def test_an_amount_that_is_not_the_orders_is_not_captured(
    app: FastAPI, user_client: UserClient, stripe: StripePeer
) -> None:
    user, _ = await _shopper(app, user_client, "Ceramic Photo Mug")
    made = (await user.post(CHECKOUT, json=body())).json()
    intent_id = made["clientSecret"].split("_secret_")[0]
    event = _authorize(stripe, intent_id)
    event["data"]["object"]["amount"] = 1  # as if the intent were for another sum
    async with client_of(app) as stripe_client:
        await deliver(stripe_client, event)
    await _apply(app)
    order = (await user.get(f"/api/v1/merch/orders/{made['orderId']}")).json()
    assert order["status"] == "CANCELLED"
    assert await _events(app, made["orderId"]) == ["ORDER_CREATED", "PAYMENT_MISMATCH"]
    assert stripe.call(lambda: ls.PaymentIntent._api_retrieve(intent_id)._export())["status"] == "canceled"
