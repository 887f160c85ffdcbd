"""Cancelling and refunding orders: nothing taken for a PENDING one, everything given back for a paid
one, once; the owner and admins only; the admin's order list and detail with events."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from localstripe import resources as ls

from spikeland.identity.models import UserRole
from tests.billing.helpers import deliver
from tests.integrations.stripe_peer import StripePeer
from tests.merch.test_checkout import CHECKOUT, _shopper, body
from tests.merch.test_payment import _apply, _authorize, _events
from tests.support import client_of
from tests.support.fixtures import UserClient

ADMIN = "/api/v1/admin/merch/orders"


async def _order(
    app: FastAPI, user_client: UserClient, stripe: StripePeer, *, paid: bool
) -> tuple[httpx.AsyncClient, dict[str, Any]]:
    user, _ = await _shopper(app, user_client, "Ceramic Photo Mug")
    made = (await user.post(CHECKOUT, json=body())).json()
    if paid:
        async with client_of(app) as webhook:
            await deliver(webhook, _authorize(stripe, made["clientSecret"].split("_secret_")[0]))
        await _apply(app)
    return user, made


def _intent(stripe: StripePeer, made: dict[str, Any]) -> dict[str, Any]:
    intent_id = made["clientSecret"].split("_secret_")[0]
    return dict(stripe.call(lambda: ls.PaymentIntent._api_retrieve(intent_id)._export()))


async def test_a_pending_order_is_cancelled_and_nothing_taken(
    app: FastAPI, user_client: UserClient, stripe: StripePeer
) -> None:
    user, made = await _order(app, user_client, stripe, paid=False)
    stranger, _ = await user_client()
    assert (await stranger.post(f"/api/v1/merch/orders/{made['orderId']}/cancel")).status_code == 404
    cancelled = await user.post(
        f"/api/v1/merch/orders/{made['orderId']}/cancel", json={"reason": "Wrong size"}
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELLED"
    assert _intent(stripe, made)["status"] == "canceled"
    again = await user.post(f"/api/v1/merch/orders/{made['orderId']}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "order_not_changeable"
    assert await _events(app, made["orderId"]) == ["ORDER_CREATED", "ORDER_CANCELLED"]


async def test_a_paid_order_cancelled_is_refunded_once(
    app: FastAPI, user_client: UserClient, stripe: StripePeer
) -> None:
    user, made = await _order(app, user_client, stripe, paid=True)
    cancelled = await user.post(f"/api/v1/merch/orders/{made['orderId']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "REFUNDED"
    assert await _events(app, made["orderId"]) == [
        "ORDER_CREATED",
        "PAYMENT_CAPTURED",
        "ORDER_CANCELLED",
        "REFUNDED",
    ]
    intent_id = made["clientSecret"].split("_secret_")[0]
    refunds = stripe.call(
        lambda: [
            r
            for r in ls.store.values()
            if getattr(r, "object", None) == "refund" and r.payment_intent == intent_id
        ]
    )
    assert len(refunds) == 1 and refunds[0].amount == 1699 + 499


async def test_admins_list_refund_and_see_events(
    app: FastAPI, user_client: UserClient, stripe: StripePeer
) -> None:
    admin, _ = await user_client(UserRole.ADMIN)
    _, paid = await _order(app, user_client, stripe, paid=True)
    user, pending = await _order(app, user_client, stripe, paid=False)

    listed = (await admin.get(ADMIN, params={"status": "PAID"})).json()["items"]
    assert paid["orderId"] in [o["id"] for o in listed] and pending["orderId"] not in [
        o["id"] for o in listed
    ]
    detail = (await admin.get(f"{ADMIN}/{paid['orderId']}")).json()
    assert [e["type"] for e in detail["events"]] == ["ORDER_CREATED", "PAYMENT_CAPTURED"]
    assert detail["stripePaymentStatus"] == "succeeded"

    refunded = await admin.post(f"{ADMIN}/{paid['orderId']}/refund")
    assert refunded.status_code == 200 and refunded.json()["status"] == "REFUNDED"
    twice = await admin.post(f"{ADMIN}/{paid['orderId']}/refund")
    assert twice.status_code == 409
    not_paid = await admin.post(f"{ADMIN}/{pending['orderId']}/refund")
    assert not_paid.status_code == 409 and not_paid.json()["error"]["code"] == "order_not_changeable"
    assert (await user.get(ADMIN)).status_code == 403
    assert (await user.post(f"{ADMIN}/{pending['orderId']}/refund")).status_code == 403
    assert (await admin.post(f"{ADMIN}/{pending['orderId']}/cancel", json={"reason": "Fraud check"})).json()[
        "status"
    ] == "CANCELLED"
