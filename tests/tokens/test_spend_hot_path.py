"""``POST /tokens/spend`` on its hot path: the caller found by plain SQL on the request's driver
connection, no ORM session. It must answer exactly like the ORM routes (``/me``) for every
credential, and keep one transaction per request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spikeland.core.clock import utcnow
from spikeland.core.security import digest
from spikeland.identity.deps import SESSION_COOKIE
from spikeland.identity.service import SLIDE_EVERY
from tests.support import ClientFactory, bearer, new_key, sign_in

SPEND = "/api/v1/tokens/spend"
BODY = {"amount": 1, "purpose": "enhancement"}


async def last_used(engine: AsyncEngine, key_id: str) -> Any:
    async with engine.connect() as conn:
        return await conn.scalar(text('select "lastUsedAt" from api_keys where id = :id'), {"id": key_id})


async def test_an_api_key_spends_and_a_revoked_one_does_not(
    client: httpx.AsyncClient, new_client: ClientFactory, engine: AsyncEngine
) -> None:
    await sign_in(client)
    key = await new_key(client)
    async with new_client() as caller:
        spent = await caller.post(SPEND, json=BODY, headers=bearer(key["key"]) | {"Idempotency-Key": "a"})
        assert spent.status_code == 201, spent.text
        assert spent.json()["balanceAfter"] == 9 and spent.json()["applied"] is True
        assert await last_used(engine, key["id"]) is not None

        assert (await client.delete(f"/api/v1/api-keys/{key['id']}")).status_code == 204
        refused = await caller.post(SPEND, json=BODY, headers=bearer(key["key"]))
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    assert (await client.get("/api/v1/tokens/balance")).json()["balance"] == 9


@pytest.mark.parametrize(
    ("headers", "cookie"),
    [
        ({}, None),  # nobody
        ({"Authorization": "Bearer sk_live_" + "A" * 43}, None),  # well formed, unknown
        ({"Authorization": "Bearer not-a-key"}, None),
        ({"Authorization": "Bearer sk_live_" + "A" * 300}, None),  # overlong
        ({"Authorization": "Basic dXNlcjpwYXNz"}, None),  # another scheme
        ({}, "no-such-session"),
    ],
)
async def test_bad_credentials_are_refused_exactly_as_the_orm_routes_refuse_them(
    client: httpx.AsyncClient, headers: dict[str, str], cookie: str | None
) -> None:
    if cookie is not None:
        client.cookies.set(SESSION_COOKIE, cookie)
    hot = await client.post(SPEND, json=BODY, headers=headers)
    orm = await client.get("/api/v1/me", headers=headers)
    assert hot.status_code == orm.status_code == 401
    assert hot.json() == orm.json()
    assert hot.headers.get("set-cookie") == orm.headers.get("set-cookie")


async def test_credentials_are_checked_before_the_body(client: httpx.AsyncClient) -> None:
    refused = await client.post(SPEND, json={"amount": "lots"})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "not_authenticated"


async def test_a_refused_spend_rolls_back_the_whole_request(
    client: httpx.AsyncClient, new_client: ClientFactory, engine: AsyncEngine
) -> None:
    """The key's lastUsedAt is written in the request's transaction: a 402 leaves it unwritten."""
    await sign_in(client)
    key = await new_key(client)
    async with new_client() as caller:
        short = await caller.post(SPEND, json={"amount": 11, "purpose": "box"}, headers=bearer(key["key"]))
        assert short.status_code == 402 and short.json()["error"]["code"] == "insufficient_tokens"
        assert await last_used(engine, key["id"]) is None
        assert (await caller.post(SPEND, json=BODY, headers=bearer(key["key"]))).status_code == 201
        assert await last_used(engine, key["id"]) is not None


async def test_a_session_slides_forward_on_the_hot_path_as_on_the_orm_routes(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await sign_in(client)
    token = client.cookies[SESSION_COOKIE]
    for path, method in [(SPEND, "POST"), ("/api/v1/me", "GET")]:
        # raw SQL sees the column as stored: naive UTC; an expiry this old is due to slide
        due = (utcnow() + timedelta(days=30) - SLIDE_EVERY - timedelta(hours=1)).replace(tzinfo=None)
        async with engine.begin() as conn:
            await conn.execute(
                text('update sessions set expires = :e where "sessionToken" = :t'),
                {"e": due, "t": digest(token)},
            )
        answer = await client.request(method, path, json=BODY if method == "POST" else None)
        assert answer.status_code in (200, 201), answer.text
        assert answer.headers["set-cookie"].startswith(f"{SESSION_COOKIE}={token}")
        async with engine.connect() as conn:
            expires = await conn.scalar(
                text('select expires from sessions where "sessionToken" = :t'), {"t": digest(token)}
            )
        assert expires > due + timedelta(hours=1)
        again = await client.request(method, path, json=BODY if method == "POST" else None)
        assert "set-cookie" not in again.headers  # slid once, not on every request
