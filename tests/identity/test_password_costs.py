"""bcrypt costs: a sign-in moves a hash to the configured cost, and the decoy comparison made for
an unknown address follows the cost most stored hashes have (so neither stands out by its time)."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from spikeland.app import create_app
from spikeland.core.security import cost_of, hash_password, verify_password
from spikeland.identity.models import User
from spikeland.identity.password_costs import DecoyCost, most_common_cost
from spikeland.settings import Settings
from tests.support import client_of

PASSWORD = "an old password"


def new_email() -> str:
    return f"cost-{secrets.token_hex(4)}@example.com"


async def stored_hash(engine: AsyncEngine, email: str) -> str | None:
    async with engine.connect() as conn:
        return (await conn.execute(select(User.password_hash).where(User.email == email))).scalar_one()


@pytest.mark.parametrize("stored_cost", [4, 6])
async def test_sign_in_rehashes_at_the_configured_cost(
    settings: Settings, database_url: str, engine: AsyncEngine, stored_cost: int
) -> None:
    email = new_email()
    async with engine.begin() as conn:
        await conn.execute(
            insert(User).values(email=email, password_hash=await hash_password(PASSWORD, stored_cost))
        )
    app = create_app(settings.model_copy(update={"bcrypt_cost": 5}), database_url=database_url)
    async with app.router.lifespan_context(app), client_of(app) as client:
        wrong = await client.post("/api/v1/auth/login", json={"email": email, "password": "not it"})
        assert wrong.status_code == 401
        assert cost_of(await stored_hash(engine, email)) == stored_cost  # no password, no rehash

        for _ in range(2):  # the new hash verifies, and is not replaced again
            login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            assert login.status_code == 200, login.text
            rehashed = await stored_hash(engine, email)
            assert cost_of(rehashed) == 5 and await verify_password(PASSWORD, rehashed, 5)


async def test_decoy_cost_follows_most_stored_hashes(session: AsyncSession) -> None:
    hashed = select(func.count()).select_from(User).where(User.password_hash.is_not(None))
    already = int((await session.execute(hashed)).scalar_one())

    async def add_hashes(cost: int, how_many: int) -> None:
        value = await hash_password("whatever it is", cost)
        rows = [{"email": new_email(), "password_hash": value} for _ in range(how_many)]
        await session.execute(insert(User), rows)

    await add_hashes(6, already + 1)  # now the most common cost, whatever other tests stored
    assert await most_common_cost(session) == 6
    decoy = DecoyCost(fallback=12)
    assert await decoy.current(session) == 6

    await add_hashes(7, already + 2)
    assert await most_common_cost(session) == 7
    assert await decoy.current(session) == 6  # counted again only after its refresh interval
    assert await DecoyCost(fallback=12, refresh_seconds=0).current(session) == 7


def test_cost_of_reads_bcrypt_hashes_only() -> None:
    assert cost_of("$2b$12$" + "a" * 53) == 12
    assert cost_of("$2a$04$" + "a" * 53) == 4
    for other in (None, "", "$2b$12$short", "plain text", "$argon2id$v=19$m=65536,t=3,p=4$x$y"):
        assert cost_of(other) is None


async def test_a_cheap_hash_still_answers_right_and_wrong() -> None:
    # A wrong password on a hash cheaper than the decoy spends the decoy too; the answer is unchanged.
    cheap = await hash_password(PASSWORD, 4)
    assert await verify_password(PASSWORD, cheap, 6)
    assert not await verify_password("not it", cheap, 6)
    assert not await verify_password(PASSWORD, None, 6)
