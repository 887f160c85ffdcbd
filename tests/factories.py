"""Small factory functions for tests: rows with sensible defaults (flushed), HTTP clients on the app."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.identity.models import User

ClientFactory = Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]


@asynccontextmanager
async def client_of(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on ``app`` (in process), with its own cookie jar."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def sign_up(
    client: httpx.AsyncClient, email: str | None = None, password: str = "long enough", **fields: Any
) -> dict[str, Any]:
    """A new account through the API, signed in on ``client``; returns the user as sign-in shows it.

    Sign-up answers 202 and no user (it must not tell whether the address had an account), so the
    account is read back by signing in.
    """
    email = email or f"user-{secrets.token_hex(4)}@example.com"
    created = await client.post("/api/v1/auth/signup", json={"email": email, "password": password, **fields})
    assert created.status_code == 202, created.text
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    user: dict[str, Any] = login.json()["user"]
    return user


async def make_user(session: AsyncSession, **fields: Any) -> User:
    fields.setdefault("email", f"user-{secrets.token_hex(4)}@example.com")
    user = User(**fields)
    session.add(user)
    await session.flush()
    return user
