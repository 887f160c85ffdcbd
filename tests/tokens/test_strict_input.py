"""Request types are what the schema says: an integer field takes no string, boolean or fraction,
a date-time only an ISO 8601 string — in bodies and query parameters alike (422
``validation_error``), where Pydantic's lax mode would have read ``"100"`` as 100, ``true`` as 1
and ``?at=0.5`` as a Unix time."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import sign_in
from tests.support.albums import make_album


def refused(response: httpx.Response) -> bool:
    return response.status_code == 422 and response.json()["error"]["code"] == "validation_error"


async def test_integers_are_integers(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    target = (await sign_in(client)).id
    for amount in ("2", True, 2.0, 2.5, None):
        response = await client.post("/api/v1/tokens/spend", json={"amount": amount, "purpose": "box"})
        assert refused(response), (amount, response.text)
    client.cookies.clear()
    admin_id = (await sign_in(client)).id
    async with engine.begin() as conn:
        await conn.execute(text("update users set role = 'ADMIN' where id = :id"), {"id": admin_id})
    for amount in ("100", True, 100.0):
        response = await client.post(
            f"/api/v1/admin/users/{target}/tokens", json={"amount": amount, "reason": "typed"}
        )
        assert refused(response), (amount, response.text)
    adjusted = await client.post(f"/api/v1/admin/users/{target}/tokens", json={"amount": 100, "reason": "ok"})
    assert adjusted.status_code == 201 and adjusted.json()["balanceAfter"] == 110


async def test_a_point_in_time_is_an_iso_date_time(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    assert (await client.get("/api/v1/tokens/balance")).json()["balance"] == 10
    for at in ("0.5", "1700000000", "-1", "true", "now"):
        response = await client.get("/api/v1/tokens/balance", params={"at": at})
        assert refused(response), (at, response.text)
    for at in ("2030-01-01T00:00:00+00:00", "2030-01-01T00:00:00Z"):
        response = await client.get("/api/v1/tokens/balance", params={"at": at})
        assert response.status_code == 200 and response.json()["balance"] == 10, response.text


async def test_a_sort_order_and_enums_keep_their_json_types(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client, privacy="UNLISTED", defaultTier="TIER_2K", sortOrder=7)
    assert (album["privacy"], album["defaultTier"], album["sortOrder"]) == ("UNLISTED", "TIER_2K", 7)
    url = f"/api/v1/albums/{album['id']}"
    for change in ({"sortOrder": False}, {"sortOrder": "1"}, {"sortOrder": 1.5}):
        assert refused(await client.patch(url, json=change)), change
    assert (await client.get(url)).json()["sortOrder"] == 7
