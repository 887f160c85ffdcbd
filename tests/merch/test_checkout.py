"""Checkout over HTTP against Stripe on loopback: totals to the penny (shipping zones, free-shipping
thresholds, the VAT contained), immutable item snapshots, one order and one intent per request (an
Idempotency-Key, a double click, two concurrent checkouts), and bad input refused with nothing written."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from spikeland.identity.models import UserRole
from spikeland.merch.models import MerchOrder, MerchOrderEvent, MerchOrderItem
from spikeland.merch.pricing import totals
from tests.integrations.stripe_peer import StripePeer
from tests.merch.test_cart import CART, _catalogue, _image
from tests.support.fixtures import UserClient

CHECKOUT = "/api/v1/merch/checkout"


def address(country: str = "GB", **fields: Any) -> dict[str, Any]:
    return {
        "name": "Ada Lovelace",
        "line1": "1 St James's Square",
        "city": "London",
        "postalCode": "SW1Y 4JU",
        "countryCode": country,
        **fields,
    }


def body(country: str = "GB", **fields: Any) -> dict[str, Any]:
    return {"shippingAddress": address(country), "customerEmail": "ada@example.com", **fields}


async def _orders(app: FastAPI, user_id: str) -> int:
    async with app.state.sessionmaker() as session:
        return int(await session.scalar(select(func.count()).where(MerchOrder.user_id == user_id)) or 0)


async def _shopper(
    app: FastAPI, user_client: UserClient, product: str, quantity: int = 1
) -> tuple[httpx.AsyncClient, str]:
    user, user_id = await user_client()
    mug = (await _catalogue(user))[product]
    image = await _image(app, user_id, 4000, 4000)
    added = await user.post(
        f"{CART}/items", json={"productId": mug["id"], "imageId": image, "quantity": quantity}
    )
    assert added.status_code == 201, added.text
    return user, user_id


async def test_an_order_awaiting_payment(app: FastAPI, user_client: UserClient, stripe: StripePeer) -> None:
    user, user_id = await _shopper(app, user_client, "Ceramic Photo Mug", 2)
    answer = await user.post(CHECKOUT, json=body(notes="Gift"))
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["orderNumber"].startswith("SL-") and len(made["orderNumber"]) == 16
    assert made["summary"] == {
        "subtotal": "33.98",
        "shipping": "4.99",
        "shippingZone": "UK",
        "freeShippingThreshold": "55.00",
        "tax": "6.50",  # 38.97 x 20/120
        "total": "38.97",
        "currency": "GBP",
        "itemCount": 2,
    }
    intent_id = made["clientSecret"].split("_secret_")[0]
    intent = stripe.call(
        lambda: __import__("localstripe").resources.PaymentIntent._api_retrieve(intent_id)._export()
    )
    assert (intent["amount"], intent["currency"], intent["capture_method"]) == (3897, "gbp", "manual")
    assert intent["metadata"] == {
        "userId": user_id,
        "orderId": made["orderId"],
        "orderNumber": made["orderNumber"],
        "type": "merch_order",
    }

    order = (await user.get(f"/api/v1/merch/orders/{made['orderId']}")).json()
    assert (order["status"], order["totalAmount"], order["taxAmount"], order["notes"]) == (
        "PENDING",
        "38.97",
        "6.50",
        "Gift",
    )
    assert [(i["productName"], i["quantity"], i["unitPrice"], i["totalPrice"]) for i in order["items"]] == [
        ("Ceramic Photo Mug", 2, "16.99", "33.98")
    ]
    assert order["shippingAddress"]["countryCode"] == "GB" and order["shipments"] == []
    listed = (await user.get("/api/v1/merch/orders")).json()
    assert [o["id"] for o in listed["items"]] == [made["orderId"]]
    assert (await user.get(CART)).json()["itemCount"] == 2  # emptied when paid, not before

    async with app.state.sessionmaker() as session:
        events = (
            await session.scalars(
                select(MerchOrderEvent.type).where(MerchOrderEvent.order_id == made["orderId"])
            )
        ).all()
    assert events == ["ORDER_CREATED"]


async def test_snapshots_do_not_follow_the_catalogue(app: FastAPI, user_client: UserClient) -> None:
    admin, _ = await user_client(UserRole.ADMIN)
    user, _ = await _shopper(app, user_client, "Classic T-Shirt")
    made = (await user.post(CHECKOUT, json=body())).json()
    tee = (await _catalogue(user))["Classic T-Shirt"]
    changed = await admin.patch(
        f"/api/v1/admin/merch/products/{tee['id']}", json={"retailPrice": "99.00", "name": "Renamed"}
    )
    assert changed.status_code == 200
    try:
        order = (await user.get(f"/api/v1/merch/orders/{made['orderId']}")).json()
        assert (order["items"][0]["productName"], order["items"][0]["unitPrice"], order["totalAmount"]) == (
            "Classic T-Shirt",
            "29.99",
            "34.98",
        )
    finally:
        await admin.patch(
            f"/api/v1/admin/merch/products/{tee['id']}",
            json={"retailPrice": "29.99", "name": "Classic T-Shirt"},
        )


async def test_one_request_one_order(app: FastAPI, user_client: UserClient) -> None:
    user, user_id = await _shopper(app, user_client, "Ceramic Photo Mug")
    keyed = {"Idempotency-Key": "order-1"}
    first = (await user.post(CHECKOUT, json=body(), headers=keyed)).json()
    again = await user.post(CHECKOUT, json=body(), headers=keyed)
    assert again.status_code == 201 and again.json() == first
    other = await user.post(CHECKOUT, json=body("FR"), headers=keyed)
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    click = await user.post(CHECKOUT, json=body())  # no key: the same cart and details again
    assert click.json()["orderId"] == first["orderId"]
    assert await _orders(app, user_id) == 1


async def test_concurrent_checkouts_of_one_cart_make_one_order(app: FastAPI, user_client: UserClient) -> None:
    user, user_id = await _shopper(app, user_client, "Stretched Canvas")
    answers = await asyncio.gather(*(user.post(CHECKOUT, json=body("DE")) for _ in range(5)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["orderId"] for a in answers}) == 1
    assert await _orders(app, user_id) == 1
    summary = answers[0].json()["summary"]
    assert (summary["shippingZone"], summary["shipping"], summary["total"], summary["tax"]) == (
        "EU",
        "9.99",
        "59.98",
        "9.58",
    )


async def test_bad_checkouts_write_nothing(app: FastAPI, user_client: UserClient) -> None:
    empty, empty_id = await user_client()
    nothing = await empty.post(CHECKOUT, json=body())
    assert nothing.status_code == 422 and nothing.json()["error"]["code"] == "cart_empty"
    user, user_id = await _shopper(app, user_client, "Ceramic Photo Mug")
    far = await user.post(CHECKOUT, json=body("US"))
    assert far.status_code == 422 and far.json()["error"]["code"] == "shipping_unavailable"
    for bad in (
        body(customerEmail="not-an-address"),
        body(shippingAddress=address("gb")),
        body(shippingAddress={**address(), "line1": ""}),
        {"customerEmail": "ada@example.com"},
        body(notes="x" * 1001),
    ):
        assert (await user.post(CHECKOUT, json=bad)).status_code == 422, bad
    assert await _orders(app, user_id) == 0 and await _orders(app, empty_id) == 0
    async with app.state.sessionmaker() as session:
        assert (
            await session.scalar(
                select(func.count())
                .select_from(MerchOrderItem)
                .join(MerchOrder)
                .where(MerchOrder.user_id == user_id)
            )
            == 0
        )


async def test_others_orders_are_not_found(app: FastAPI, user_client: UserClient) -> None:
    user, _ = await _shopper(app, user_client, "Ceramic Photo Mug")
    made = (await user.post(CHECKOUT, json=body())).json()
    stranger, _ = await user_client()
    hidden = await stranger.get(f"/api/v1/merch/orders/{made['orderId']}")
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "order_not_found"
    assert (await stranger.get("/api/v1/merch/orders")).json()["items"] == []
    admin, _ = await user_client(UserRole.ADMIN)
    assert (await admin.get(f"/api/v1/merch/orders/{made['orderId']}")).status_code == 200


def test_totals_to_the_penny() -> None:
    uk = totals("GB", Decimal("55.00"))
    assert uk is not None and (uk.shipping, uk.total, uk.tax) == (
        Decimal("0.00"),
        Decimal("55.00"),
        Decimal("9.17"),
    )
    eu = totals("HU", Decimal("64.99"))
    assert eu is not None and (eu.shipping, eu.total, eu.tax) == (
        Decimal("9.99"),
        Decimal("74.98"),
        Decimal("15.94"),
    )
    assert totals("US", Decimal("10")) is None
