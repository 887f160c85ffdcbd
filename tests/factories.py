"""Small factory functions for tests: each makes one row with sensible defaults and flushes."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.identity.models import User


async def make_user(session: AsyncSession, **fields: Any) -> User:
    fields.setdefault("email", f"user-{secrets.token_hex(4)}@example.com")
    user = User(**fields)
    session.add(user)
    await session.flush()
    return user
