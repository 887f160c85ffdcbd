"""The API key cache (``identity.key_cache``): used while it listens, forgets a key the moment any
change can end it (in every process), and never outlives its notifications."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from spikeland.app import create_app
from spikeland.core.security import digest
from spikeland.identity import admin, api_keys
from spikeland.identity.key_cache import KeyCache
from spikeland.identity.models import UserRole
from spikeland.settings import Settings
from tests.support import bearer, client_of, make_user, new_key, sign_in

SPEND = "/api/v1/tokens/spend"
BODY = {"amount": 1, "purpose": "enhancement"}


async def until(check: Callable[[], Awaitable[bool] | bool], seconds: float = 5) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        outcome = check()
        if outcome if isinstance(outcome, bool) else await outcome:
            return
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def cache_of(app: FastAPI) -> KeyCache:
    cache: KeyCache = app.state.key_cache
    return cache


async def spend(client: httpx.AsyncClient, key: str) -> int:
    return (await client.post(SPEND, json=BODY, headers=bearer(key))).status_code


async def cached_key(app: FastAPI, client: httpx.AsyncClient) -> dict[str, str]:
    """A new key, spent with until this app's cache holds it (its lastUsedAt written first)."""
    await until(lambda: cache_of(app).listening)
    await sign_in(client)
    key = await new_key(client)
    for _ in range(2):  # the first writes lastUsedAt; the second reads it written and remembers
        assert await spend(client, key["key"]) == 201
    assert cache_of(app).get(digest(key["key"])) is not None
    return key


@asynccontextmanager
async def trigger_off(engine: AsyncEngine) -> AsyncIterator[None]:
    """Changes made meanwhile announce nothing (as if the notification were lost)."""
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE api_keys DISABLE TRIGGER api_keys_changed"))
    try:
        yield
    finally:
        async with engine.begin() as conn:
            await conn.execute(text("ALTER TABLE api_keys ENABLE TRIGGER api_keys_changed"))


async def sql(engine: AsyncEngine, statement: str, **params: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(statement), params)


async def test_a_known_key_is_answered_from_the_cache(
    app: FastAPI, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await cached_key(app, client)
    async with trigger_off(engine):  # revoked without a word: only the cache still says yes
        await sql(engine, 'UPDATE api_keys SET "isActive" = false WHERE id = :id', id=key["id"])
        assert await spend(client, key["key"]) == 201
    cache_of(app).forget(key["id"])
    assert await spend(client, key["key"]) == 401


@pytest.mark.parametrize(
    "ending",
    [
        'UPDATE api_keys SET "isActive" = false WHERE id = :key',
        "DELETE FROM api_keys WHERE id = :key",
        "DELETE FROM users WHERE id = :user",  # the user's keys go by cascade
    ],
)
async def test_any_sql_that_ends_a_key_is_heard(
    app: FastAPI, client: httpx.AsyncClient, engine: AsyncEngine, ending: str
) -> None:
    key = await cached_key(app, client)
    user_id = (await client.get("/api/v1/me")).json()["id"]
    await sql(engine, ending, key=key["id"], user=user_id)
    await until(lambda: cache_of(app).get(digest(key["key"])) is None)
    assert await spend(client, key["key"]) == 401


async def test_a_revocation_in_one_process_is_heard_by_another(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, database_url: str
) -> None:
    other = create_app(settings, database_url=database_url)
    async with other.router.lifespan_context(other), client_of(other) as elsewhere:
        key = await cached_key(app, client)
        await until(lambda: cache_of(other).listening)
        for _ in range(2):
            assert await spend(elsewhere, key["key"]) == 201
        assert cache_of(other).get(digest(key["key"])) is not None
        assert (await client.delete(f"/api/v1/api-keys/{key['id']}")).status_code == 204
        assert await spend(client, key["key"]) == 401  # its own process: forgotten at once
        await until(lambda: cache_of(other).get(digest(key["key"])) is None)
        assert await spend(elsewhere, key["key"]) == 401


async def test_without_its_listener_the_cache_is_not_used(
    app: FastAPI, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    key = await cached_key(app, client)
    await sql(
        engine,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        # this database's listener only: other xdist workers' apps listen on the same server
        "WHERE application_name = 'spikeland-key-cache' AND datname = current_database()",
    )
    await until(lambda: not cache_of(app).listening)
    assert cache_of(app).get(digest(key["key"])) is None
    async with trigger_off(engine):  # a change nobody hears: the database answers, not the cache
        await sql(engine, 'UPDATE api_keys SET "isActive" = false WHERE id = :id', id=key["id"])
        assert await spend(client, key["key"]) == 401
    await until(lambda: cache_of(app).listening)  # it listens again by itself


async def test_a_lookup_older_than_a_change_is_not_stored(app: FastAPI) -> None:
    cache = cache_of(app)
    await until(lambda: cache.listening)
    before = cache.generation()
    cache.forget("some-key")  # a key changed while the lookup ran
    cache.put("digest-1", "key-1", "user-1", 0.0, before)
    assert cache.get("digest-1") is None
    cache.put("digest-1", "key-1", "user-1", 0.0, cache.generation())
    assert cache.get("digest-1") is not None


async def test_entries_expire(settings: Settings, database_url: str) -> None:
    from sqlalchemy.engine import make_url

    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    cache = KeyCache(dsn, ttl=0.2)
    cache.start()
    try:
        await until(lambda: cache.listening)
        cache.put("digest-2", "key-2", "user-2", 0.0, cache.generation())
        assert cache.get("digest-2") is not None
        await asyncio.sleep(0.3)
        assert cache.get("digest-2") is None
    finally:
        await cache.close()


async def test_a_service_that_ends_keys_forgets_them_in_the_running_apps_cache(
    app: FastAPI, client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    """Revoking and deleting through the services (as the CLI or a job would, no route involved)
    forgets at once in this process: with the trigger off, nothing else could have."""
    revoked = await cached_key(app, client)
    owner = (await client.get("/api/v1/me")).json()["id"]
    async with trigger_off(engine), AsyncSession(engine, expire_on_commit=False) as session:
        await api_keys.revoke_key(session, owner, revoked["id"])
        await session.commit()
        assert cache_of(app).get(digest(revoked["key"])) is None

    async with client_of(app) as other:
        kept = await cached_key(app, other)
        user_id = (await other.get("/api/v1/me")).json()["id"]
    async with trigger_off(engine), AsyncSession(engine, expire_on_commit=False) as session:
        actor = await make_user(session, role=UserRole.ADMIN)
        await admin.delete_user(session, actor, user_id, None)
        await session.commit()
        assert cache_of(app).get(digest(kept["key"])) is None
