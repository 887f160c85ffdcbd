"""Sign-up says nothing about who has an account, and one IP cannot make accounts without end.

Every sign-up is 202 with the same body; a new address gets its account and a confirmation
mail, an address with an account gets no change and its owner a "someone tried" mail.
"""

from __future__ import annotations

import secrets

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from spikeland.app import create_app
from spikeland.identity.models import User
from spikeland.settings import Settings
from tests.support import client_of
from tests.support.mail import CONFIRM, mails_to

SIGNUP = "/api/v1/auth/signup"
LOGIN = "/api/v1/auth/login"
TRIED = "Someone tried to sign up with your email address"


def new_email() -> str:
    return f"signup-{secrets.token_hex(4)}@example.com"


async def accounts(engine: AsyncEngine, email: str) -> int:
    async with engine.connect() as conn:
        counted = select(func.count()).select_from(User).where(User.email == email)
        return int((await conn.execute(counted)).scalar_one())


async def test_an_address_with_an_account_is_answered_like_a_new_one(
    client: httpx.AsyncClient, settings: Settings, engine: AsyncEngine
) -> None:
    owner, newcomer = new_email(), new_email()
    first = await client.post(SIGNUP, json={"email": owner, "password": "owner's password"})
    again = await client.post(
        SIGNUP, json={"email": owner.upper(), "password": "someone else's", "name": "X"}
    )
    fresh = await client.post(SIGNUP, json={"email": newcomer, "password": "a new password"})

    assert first.status_code == again.status_code == fresh.status_code == 202
    assert first.json() == again.json() == fresh.json()
    assert first.json() == {"status": "accepted", "message": first.json()["message"]}
    assert first.headers.keys() == again.headers.keys()  # no cookie, nothing else told apart
    assert await accounts(engine, owner) == await accounts(engine, newcomer) == 1

    # The owner's account is unchanged and they are told; each new address gets its confirmation.
    assert [m["Subject"] for m in mails_to(settings, owner)] == [CONFIRM, TRIED]
    assert [m["Subject"] for m in mails_to(settings, newcomer)] == [CONFIRM]
    tried = mails_to(settings, owner, TRIED)[0].get_body(preferencelist=("plain",))
    assert tried is not None and settings.public_url in tried.get_content()
    assert (await client.post(LOGIN, json={"email": owner, "password": "someone else's"})).status_code == 401
    assert (
        await client.post(LOGIN, json={"email": owner, "password": "owner's password"})
    ).status_code == 200
    assert (
        await client.post(LOGIN, json={"email": newcomer, "password": "a new password"})
    ).status_code == 200


async def test_an_owner_is_told_a_limited_number_of_times(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    owner = new_email()
    for _ in range(settings.verification_requests_per_email + 3):
        answer = await client.post(SIGNUP, json={"email": owner, "password": "long enough"})
        assert answer.status_code == 202  # never a 429 that only an existing address would get
    assert len(mails_to(settings, owner, TRIED)) == settings.verification_requests_per_email


async def test_signups_are_limited_per_ip(settings: Settings, database_url: str, engine: AsyncEngine) -> None:
    limited = settings.model_copy(update={"signups_per_ip": 3, "trust_proxy_headers": True})
    app = create_app(limited, database_url=database_url)
    from_one_ip = {"X-Forwarded-For": f"203.0.113.{secrets.randbelow(250) + 1}"}
    known = new_email()
    async with app.router.lifespan_context(app), client_of(app) as client:
        for email in (known, new_email(), known):  # an address with an account counts too
            answer = await client.post(
                SIGNUP, json={"email": email, "password": "long enough"}, headers=from_one_ip
            )
            assert answer.status_code == 202, answer.text
        for email in (new_email(), known):
            refused = await client.post(
                SIGNUP, json={"email": email, "password": "long enough"}, headers=from_one_ip
            )
            assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
            assert 0 < int(refused.headers["retry-after"]) <= limited.signup_window_seconds
            assert await accounts(engine, email) == (email == known)
        elsewhere = {"X-Forwarded-For": "198.51.100.7"}
        other = await client.post(
            SIGNUP, json={"email": new_email(), "password": "long enough"}, headers=elsewhere
        )
        assert other.status_code == 202
