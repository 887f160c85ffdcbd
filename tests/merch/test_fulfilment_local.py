"""A paid order the whole way with the local print provider: submitted by a job on the runner, print
files rendered at the print's pixels and DPI, then the printer's progress, step by step, through the
inbox: in production, two parcels shipped with tracking, in transit, delivered — each move an
event, a mail when a parcel ships and when the order is delivered."""

from __future__ import annotations

import asyncio
import io

import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import select

from spikeland.analytics.models import CampaignAttribution, ConversionType
from spikeland.billing import webhooks
from spikeland.integrations.pod.local import print_key
from spikeland.integrations.stripe import make_gateway
from spikeland.merch.models import MerchOrder, MerchOrderItem, ShipmentStatus
from spikeland.merch.shipping import shipment_move_allowed
from spikeland.merch.tasks import local_printer
from tests.billing.helpers import deliver
from tests.billing.test_refunds import refund
from tests.integrations.stripe_peer import StripePeer, event
from tests.merch.fulfilment import admin_view, events, inbox_count, mails, paid_order, submitted_ago
from tests.support import client_of
from tests.support.fixtures import UserClient
from tests.support.images import runner_for

STEP = 100.0  # seconds between the local printer's reports, in these tests' pretend clock


async def _printer(app: FastAPI) -> int:
    settings = app.state.settings.model_copy(update={"merch_local_step_seconds": STEP})
    return await local_printer(app.state.sessionmaker, settings)


async def test_a_paid_order_goes_the_whole_way(
    app: FastAPI, user_client: UserClient, stripe: StripePeer
) -> None:
    user, order_id = await paid_order(app, user_client, stripe)
    runner = runner_for(app, worker_concurrency=2)
    await runner.run_until_idle()

    order = (await user.get(f"/api/v1/merch/orders/{order_id}")).json()
    assert order["status"] == "SUBMITTED"
    assert {item["podStatus"] for item in order["items"]} == {"InProgress"}
    async with app.state.sessionmaker() as session:
        items = (
            await session.scalars(select(MerchOrderItem).where(MerchOrderItem.order_id == order_id))
        ).all()
    assert {item.pod_order_id for item in items} == {f"local_{order_id}"}
    sizes = {}
    for item in items:
        with Image.open(io.BytesIO(await app.state.storage.get(print_key(order_id, item.id)))) as printed:
            sizes[item.product_name] = (printed.size, round(printed.info["dpi"][0]))
    assert sizes == {"Ceramic Photo Mug": ((1350, 525), 150), "Classic T-Shirt": ((1800, 2400), 150)}

    # Step by step, as the printer reports: nothing is due before the first step.
    assert await _printer(app) == 0
    expected_status = {1: "IN_PRODUCTION", 2: "SHIPPED", 3: "SHIPPED", 4: "DELIVERED"}
    for step, status in expected_status.items():
        await submitted_ago(app, order_id, STEP * step + STEP / 2)
        assert await _printer(app) == 1
        await runner.run_until_idle()
        order = (await user.get(f"/api/v1/merch/orders/{order_id}")).json()
        assert order["status"] == status, (step, order)
    assert await _printer(app) == 0  # reported again: duplicates the inbox ignores
    assert await inbox_count(app, "LOCAL") >= 4

    shipments = order["shipments"]
    assert len(shipments) == 2
    assert all(s["status"] == "DELIVERED" and s["shippedAt"] and s["deliveredAt"] for s in shipments)
    assert all(s["carrier"] == "Royal Mail" and s["trackingNumber"].startswith("LP") for s in shipments)
    parcel_of = {item["productName"]: item["shipmentId"] for item in order["items"]}
    assert set(parcel_of.values()) == {s["id"] for s in shipments}
    assert {item["podStatus"] for item in order["items"]} == {"DELIVERED"}

    assert await events(app, order_id) == [
        "ORDER_CREATED",
        "PAYMENT_CAPTURED",
        "SUBMITTED_TO_POD",
        "ORDER_IN_PRODUCTION",
        "SHIPMENT_SHIPPED",
        "SHIPMENT_SHIPPED",
        "ORDER_SHIPPED",
        "SHIPMENT_IN_TRANSIT",
        "SHIPMENT_IN_TRANSIT",
        "SHIPMENT_DELIVERED",
        "SHIPMENT_DELIVERED",
        "ORDER_DELIVERED",
    ]
    number = order["orderNumber"]
    shipped = await mails(app, f"Your Spike Land order {number} has shipped", 2)
    assert any(s["trackingNumber"] in mail.get_content() for mail in shipped for s in shipments)
    await mails(app, f"Your Spike Land order {number} has been delivered", 1)

    # The payment is a PURCHASE conversion (analytics), once, valued at the order's total.
    async with app.state.sessionmaker() as session:
        buyer = await session.scalar(select(MerchOrder.user_id).where(MerchOrder.id == order_id))
        statement = select(CampaignAttribution).where(
            CampaignAttribution.user_id == buyer,
            CampaignAttribution.conversion_type == ConversionType.PURCHASE,
        )
        bought = (await session.scalars(statement)).all()
    assert sorted((r.attribution_type.value, r.conversion_value) for r in bought) == [
        ("FIRST_TOUCH", float(order["totalAmount"])),
        ("LAST_TOUCH", float(order["totalAmount"])),
    ]

    # Too late to cancel once the printer has it.
    refused = await user.post(f"/api/v1/merch/orders/{order_id}/cancel")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "order_not_changeable"


async def test_updates_applied_out_of_order_by_two_workers_converge(
    app: FastAPI, user_client: UserClient, stripe: StripePeer
) -> None:
    user, order_id = await paid_order(app, user_client, stripe)
    await runner_for(app).run_until_idle()
    await submitted_ago(app, order_id, STEP * 4 + STEP / 2)
    assert await _printer(app) == 4  # every report at once, claimed by two runners in any order
    runners = [runner_for(app, worker_concurrency=2) for _ in range(2)]
    await asyncio.gather(*(r.run_until_idle() for r in runners))

    order = (await user.get(f"/api/v1/merch/orders/{order_id}")).json()
    assert order["status"] == "DELIVERED"
    assert [s["status"] for s in order["shipments"]] == ["DELIVERED", "DELIVERED"]
    history = await events(app, order_id)
    assert history.count("SHIPMENT_DELIVERED") == 2 and history.count("ORDER_DELIVERED") == 1
    assert history.count("ORDER_SHIPPED") <= 1 and history.count("SHIPMENT_SHIPPED") <= 2
    await mails(app, f"Your Spike Land order {order['orderNumber']} has been delivered", 1)


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        (ShipmentStatus.PENDING, ShipmentStatus.PROCESSING, True),
        (ShipmentStatus.PROCESSING, ShipmentStatus.DELIVERED, True),  # a step not reported
        (ShipmentStatus.IN_TRANSIT, ShipmentStatus.SHIPPED, False),  # a late update
        (ShipmentStatus.SHIPPED, ShipmentStatus.SHIPPED, False),
        (ShipmentStatus.OUT_FOR_DELIVERY, ShipmentStatus.FAILED, True),
        (ShipmentStatus.DELIVERED, ShipmentStatus.FAILED, False),
        (ShipmentStatus.FAILED, ShipmentStatus.IN_TRANSIT, False),
    ],
)
def test_shipment_moves(current: ShipmentStatus, new: ShipmentStatus, allowed: bool) -> None:
    assert shipment_move_allowed(current, new) is allowed


async def test_prodigi_callbacks_without_a_secret_are_refused(app: FastAPI) -> None:
    async with client_of(app) as client:
        answer = await client.post("/api/v1/merch/webhooks/prodigi", content=b"{}")
    assert answer.status_code == 503 and answer.json()["error"]["code"] == "webhooks_unavailable"


async def test_a_refund_made_in_stripe_refunds_the_order_once(
    app: FastAPI, user_client: UserClient, stripe: StripePeer
) -> None:
    user, order_id = await paid_order(app, user_client, stripe, basket=(("Ceramic Photo Mug", None, 1),))
    await runner_for(app).run_until_idle()  # with the printer: no cancelling, but a refund remains
    gateway = make_gateway(app.state.settings)
    assert gateway is not None
    intent = (await admin_view(app, user_client, order_id))["stripePaymentIntentId"]
    charge = await refund(gateway, intent)
    async with client_of(app) as stripe_client:
        for _ in range(2):  # Stripe delivering it twice
            assert (await deliver(stripe_client, event("charge.refunded", charge))).status_code == 200
    await webhooks.process_pending(app.state.sessionmaker, gateway=gateway, settings=app.state.settings)
    order = (await user.get(f"/api/v1/merch/orders/{order_id}")).json()
    assert order["status"] == "REFUNDED"
    assert (await events(app, order_id))[-2:] == ["SUBMITTED_TO_POD", "REFUNDED"]
