"""Fulfilment through Prodigi on loopback: the order placed with Prodigi's order API, its signed
callbacks POSTed by the peer to the app serving on a real port, kept once in the inbox and applied
by the runner — two parcels, shipped and delivered → DELIVERED. An outage is retried, a refusal
refunds the customer, exhausted retries leave the order PAID for an admin to resubmit; callbacks
that are unsigned, forged or unreadable are refused with nothing written."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select

from spikeland.app import create_app
from spikeland.db.enums import JobStatus
from spikeland.identity.models import UserRole
from spikeland.integrations.pod import PrintItem, PrintOrder
from spikeland.integrations.pod.prodigi import SIGNATURE_HEADER, ProdigiProvider, sign
from spikeland.merch.models import MerchFulfilmentJob
from spikeland.settings import Settings
from tests.billing.helpers import WEBHOOK_SECRET as STRIPE_WEBHOOK_SECRET
from tests.core.live import free_port, serving
from tests.integrations.prodigi_peer import API_KEY, WEBHOOK_SECRET, ProdigiPeer, prodigi_peer
from tests.integrations.stripe_peer import StripePeer
from tests.merch.fulfilment import events, inbox_count, mails, paid_order
from tests.support.fixtures import UserClient
from tests.support.images import runner_for

CALLBACK = "/api/v1/merch/webhooks/prodigi"


@pytest.fixture(scope="module")
def prodigi() -> Iterator[ProdigiPeer]:
    with prodigi_peer() as running:
        yield running


@pytest.fixture
async def app(
    settings: Settings, merch_database: str, stripe: StripePeer, prodigi: ProdigiPeer
) -> AsyncIterator[FastAPI]:
    """The merch app with Prodigi configured, also serving on a loopback port (its public URL,
    where Prodigi's callbacks go)."""
    port = free_port()
    own = settings.model_copy(
        update={
            "database_url": merch_database,
            "stripe_secret_key": SecretStr("sk_test_prodigi"),
            "stripe_webhook_secret": SecretStr(STRIPE_WEBHOOK_SECRET),
            "stripe_api_base": stripe.url,
            "prodigi_api_key": SecretStr(API_KEY),
            "prodigi_api_url": prodigi.url,
            "prodigi_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "public_url": f"http://127.0.0.1:{port}",
            "job_retry_base_seconds": 0.0,
        }
    )
    prodigi.state.fail_next, prodigi.state.reject_next = 0, False
    app = create_app(own, database_url=merch_database)
    async with app.router.lifespan_context(app), serving(own, merch_database, app, port=port, lifespan="off"):
        yield app


def _prodigi_order(prodigi: ProdigiPeer, order_id: str) -> dict:
    (placed,) = [o for o in prodigi.state.orders.values() if o["merchantReference"] == order_id]
    return placed


async def test_prodigi_takes_the_order_to_the_doorstep(
    app: FastAPI, user_client: UserClient, stripe: StripePeer, prodigi: ProdigiPeer
) -> None:
    user, order_id = await paid_order(app, user_client, stripe)
    prodigi.state.fail_next = 1  # an outage first: the job is retried
    runner = runner_for(app)
    await runner.run_until_idle()
    assert runner.stats.retried == 1
    placed = _prodigi_order(prodigi, order_id)
    assert placed["callbackUrl"] == f"{app.state.settings.public_url}{CALLBACK}"
    assert placed["recipient"]["address"]["countryCode"] == "GB"
    assert sorted((i["sku"], i["copies"]) for i in placed["items"]) == [("4012", 2), ("GLOBAL-MUG-W", 1)]
    order = (await user.get(f"/api/v1/merch/orders/{order_id}")).json()
    assert order["status"] == "SUBMITTED"

    mug, tee = (item["id"] for item in sorted(order["items"], key=lambda i: i["productName"]))
    moves = [
        ({"in_production": "InProgress"}, "IN_PRODUCTION"),
        ({"shipments": [("shp_1", "Shipped", [mug])]}, "SHIPPED"),
        ({"shipments": [("shp_2", "Shipped", [tee])]}, "SHIPPED"),
        ({"shipments": [("shp_1", "Delivered", [mug])]}, "SHIPPED"),
        ({"stage": "Complete", "shipments": [("shp_2", "Delivered", [tee])]}, "DELIVERED"),
    ]
    sent = []
    for move, status in moves:
        sent.append(await prodigi.send(placed["id"], **move))  # type: ignore[arg-type]
        assert prodigi.state.callbacks[-1][0] == 200
        await runner.run_until_idle()
        assert (await user.get(f"/api/v1/merch/orders/{order_id}")).json()["status"] == status

    order = (await user.get(f"/api/v1/merch/orders/{order_id}")).json()
    assert order["status"] == "DELIVERED"
    assert sorted((s["trackingNumber"], s["status"]) for s in order["shipments"]) == [
        ("RMshp_1GB", "DELIVERED"),
        ("RMshp_2GB", "DELIVERED"),
    ]
    assert (await events(app, order_id))[2:] == [
        "SUBMITTED_TO_POD",
        "ORDER_IN_PRODUCTION",
        "SHIPMENT_SHIPPED",
        "ORDER_SHIPPED",
        "SHIPMENT_SHIPPED",
        "SHIPMENT_DELIVERED",
        "SHIPMENT_DELIVERED",
        "ORDER_DELIVERED",
    ]
    await mails(app, f"Your Spike Land order {order['orderNumber']} has shipped", 2)

    # Prodigi delivering a callback again, ten times at once: kept once, nothing changes.
    before = await inbox_count(app, "PRODIGI")
    body = json.dumps(sent[1]).encode()
    headers = {SIGNATURE_HEADER: sign(WEBHOOK_SECRET, body), "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=app.state.settings.public_url) as client:
        answers = await asyncio.gather(
            *(client.post(CALLBACK, content=body, headers=headers) for _ in range(10))
        )
    assert {a.status_code for a in answers} == {200}
    assert [a.json()["duplicate"] for a in answers] == [True] * 10
    assert await inbox_count(app, "PRODIGI") == before


async def test_placing_an_order_twice_places_it_once(prodigi: ProdigiPeer) -> None:
    provider = ProdigiProvider(api_key=API_KEY, api_url=prodigi.url, callback_url="http://127.0.0.1:1/cb")
    item = PrintItem("item-1", "GLOBAL-MUG-W", 1, "k.jpg", "https://files.test/k.jpg", 1350, 525, 150)
    order = PrintOrder(
        "order-twice",
        "SL-20261204-TWIC",
        {"line1": "1 A St", "city": "London", "postalCode": "N1", "countryCode": "GB", "name": "Ada"},
        "ada@example.com",
        (item,),
    )
    first, again = await provider.submit(order), await provider.submit(order)
    assert first.provider_order_id == again.provider_order_id
    assert [o["merchantReference"] for o in prodigi.state.orders.values()].count("order-twice") == 1


async def test_a_refused_order_is_refunded(
    app: FastAPI, user_client: UserClient, stripe: StripePeer, prodigi: ProdigiPeer
) -> None:
    user, order_id = await paid_order(app, user_client, stripe, basket=(("Ceramic Photo Mug", None, 1),))
    prodigi.state.reject_next = True
    await runner_for(app).run_until_idle()
    order = (await user.get(f"/api/v1/merch/orders/{order_id}")).json()
    assert order["status"] == "REFUNDED"
    assert (await events(app, order_id))[2:] == ["POD_SUBMISSION_REJECTED", "REFUNDED"]
    async with app.state.sessionmaker() as session:
        job = await session.scalar(select(MerchFulfilmentJob).where(MerchFulfilmentJob.order_id == order_id))
    assert job is not None and job.status == JobStatus.FAILED and "refused" in str(job.error_message)


async def test_exhausted_retries_leave_the_order_to_an_admin(
    app: FastAPI, user_client: UserClient, stripe: StripePeer, prodigi: ProdigiPeer
) -> None:
    user, order_id = await paid_order(app, user_client, stripe, basket=(("Ceramic Photo Mug", None, 1),))
    prodigi.state.fail_next = 100
    await runner_for(app).run_until_idle()
    order = (await user.get(f"/api/v1/merch/orders/{order_id}")).json()
    assert order["status"] == "PAID"
    assert (await events(app, order_id))[-1] == "POD_SUBMISSION_FAILED"

    admin, _ = await user_client(role=UserRole.ADMIN)
    prodigi.state.fail_next = 0
    resubmitted = await admin.post(f"/api/v1/admin/merch/orders/{order_id}/resubmit")
    assert resubmitted.status_code == 200, resubmitted.text
    again = await admin.post(f"/api/v1/admin/merch/orders/{order_id}/resubmit")
    assert again.status_code == 409 and again.json()["error"]["code"] == "order_not_changeable"
    assert (await user.post(f"/api/v1/admin/merch/orders/{order_id}/resubmit")).status_code == 403
    await runner_for(app).run_until_idle()
    order = (await user.get(f"/api/v1/merch/orders/{order_id}")).json()
    assert order["status"] == "SUBMITTED"
    assert (await events(app, order_id))[-3:] == ["POD_SUBMISSION_FAILED", "RESUBMITTED", "SUBMITTED_TO_POD"]


@pytest.mark.parametrize(
    ("signature", "body", "code"),
    [
        (None, b'{"id": "evt_x", "type": "t", "data": {"order": {"id": "ord_1"}}}', "invalid_signature"),
        ("forged", b'{"id": "evt_x", "type": "t", "data": {"order": {"id": "ord_1"}}}', "invalid_signature"),
        ("sign", b'{"id": "evt_x", "type": "t"}', "malformed_payload"),
        ("sign", b"not json", "malformed_payload"),
    ],
)
async def test_bad_callbacks_are_refused_with_nothing_written(
    app: FastAPI, signature: str | None, body: bytes, code: str
) -> None:
    before = await inbox_count(app, "PRODIGI")
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[SIGNATURE_HEADER] = sign(WEBHOOK_SECRET, body) if signature == "sign" else signature
    async with httpx.AsyncClient(base_url=app.state.settings.public_url) as client:
        answer = await client.post(CALLBACK, content=body, headers=headers)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == code
    assert await inbox_count(app, "PRODIGI") == before
