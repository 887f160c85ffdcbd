"""Twenty sign-ups racing for one email: exactly one account, twenty identical 202s.

The unique index on users.email decides; ``create_user`` turns the loser's IntegrityError into
``email_taken``, which the sign-up answers like any address that has an account. Both the HTTP
path (concurrent requests, each on its own pooled connection) and the service on twenty separate
sessions are raced.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from spikeland.core.errors import Conflict
from spikeland.identity.models import User
from spikeland.identity.service import create_user
from spikeland.ops.models import EmailLog

# One xdist worker runs all the tests that open many connections at once, one after another:
# two of them side by side would pass the server's max_connections (100).
pytestmark = pytest.mark.xdist_group("many_connections")

RACERS = 20


async def users_with(engine: AsyncEngine, email: str) -> int:
    async with engine.connect() as conn:
        statement = select(func.count()).select_from(User).where(User.email == email)
        return int((await conn.execute(statement)).scalar_one())


async def test_parallel_http_signups_make_one_user(client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    email = f"race-{secrets.token_hex(4)}@example.com"
    # Spelled differently each time: normalisation happens before the race, not after it.
    spellings = [email.upper() if i % 2 else f"  {email} " for i in range(RACERS)]
    responses = await asyncio.gather(
        *(client.post("/api/v1/auth/signup", json={"email": s, "password": "long enough"}) for s in spellings)
    )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {202: RACERS}, [r.text for r in responses if r.status_code != 202]
    assert len({r.text for r in responses}) == 1  # the winner's answer is everyone's answer
    assert await users_with(engine, email) == 1
    async with engine.connect() as conn:
        mailed = select(EmailLog.template).join(User, User.id == EmailLog.user_id).where(User.email == email)
        templates = Counter((await conn.execute(mailed)).scalars())
    assert templates["VERIFY_EMAIL"] == 1 and set(templates) <= {"VERIFY_EMAIL", "SIGNUP_ATTEMPT"}


async def _sign_up(engine: AsyncEngine, email: str, start: asyncio.Event) -> str:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        # Open the transaction and hold a connection before the start, so the inserts really overlap.
        await session.connection()
        await start.wait()
        try:
            user = await create_user(session, email=email, password_hash=None)
            await session.commit()
        except Conflict as exc:
            await session.rollback()
            return exc.code
        return f"created:{user.id}"


async def test_parallel_service_signups_on_separate_connections_make_one_user(engine: AsyncEngine) -> None:
    email = f"race-{secrets.token_hex(4)}@example.com"
    start = asyncio.Event()
    racers = [asyncio.create_task(_sign_up(engine, email, start)) for _ in range(RACERS)]
    await asyncio.sleep(0.2)  # let every racer check out its connection
    start.set()
    outcomes = await asyncio.gather(*racers)
    created = [o for o in outcomes if o.startswith("created:")]
    assert len(created) == 1 and Counter(outcomes)["email_taken"] == RACERS - 1, outcomes
    assert await users_with(engine, email) == 1
