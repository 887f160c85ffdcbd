"""Helpers of the fulfilment tests: a paid order of real pictures, the order's history, the mails."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select, update

from spikeland.billing import webhooks
from spikeland.core.clock import utcnow
from spikeland.identity.models import UserRole
from spikeland.integrations.stripe import make_gateway
from spikeland.merch.models import MerchOrderEvent
from spikeland.ops.models import MerchWebhookEvent
from tests.billing.helpers import deliver
from tests.integrations.stripe_peer import StripePeer
from tests.merch.test_cart import CART, _catalogue
from tests.merch.test_checkout import CHECKOUT, body
from tests.merch.test_payment import _authorize
from tests.support import client_of
from tests.support.factories import make_image
from tests.support.fixtures import UserClient
from tests.support.images import picture
from tests.support.mail import mails_to

# (product, variant index or None, quantity): two products, so two parcels from the local printer.
BASKET = (("Ceramic Photo Mug", None, 1), ("Classic T-Shirt", 1, 2))


async def stored_image(app: FastAPI, user_id: str, width: int = 1800, height: int = 2400) -> str:
    """An image of ``user_id`` whose original is a real picture in the app's storage."""
    async with app.state.sessionmaker() as session, session.begin():
        image = await make_image(session, user_id, original_width=width, original_height=height)
        key = image.original_r2_key
    await app.state.storage.put(key, picture(width, height), "image/jpeg")
    return str(image.id)


async def paid_order(
    app: FastAPI, user_client: UserClient, stripe: StripePeer, basket: Any = BASKET
) -> tuple[httpx.AsyncClient, str]:
    """A PAID order of ``basket``, through cart, checkout and Stripe's signed webhook."""
    user, user_id = await user_client()
    catalogue = await _catalogue(user)
    for name, variant, quantity in basket:
        product = catalogue[name]
        line: dict[str, Any] = {
            "productId": product["id"],
            "imageId": await stored_image(app, user_id),
            "quantity": quantity,
        }
        if variant is not None:
            line["variantId"] = product["variants"][variant]["id"]
        added = await user.post(f"{CART}/items", json=line)
        assert added.status_code == 201, added.text
    made = (await user.post(CHECKOUT, json=body())).json()
    event = _authorize(stripe, made["clientSecret"].split("_secret_")[0])
    async with client_of(app) as stripe_client:
        assert (await deliver(stripe_client, event)).status_code == 200
    await webhooks.process_pending(
        app.state.sessionmaker, gateway=make_gateway(app.state.settings), settings=app.state.settings
    )
    order = (await user.get(f"/api/v1/merch/orders/{made['orderId']}")).json()
    assert order["status"] == "PAID", order
    return user, made["orderId"]


async def events(app: FastAPI, order_id: str) -> list[str]:
    async with app.state.sessionmaker() as session:
        statement = select(MerchOrderEvent.type).where(MerchOrderEvent.order_id == order_id)
        # By id (CUIDs are time-ordered): the tests move the submission's createdAt back in time.
        return list((await session.scalars(statement.order_by(MerchOrderEvent.id))).all())


async def submitted_ago(app: FastAPI, order_id: str, seconds: float) -> None:
    """Pretend the order went to the printer ``seconds`` ago (the local printer's clock)."""
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(MerchOrderEvent)
            .where(MerchOrderEvent.order_id == order_id, MerchOrderEvent.type == "SUBMITTED_TO_POD")
            .values(created_at=utcnow() - timedelta(seconds=seconds))
        )


async def inbox_count(app: FastAPI, provider: str) -> int:
    async with app.state.sessionmaker() as session:
        statement = select(func.count()).where(MerchWebhookEvent.provider == provider)
        return int(await session.scalar(statement) or 0)


async def mails(app: FastAPI, subject: str, count: int) -> list[Any]:
    """The ``count`` mails of ``subject`` to the shopper, sent after their transactions committed."""
    found: list[Any] = []
    for _ in range(200):
        found = mails_to(app.state.settings, "ada@example.com", subject)
        if len(found) >= count:
            break
        await asyncio.sleep(0.02)
    assert len(found) == count, f"{len(found)} mails {subject!r}, expected {count}"
    return found


async def admin_view(app: FastAPI, user_client: UserClient, order_id: str) -> dict[str, Any]:
    admin, _ = await user_client(role=UserRole.ADMIN)
    answer = await admin.get(f"/api/v1/admin/merch/orders/{order_id}")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())
