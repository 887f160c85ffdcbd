"""Growth test fixtures: the app with growth's routers and hooks, signed-in clients, vouchers."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import spikeland.growth.hooks  # noqa: F401  (registers the referral hooks)
from spikeland.core.security import hash_password
from spikeland.db.engine import transaction
from spikeland.growth.models import Voucher, VoucherStatus, VoucherType
from spikeland.identity.models import User, UserRole
from tests.factories import make_user

PASSWORD = "correct horse battery"
SignIn = Callable[..., Awaitable[tuple[httpx.AsyncClient, str]]]


def new_email(tag: str = "grow", domain: str = "example.com") -> str:
    return f"{tag}-{secrets.token_hex(4)}@{domain}"


def new_code(prefix: str = "T") -> str:
    return f"{prefix}{secrets.token_hex(6).upper()}"


def http_client(app: FastAPI, ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


@pytest.fixture
async def sign_in(app: FastAPI) -> AsyncIterator[SignIn]:
    """``await sign_in(role=..., email=..., **user_fields)``: a committed user, signed in on a client."""
    async with AsyncExitStack() as stack:

        async def make(
            role: UserRole = UserRole.USER, email: str | None = None, **fields: Any
        ) -> tuple[httpx.AsyncClient, str]:
            email = email or new_email()
            password_hash = await hash_password(PASSWORD, app.state.settings.bcrypt_cost)
            async with transaction(app.state.sessionmaker) as session:
                user = await make_user(session, email=email, password_hash=password_hash, role=role, **fields)
                user_id = user.id
            client = await stack.enter_async_context(http_client(app))
            login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
            assert login.status_code == 200, login.text
            return client, user_id

        yield make


async def make_voucher(session: AsyncSession, **fields: Any) -> Voucher:
    fields.setdefault("code", new_code())
    fields.setdefault("type", VoucherType.FIXED_TOKENS)
    fields.setdefault("value", 25)
    fields.setdefault("current_uses", 0)
    fields.setdefault("status", VoucherStatus.ACTIVE)
    voucher = Voucher(**fields)
    session.add(voucher)
    await session.flush()
    return voucher


async def committed_voucher(app: FastAPI, **fields: Any) -> Voucher:
    async with transaction(app.state.sessionmaker) as session:
        return await make_voucher(session, **fields)


async def fetch(app: FastAPI, model: Any, **where: Any) -> list[Any]:
    async with transaction(app.state.sessionmaker) as session:
        return list((await session.scalars(select(model).filter_by(**where))).all())


async def user_row(app: FastAPI, user_id: str) -> User:
    async with transaction(app.state.sessionmaker) as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)
