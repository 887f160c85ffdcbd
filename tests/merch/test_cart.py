"""The cart over HTTP: lines priced from the catalogue, print quality checked on the best version of
the image, the same line merged (also under concurrent adds), and bad input refused with nothing written."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from spikeland.db.enums import EnhancementTier, JobStatus
from spikeland.identity.models import UserRole
from spikeland.images.models import ImageEnhancementJob
from spikeland.merch.cart import required_pixels, tier_reaching
from spikeland.merch.models import MerchCart, MerchCartItem, MerchProduct, MerchVariant
from tests.support.factories import make_image
from tests.support.fixtures import UserClient

CART = "/api/v1/merch/cart"


async def _catalogue(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    page = (await client.get("/api/v1/merch/products", params={"includeVariants": "true"})).json()
    return {p["name"]: p for p in page["items"]}


async def _image(
    app: FastAPI, user_id: str, width: int, height: int, enhanced: tuple[int, int] | None = None
) -> str:
    async with app.state.sessionmaker() as session, session.begin():
        image = await make_image(session, user_id, original_width=width, original_height=height)
        if enhanced is not None:
            session.add(
                ImageEnhancementJob(
                    image_id=image.id,
                    user_id=user_id,
                    tier=EnhancementTier.TIER_4K,
                    tokens_cost=10,
                    status=JobStatus.COMPLETED,
                    enhanced_url="https://files.test/e.jpg",
                    enhanced_r2_key="test/e.jpg",
                    enhanced_width=enhanced[0],
                    enhanced_height=enhanced[1],
                )
            )
        return image.id


async def _items(app: FastAPI, user_id: str) -> int:
    async with app.state.sessionmaker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(MerchCartItem)
            .join(MerchCart, MerchCart.id == MerchCartItem.cart_id)
            .where(MerchCart.user_id == user_id)
        )
        return int(count or 0)


async def test_lines_prices_and_merging(app: FastAPI, user_client: UserClient) -> None:
    user, user_id = await user_client()
    empty = (await user.get(CART)).json()
    assert empty == {"id": None, "items": [], "itemCount": 0, "subtotal": "0.00", "currency": "GBP"}

    products = await _catalogue(user)
    mug, canvas = products["Ceramic Photo Mug"], products["Stretched Canvas"]
    big = await _image(app, user_id, 4000, 5000)
    added = await user.post(f"{CART}/items", json={"productId": mug["id"], "imageId": big, "quantity": 2})
    assert added.status_code == 201, added.text
    large = canvas["variants"][1]  # 16" x 20", +15.00
    await user.post(
        f"{CART}/items", json={"productId": canvas["id"], "variantId": large["id"], "imageId": big}
    )
    again = await user.post(f"{CART}/items", json={"productId": mug["id"], "imageId": big, "quantity": 3})
    cart = again.json()
    lines = [
        (i["productName"], i["variantName"], i["quantity"], i["unitPrice"], i["linePrice"])
        for i in cart["items"]
    ]
    assert lines == [
        ("Ceramic Photo Mug", None, 5, "16.99", "84.95"),
        ("Stretched Canvas", '16" x 20"', 1, "64.99", "64.99"),
    ]
    assert (cart["itemCount"], cart["subtotal"], cart["currency"]) == (6, "149.94", "GBP")

    line = cart["items"][0]["id"]
    changed = await user.patch(f"{CART}/items/{line}", json={"quantity": 1})
    assert changed.json()["subtotal"] == "81.98"
    removed = await user.delete(f"{CART}/items/{line}")
    assert [i["productName"] for i in removed.json()["items"]] == ["Stretched Canvas"]
    assert (await user.get(CART)).json() == removed.json()


async def test_print_quality_uses_the_best_version(app: FastAPI, user_client: UserClient) -> None:
    user, user_id = await user_client()
    lustre = (await _catalogue(user))["Premium Lustre Print"]  # 8" x 10" at 300 dpi: 2400 x 3000
    small = await _image(app, user_id, 1200, 1500)
    refused = await user.post(f"{CART}/items", json={"productId": lustre["id"], "imageId": small})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "image_too_small"
    assert error["details"] == {
        "required": {"width": 2400, "height": 3000},
        "image": {"width": 1200, "height": 1500},
        "tier": "TIER_4K",
    }
    assert await _items(app, user_id) == 0

    enhanced = await _image(app, user_id, 1200, 1500, enhanced=(3277, 4096))
    ok = await user.post(f"{CART}/items", json={"productId": lustre["id"], "imageId": enhanced})
    assert ok.status_code == 201, ok.text
    largest = lustre["variants"][2]  # 16" x 20" at 300 dpi: 4800 x 6000, beyond any tier
    body = {"productId": lustre["id"], "variantId": largest["id"], "imageId": enhanced}
    beyond = await user.post(f"{CART}/items", json=body)
    assert beyond.status_code == 422 and beyond.json()["error"]["details"]["tier"] is None


async def test_concurrent_adds_make_one_line(app: FastAPI, user_client: UserClient) -> None:
    user, user_id = await user_client()
    mug = (await _catalogue(user))["Ceramic Photo Mug"]
    image = await _image(app, user_id, 3000, 2000)
    body = {"productId": mug["id"], "imageId": image}
    answers = await asyncio.gather(*(user.post(f"{CART}/items", json=body) for _ in range(10)))
    assert [a.status_code for a in answers] == [201] * 10
    cart = (await user.get(CART)).json()
    assert [i["quantity"] for i in cart["items"]] == [10] and await _items(app, user_id) == 1


async def test_bad_input_writes_nothing(app: FastAPI, user_client: UserClient) -> None:
    user, user_id = await user_client()
    stranger, stranger_id = await user_client()
    mug = (await _catalogue(user))["Ceramic Photo Mug"]
    tee = (await _catalogue(user))["Classic T-Shirt"]
    mine = await _image(app, user_id, 3000, 3000)
    theirs = await _image(app, stranger_id, 3000, 3000)
    cases = [
        ({"productId": mug["id"], "imageId": theirs}, 404, "image_not_found"),
        ({"productId": "nope", "imageId": mine}, 404, "product_not_found"),
        (
            {"productId": mug["id"], "variantId": tee["variants"][0]["id"], "imageId": mine},
            404,
            "variant_not_found",
        ),
        ({"productId": mug["id"], "imageId": mine, "quantity": 0}, 422, None),
        ({"productId": mug["id"], "imageId": mine, "quantity": 101}, 422, None),
        ({"productId": mug["id"], "imageId": mine, "quantity": "2"}, 422, None),
        ({"productId": mug["id"]}, 422, None),
    ]
    for body, status, code in cases:
        answer = await user.post(f"{CART}/items", json=body)
        assert answer.status_code == status, (body, answer.text)
        if code:
            assert answer.json()["error"]["code"] == code
    assert await _items(app, user_id) == 0

    await user.post(f"{CART}/items", json={"productId": mug["id"], "imageId": mine, "quantity": 60})
    over = await user.post(f"{CART}/items", json={"productId": mug["id"], "imageId": mine, "quantity": 41})
    assert over.status_code == 422 and over.json()["error"]["code"] == "quantity_too_large"
    line = (await user.get(CART)).json()["items"][0]
    assert line["quantity"] == 60
    for method, path in (("PATCH", f"{CART}/items/{line['id']}"), ("DELETE", f"{CART}/items/{line['id']}")):
        foreign = await stranger.request(method, path, json={"quantity": 2} if method == "PATCH" else None)
        assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "cart_item_not_found"
    assert (await user.patch(f"{CART}/items/{line['id']}", json={"quantity": 0})).status_code == 422


async def test_a_product_taken_off_sale_leaves_the_subtotal(
    app: FastAPI, client: httpx.AsyncClient, user_client: UserClient
) -> None:
    admin, _ = await user_client(UserRole.ADMIN)
    made = await admin.post("/api/v1/admin/merch/categories", json={"name": "Cards", "slug": "cards"})
    category = made.json()
    product = (
        await admin.post(
            "/api/v1/admin/merch/products",
            json={
                "name": "Card",
                "categoryId": category["id"],
                "provider": "PRODIGI",
                "providerSku": "CARD",
                "basePrice": "1.00",
                "retailPrice": "3.50",
                "minWidth": 100,
                "minHeight": 100,
            },
        )
    ).json()
    user, user_id = await user_client()
    image = await _image(app, user_id, 500, 500)
    await user.post(f"{CART}/items", json={"productId": product["id"], "imageId": image, "quantity": 2})
    assert (await user.get(CART)).json()["subtotal"] == "7.00"
    await admin.patch(f"/api/v1/admin/merch/products/{product['id']}", json={"isActive": False})
    cart = (await user.get(CART)).json()
    assert cart["items"][0]["available"] is False and cart["subtotal"] == "0.00"
    assert (await client.get(CART)).status_code == 401


def test_required_pixels_and_the_tier_that_reaches_them() -> None:
    product = MerchProduct(min_width=2400, min_height=3000, min_dpi=300, retail_price=Decimal("1"))
    assert required_pixels(product, None) == (2400, 3000)
    assert required_pixels(product, MerchVariant(attributes={"widthIn": 11, "heightIn": 14})) == (3300, 4200)
    assert required_pixels(product, MerchVariant(attributes={"size": "S"})) == (2400, 3000)
    assert tier_reaching(800, 1000, (2400, 3000)) == EnhancementTier.TIER_4K
    assert tier_reaching(800, 1000, (1000, 1200)) == EnhancementTier.TIER_2K
    assert tier_reaching(800, 1000, (4800, 6000)) is None
