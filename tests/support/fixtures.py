"""Fixtures every test folder may use (registered in tests/conftest.py through ``pytest_plugins``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from spikeland.identity.models import UserRole
from tests.support.auth import sign_in
from tests.support.clients import http_client

UserClient = Callable[..., Awaitable[tuple[httpx.AsyncClient, str]]]


@pytest.fixture
async def user_client(app: FastAPI) -> AsyncIterator[UserClient]:
    """``await user_client(role=..., email=..., **user_fields)``: a committed bare user (no sign-up
    hooks) signed in on a client of its own, closed after the test; returns (client, user id)."""
    async with AsyncExitStack() as stack:

        async def make(
            role: UserRole = UserRole.USER, email: str | None = None, **fields: Any
        ) -> tuple[httpx.AsyncClient, str]:
            client = await stack.enter_async_context(http_client(app))
            user = await sign_in(client, email, bare=True, role=role, **fields)
            return client, user.id

        yield make
