"""Idempotency-Keys on the ledger: per user, one key names one request — whatever it spends on.

The same request again gets the first result; another request under the same key (another
amount, purpose, description) is 422 ``idempotency_key_reused`` and moves nothing."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from spikeland.tokens.idempotency import FINGERPRINT_KEY
from tests.support import ClientFactory, sign_in

SPEND = "/api/v1/tokens/spend"


async def spend(client: httpx.AsyncClient, key: str, **body: Any) -> httpx.Response:
    return await client.post(SPEND, json=body, headers={"Idempotency-Key": key})


async def movements(engine: AsyncEngine, user_id: str) -> list[Any]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text('SELECT id, amount, metadata FROM token_transactions WHERE "userId" = :u AND amount < 0'),
            {"u": user_id},
        )
        return list(result.all())


async def balance(client: httpx.AsyncClient) -> int:
    return int((await client.get("/api/v1/tokens/balance")).json()["balance"])


async def test_a_key_reused_for_another_spend_is_refused(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    user_id = (await sign_in(client)).id
    first = await spend(client, "order-1", amount=2, purpose="box", description="a box")
    assert first.status_code == 201 and first.json()["applied"] is True
    for other in (
        {"amount": 3, "purpose": "box", "description": "a box"},
        {"amount": 2, "purpose": "generation", "description": "a box"},  # another type: it was found
        {"amount": 2, "purpose": "box", "description": "another box"},
        {"amount": 2, "purpose": "box"},
    ):
        refused = await spend(client, "order-1", **other)
        assert refused.status_code == 422, (other, refused.text)
        assert refused.json()["error"]["code"] == "idempotency_key_reused"
    same = await spend(client, "order-1", amount=2, purpose="box", description="a box")
    assert same.status_code == 201 and same.json()["applied"] is False
    assert same.json()["transactionId"] == first.json()["transactionId"]
    assert await balance(client) == 8
    [row] = await movements(engine, user_id)
    assert len(row.metadata[FINGERPRINT_KEY]) == 64 and row.metadata["description"] == "a box"


async def test_a_key_belongs_to_one_user(client: httpx.AsyncClient, new_client: ClientFactory) -> None:
    await sign_in(client)
    assert (await spend(client, "shared", amount=1, purpose="box")).status_code == 201
    async with new_client() as other:
        await sign_in(other)
        theirs = await spend(other, "shared", amount=4, purpose="generation")
        assert theirs.status_code == 201 and theirs.json()["applied"] is True
        assert await balance(other) == 6


# Ten requests at once: beside the many-connection tests it could pass max_connections (503).
@pytest.mark.xdist_group("many_connections")
async def test_ten_different_requests_at_once_under_one_key_move_once(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    user_id = (await sign_in(client)).id
    key = f"race-{secrets.token_hex(4)}"
    bodies = [{"amount": 1 + i % 2, "purpose": "box"} for i in range(10)]
    responses = await asyncio.gather(*(spend(client, key, **body) for body in bodies))
    [row] = await movements(engine, user_id)
    for body, response in zip(bodies, responses, strict=True):
        if body["amount"] == -row.amount:  # the winner's request: its result
            assert response.status_code == 201 and response.json()["transactionId"] == row.id
        else:
            assert response.status_code == 422, response.text
            assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert await balance(client) == 10 + row.amount


async def test_an_admin_key_names_one_adjustment_of_a_user(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    target = (await sign_in(client)).id
    client.cookies.clear()
    admin_id = (await sign_in(client)).id
    async with engine.begin() as conn:
        await conn.execute(text("update users set role = 'ADMIN' where id = :id"), {"id": admin_id})
    url, headers = f"/api/v1/admin/users/{target}/tokens", {"Idempotency-Key": "fix-1"}
    first = await client.post(url, json={"amount": 5, "reason": "goodwill"}, headers=headers)
    again = await client.post(url, json={"amount": 5, "reason": "goodwill"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["transactionId"] == again.json()["transactionId"] and again.json()["applied"] is False
    other = await client.post(url, json={"amount": 50, "reason": "goodwill"}, headers=headers)
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert again.json()["balanceAfter"] == 15
    async with engine.connect() as conn:
        audited = await conn.scalar(
            text("select count(*) from audit_logs where \"targetId\" = :t and action = 'TOKEN_ADJUSTMENT'"),
            {"t": target},
        )
    assert audited == 1
