"""Signing in: ``sign_in`` writes the user and a session straight to the database (no HTTP round
trips, no password check); ``sign_up`` goes through the API, for the tests of that flow."""

from __future__ import annotations

from typing import Any

import httpx

from spikeland.core.security import hash_password
from spikeland.db.engine import transaction
from spikeland.identity.deps import SESSION_COOKIE
from spikeland.identity.models import User
from spikeland.identity.service import create_session, create_user
from tests.support.clients import app_of
from tests.support.factories import make_user, new_email

PASSWORD = "correct horse battery"

# create_user's own parameters; other fields (role, tier…) are set on the row afterwards.
_CREATE_FIELDS = {"name", "image", "email_verified", "referred_by_id", "ip"}
_hashes: dict[tuple[str, int], str] = {}


async def hashed(password: str, cost: int) -> str:
    """The password's hash, made once per run: a test that logs in again still can."""
    if (password, cost) not in _hashes:
        _hashes[password, cost] = await hash_password(password, cost)
    return _hashes[password, cost]


async def sign_in(
    client: httpx.AsyncClient,
    email: str | None = None,
    password: str = PASSWORD,
    *,
    bare: bool = False,
    **fields: Any,
) -> User:
    """A new committed user with a session cookie on ``client``; returns the user row (detached).

    The sign-up hooks run, as for a real sign-up (free tokens, referral code, default albums),
    unless ``bare``: then the user is a plain ``make_user`` row with ``fields``.
    """
    app = app_of(client)
    settings = app.state.settings
    password_hash = await hashed(password, settings.bcrypt_cost)
    async with transaction(app.state.sessionmaker) as session:
        if bare:
            user = await make_user(session, email=email or new_email(), password_hash=password_hash, **fields)
        else:
            created = {key: fields.pop(key) for key in list(fields) if key in _CREATE_FIELDS}
            user = await create_user(
                session, email=email or new_email(), password_hash=password_hash, **created
            )
            for key, value in fields.items():
                setattr(user, key, value)
            await session.flush()
    await start_session(client, user.id)
    return user


async def start_session(client: httpx.AsyncClient, user_id: str) -> None:
    """Sign ``client`` in as an existing user: a session row and its cookie, as login would make."""
    app = app_of(client)
    async with transaction(app.state.sessionmaker) as session:
        token, _ = await create_session(session, user_id, app.state.settings.session_days)
    # The domain the jar gives a cookie the server sets for host "test", so a renewal replaces it.
    client.cookies.set(SESSION_COOKIE, token, domain="test.local", path="/")


async def sign_up(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD, **fields: Any
) -> dict[str, Any]:
    """A new account through the API, signed in on ``client``; returns the user as login shows it.

    Sign-up answers 202 and no user (it must not tell whether the address had an account), so the
    account is read back by logging in.
    """
    email = email or new_email()
    created = await client.post("/api/v1/auth/signup", json={"email": email, "password": password, **fields})
    assert created.status_code == 202, created.text
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    user: dict[str, Any] = login.json()["user"]
    return user


async def new_key(client: httpx.AsyncClient, name: str = "test key") -> dict[str, Any]:
    """An API key of the user signed in on ``client``, made through the API; returns its JSON."""
    created = await client.post("/api/v1/api-keys", json={"name": name})
    assert created.status_code == 201, created.text
    key: dict[str, Any] = created.json()
    return key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
