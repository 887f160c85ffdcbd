"""API keys through the HTTP API: create once-shown keys, list, revoke, authenticate, the limit."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from spikeland.core.clock import utcnow
from spikeland.core.errors import ValidationFailed
from spikeland.core.security import digest
from spikeland.identity import api_keys
from tests.support import ClientFactory, bearer, make_user, sign_in

PASSWORD = "correct horse battery"


async def create_key(client: httpx.AsyncClient, name: str = "laptop") -> dict[str, Any]:
    response = await client.post("/api/v1/api-keys", json={"name": name})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_create_list_use_revoke(
    client: httpx.AsyncClient, new_client: ClientFactory, engine: AsyncEngine
) -> None:
    user = await sign_in(client)
    response = await client.post("/api/v1/api-keys", json={"name": "  CI runner  "})
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    key = created["key"]
    assert key.startswith("sk_live_") and len(key) >= len("sk_live_") + 43
    assert created["name"] == "CI runner" and created["isActive"] is True
    assert created["keyPrefix"] == key[:12] and created["lastUsedAt"] is None

    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                text('select "keyHash", "keyPrefix" from api_keys where id = :id'), {"id": created["id"]}
            )
        ).one()
    assert stored == (digest(key), key[:12])

    listed = await client.get("/api/v1/api-keys")
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [created["id"]]
    assert set(listed.json()["items"][0]) == {
        "id",
        "name",
        "keyPrefix",
        "lastUsedAt",
        "isActive",
        "createdAt",
    }
    assert key not in listed.text and digest(key) not in listed.text

    async with new_client() as other:  # no cookie: the key alone signs the request in
        me = await other.get("/api/v1/me", headers=bearer(key))
        assert me.status_code == 200 and me.json()["id"] == user.id

        assert (await client.delete(f"/api/v1/api-keys/{created['id']}")).status_code == 204
        revoked = await other.get("/api/v1/me", headers=bearer(key))
        assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "invalid_api_key"

    relisted = (await client.get("/api/v1/api-keys")).json()["items"]
    assert relisted[0]["isActive"] is False
    # revoking again changes nothing and says so quietly
    assert (await client.delete(f"/api/v1/api-keys/{created['id']}")).status_code == 204


async def test_another_users_key_is_not_found(client: httpx.AsyncClient, new_client: ClientFactory) -> None:
    await sign_in(client)
    mine = await create_key(client)
    async with new_client() as other:
        await sign_in(other)
        theirs = await other.delete(f"/api/v1/api-keys/{mine['id']}")
        assert theirs.status_code == 404 and theirs.json()["error"]["code"] == "api_key_not_found"
        assert (await other.get("/api/v1/api-keys")).json()["items"] == []
        assert (await other.get("/api/v1/me", headers=bearer(mine["key"]))).status_code == 200
    assert (await client.delete("/api/v1/api-keys/c-no-such-key")).status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer sk_live_" + "A" * 43,  # well formed, unknown
        "Bearer sk_test_" + "A" * 43,  # the original's development prefix
        "Bearer not-a-key",
        "Bearer ",
        "Bearer sk_live_" + "A" * 300,  # overlong
        "Basic dXNlcjpwYXNz",  # another scheme
    ],
)
async def test_unknown_or_malformed_keys_are_401(client: httpx.AsyncClient, authorization: str) -> None:
    response = await client.get("/api/v1/me", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"invalid_api_key", "invalid_credentials"}


@pytest.mark.parametrize(
    "body",
    [{"name": ""}, {"name": "   "}, {"name": "x" * 51}, {}, {"name": 123}, {"name": None}, {"name": ["a"]}],
)
async def test_bad_input_is_422(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    await sign_in(client)
    response = await client.post("/api/v1/api-keys", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_name_of_exactly_50_is_accepted(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    assert (await create_key(client, "n" * 50))["name"] == "n" * 50


async def test_key_routes_need_a_user(client: httpx.AsyncClient) -> None:
    for method, path in [("GET", ""), ("POST", ""), ("DELETE", "/whatever")]:
        response = await client.request(method, f"/api/v1/api-keys{path}", json={"name": "x"})
        assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"


async def test_at_most_ten_active_keys(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    keys = [await create_key(client, f"key {i}") for i in range(api_keys.MAX_ACTIVE_KEYS)]
    refused = await client.post("/api/v1/api-keys", json={"name": "one too many"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "api_key_limit_reached"
    assert (await client.delete(f"/api/v1/api-keys/{keys[0]['id']}")).status_code == 204
    await create_key(client, "fits again")
    listed = (await client.get("/api/v1/api-keys")).json()["items"]
    assert len(listed) == 11 and sum(item["isActive"] for item in listed) == 10
    assert listed[-1]["id"] == keys[0]["id"]  # revoked keys after the active ones


async def test_concurrent_creations_stop_at_ten(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    """15 creations at once, each request on its own session and connection: exactly 10 win."""
    user = await sign_in(client)
    responses = await asyncio.gather(
        *(client.post("/api/v1/api-keys", json={"name": f"race {i}"}) for i in range(15))
    )
    codes = sorted(response.status_code for response in responses)
    assert codes == [201] * 10 + [409] * 5, [r.text for r in responses if r.status_code not in (201, 409)]
    async with engine.connect() as conn:
        active = await conn.scalar(
            text('select count(*) from api_keys where "userId" = :u and "isActive"'), {"u": user.id}
        )
    assert active == 10


async def _last_used(engine: AsyncEngine, key_id: str) -> tuple[Any, Any]:
    # xmin changes with every write to the row: equal xmin means no UPDATE happened in between.
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text('select "lastUsedAt", xmin::text from api_keys where id = :id'), {"id": key_id}
            )
        ).one()
    return row[0], row[1]


async def test_last_used_is_written_once_per_granularity(
    app: FastAPI, client: httpx.AsyncClient, new_client: ClientFactory, engine: AsyncEngine
) -> None:
    await sign_in(client)
    created = await create_key(client)
    async with new_client() as caller:
        assert (await caller.get("/api/v1/me", headers=bearer(created["key"]))).status_code == 200
        first_used, first_version = await _last_used(engine, created["id"])
        assert first_used is not None
        assert (await caller.get("/api/v1/me", headers=bearer(created["key"]))).status_code == 200
        assert await _last_used(engine, created["id"]) == (first_used, first_version)

        # raw SQL sees the column as it is stored: naive UTC
        stale = (utcnow() - api_keys.LAST_USED_GRANULARITY - timedelta(seconds=1)).replace(tzinfo=None)
        async with engine.begin() as conn:
            await conn.execute(
                text('update api_keys set "lastUsedAt" = :t where id = :id'),
                {"t": stale, "id": created["id"]},
            )
        app.state.key_cache.forget(created["id"])  # it remembers the lastUsedAt it last read
        assert (await caller.get("/api/v1/me", headers=bearer(created["key"]))).status_code == 200
        refreshed, _ = await _last_used(engine, created["id"])
        assert refreshed > stale
    listed = (await client.get("/api/v1/api-keys")).json()["items"]
    assert listed[0]["lastUsedAt"] is not None


async def test_service_refuses_bad_names_too(session: AsyncSession) -> None:
    user = await make_user(session)
    with pytest.raises(ValidationFailed):
        await api_keys.create_key(session, user.id, " " * 3)
    with pytest.raises(ValidationFailed):
        await api_keys.create_key(session, user.id, "x" * 51)
    created = await api_keys.create_key(session, user.id, "script")
    found = await api_keys.authenticate(session, created.secret)
    assert found is not None and found.user.id == user.id and found.api_key_id == created.api_key.id
