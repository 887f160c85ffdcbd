"""The catalogue over HTTP: the seeded products as anyone sees them (order, prices as decimal strings,
no cost prices), HTTP caching, and the admins' edits showing at once; bad input and access refused."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI

from spikeland.identity.models import UserRole
from spikeland.merch.models import MerchCart, MerchCartItem
from tests.support.fixtures import UserClient

PUBLIC = "/api/v1/merch"
ADMIN = "/api/v1/admin/merch"


async def _page(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    answer = await client.get(f"{PUBLIC}/products", params=params)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def test_the_seeded_catalogue_in_display_order(client: httpx.AsyncClient) -> None:
    page = await _page(client, includeVariants="true")
    seeded = [
        p for p in page["items"] if p["category"]["slug"] in ("prints", "canvas", "apparel", "home-decor")
    ]
    assert [p["name"] for p in seeded] == [
        "Premium Lustre Print",
        "Stretched Canvas",
        "Classic T-Shirt",
        "Ceramic Photo Mug",
    ]
    lustre = seeded[0]
    assert (lustre["retailPrice"], lustre["currency"], lustre["minDpi"]) == ("24.99", "GBP", 300)
    assert "basePrice" not in lustre and "providerSku" not in lustre  # what we pay stays ours
    assert [(v["name"], v["price"]) for v in lustre["variants"]] == [
        ('8" x 10"', "24.99"),
        ('11" x 14"', "36.99"),
        ('16" x 20"', "49.99"),
    ]
    tee = seeded[2]
    assert [v["price"] for v in tee["variants"]] == ["29.99", "29.99", "29.99", "31.99"]

    assert all(p.get("variants") is None for p in (await _page(client))["items"])
    canvas = await _page(client, category="canvas")
    assert [p["name"] for p in canvas["items"]] == ["Stretched Canvas"] and canvas["total"] == 1
    second = await _page(client, limit=1, offset=1)
    assert second["items"][0]["id"] == page["items"][1]["id"] and second["total"] == page["total"]
    assert (await _page(client, category="no-such-thing"))["items"] == []

    detail = await client.get(f"{PUBLIC}/products/{lustre['id']}")
    assert detail.status_code == 200 and detail.json() == lustre
    categories = (await client.get(f"{PUBLIC}/categories")).json()["items"]
    assert [c["slug"] for c in categories][:4] == ["prints", "canvas", "apparel", "home-decor"]


async def test_public_answers_are_cacheable(client: httpx.AsyncClient) -> None:
    first = await client.get(f"{PUBLIC}/products")
    assert first.headers["cache-control"] == "public, max-age=60"
    again = await client.get(f"{PUBLIC}/products", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


async def test_bad_reads_are_refused(client: httpx.AsyncClient) -> None:
    for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"category": "Not A Slug"}):
        answer = await client.get(f"{PUBLIC}/products", params=params)
        assert answer.status_code == 422, params
    missing = await client.get(f"{PUBLIC}/products/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "product_not_found"


async def test_only_admins_edit(client: httpx.AsyncClient, user_client: UserClient) -> None:
    user, _ = await user_client()
    for who, status in ((client, 401), (user, 403)):
        assert (await who.get(f"{ADMIN}/products")).status_code == status
        assert (await who.post(f"{ADMIN}/categories", json={"name": "X", "slug": "x"})).status_code == status


async def _category(admin: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    tag = secrets.token_hex(3)
    answer = await admin.post(
        f"{ADMIN}/categories", json={"name": f"Posters {tag}", "slug": f"posters-{tag}", **fields}
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _product_body(category_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "name": "A2 Poster",
        "categoryId": category_id,
        "provider": "PRODIGI",
        "providerSku": f"GLOBAL-POS-{secrets.token_hex(2)}",
        "basePrice": "4.10",
        "retailPrice": 19.5,
        **fields,
    }


async def test_admin_edits_show_at_once(client: httpx.AsyncClient, user_client: UserClient) -> None:
    admin, _ = await user_client(UserRole.ADMIN)
    category = await _category(admin, description="Big prints")
    slug = category["slug"]
    assert (await _page(client, category=slug))["items"] == []  # and now cached empty

    made = await admin.post(f"{ADMIN}/products", json=_product_body(category["id"]))
    assert made.status_code == 201, made.text
    product = made.json()
    assert (product["basePrice"], product["retailPrice"], product["minDpi"], product["minWidth"]) == (
        "4.10",
        "19.50",
        150,
        1800,
    )
    variant = await admin.post(
        f"{ADMIN}/products/{product['id']}/variants",
        json={
            "name": "Matte",
            "providerSku": "GLOBAL-POS-M",
            "priceDelta": "2.25",
            "attributes": {"finish": "matte"},
        },
    )
    assert variant.status_code == 201, variant.text

    listed = (await _page(client, category=slug, includeVariants="true"))["items"]
    assert [(p["name"], p["retailPrice"], [v["price"] for v in p["variants"]]) for p in listed] == [
        ("A2 Poster", "19.50", ["21.75"])
    ]

    changed = await admin.patch(
        f"{ADMIN}/products/{product['id']}", json={"retailPrice": "21.00", "description": "Matte paper"}
    )
    assert changed.status_code == 200 and changed.json()["retailPrice"] == "21.00"
    detail = (await client.get(f"{PUBLIC}/products/{product['id']}")).json()
    assert detail["retailPrice"] == "21.00" and detail["variants"][0]["price"] == "23.25"

    off = await admin.patch(f"{ADMIN}/variants/{variant.json()['id']}", json={"isActive": False})
    assert off.status_code == 200
    assert (await client.get(f"{PUBLIC}/products/{product['id']}")).json()["variants"] == []
    hidden = await admin.patch(f"{ADMIN}/categories/{category['id']}", json={"isActive": False})
    assert hidden.status_code == 200
    assert (await client.get(f"{PUBLIC}/products/{product['id']}")).status_code == 404
    assert (await admin.get(f"{ADMIN}/products/{product['id']}")).json()["variants"][0]["isActive"] is False


async def test_bad_edits_are_refused_and_write_nothing(user_client: UserClient) -> None:
    admin, _ = await user_client(UserRole.ADMIN)
    category = await _category(admin)
    taken = await admin.post(f"{ADMIN}/categories", json={"name": "Other", "slug": category["slug"]})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "category_exists"
    other = await _category(admin)
    clash = await admin.patch(f"{ADMIN}/categories/{other['id']}", json={"name": category["name"]})
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "category_exists"

    for fields in (
        {"retailPrice": 0},
        {"retailPrice": "-1"},
        {"basePrice": "1.005"},  # a third decimal place
        {"retailPrice": "123456789.00"},  # past numeric(10,2)
        {"retailPrice": "cheap"},
        {"provider": "SOMEONE"},
        {"minDpi": 10},
        {"name": "bad\x00name"},
    ):
        refused = await admin.post(f"{ADMIN}/products", json=_product_body(category["id"], **fields))
        assert refused.status_code == 422, fields
    unknown = await admin.post(f"{ADMIN}/products", json=_product_body("no-such-category"))
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_category"
    listed = (await admin.get(f"{ADMIN}/products", params={"categoryId": category["id"]})).json()
    assert listed["items"] == [] and listed["total"] == 0

    product = (await admin.post(f"{ADMIN}/products", json=_product_body(category["id"]))).json()
    cleared = await admin.patch(f"{ADMIN}/products/{product['id']}", json={"name": None})
    assert cleared.status_code == 422
    assert (await admin.patch(f"{ADMIN}/products/nope", json={"name": "X"})).status_code == 404
    assert (await admin.patch(f"{ADMIN}/variants/nope", json={"name": "X"})).status_code == 404


async def test_deleting_what_is_used_is_refused(app: FastAPI, user_client: UserClient) -> None:
    admin, admin_id = await user_client(UserRole.ADMIN)
    category = await _category(admin)
    kept = (await admin.post(f"{ADMIN}/products", json=_product_body(category["id"]))).json()
    gone = (await admin.post(f"{ADMIN}/products", json=_product_body(category["id"], name="Gone"))).json()
    await admin.post(
        f"{ADMIN}/products/{gone['id']}/variants",
        json={"name": "Only", "providerSku": "X-1", "priceDelta": 0},
    )
    async with app.state.sessionmaker() as session, session.begin():  # a cart holds ``kept``
        cart = MerchCart(user_id=admin_id)
        session.add(cart)
        await session.flush()
        session.add(MerchCartItem(cart_id=cart.id, product_id=kept["id"], quantity=1))

    in_use = await admin.delete(f"{ADMIN}/categories/{category['id']}")
    assert in_use.status_code == 409 and in_use.json()["error"]["code"] == "category_in_use"
    carted = await admin.delete(f"{ADMIN}/products/{kept['id']}")
    assert carted.status_code == 409 and carted.json()["error"]["code"] == "product_in_use"
    assert (await admin.get(f"{ADMIN}/products/{kept['id']}")).status_code == 200

    assert (await admin.delete(f"{ADMIN}/products/{gone['id']}")).status_code == 204
    assert (await admin.get(f"{ADMIN}/products/{gone['id']}")).status_code == 404


def test_money_is_decimal_end_to_end() -> None:
    from spikeland.merch.catalogue import unit_price
    from spikeland.merch.models import MerchProduct, MerchVariant

    product = MerchProduct(retail_price=Decimal("24.99"))
    assert unit_price(product, MerchVariant(price_delta=Decimal("12.00"))) == Decimal("36.99")
    assert unit_price(product, None) == Decimal("24.99")
