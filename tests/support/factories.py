"""Small factory functions: rows with sensible defaults, flushed on the caller's session."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.db.engine import transaction
from spikeland.growth.models import Voucher, VoucherStatus, VoucherType
from spikeland.identity.models import User
from spikeland.images.models import EnhancedImage, EnhancementPipeline, PipelineVisibility


def new_email(tag: str = "user", domain: str = "example.com") -> str:
    return f"{tag}-{secrets.token_hex(4)}@{domain}"


def new_code(prefix: str = "T") -> str:
    return f"{prefix}{secrets.token_hex(6).upper()}"


async def make_user(session: AsyncSession, **fields: Any) -> User:
    """A bare user row: no sign-up hooks (no grant, no referral code); ``sign_in`` runs them."""
    fields.setdefault("email", new_email())
    user = User(**fields)
    session.add(user)
    await session.flush()
    return user


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


async def make_image(session: AsyncSession, user_id: str, **fields: Any) -> EnhancedImage:
    """An image row of ``user_id`` with no stored file: enough for the rules that only read rows
    (albums, ownership); tests of files and processing upload through the API instead."""
    fields.setdefault("name", f"photo-{secrets.token_hex(3)}.jpg")
    key = f"test/{secrets.token_hex(8)}.jpg"
    fields.setdefault("original_r2_key", key)
    fields.setdefault("original_url", f"https://files.test/{key}")
    fields.setdefault("original_width", 64)
    fields.setdefault("original_height", 48)
    fields.setdefault("original_size_bytes", 1024)
    fields.setdefault("original_format", "jpeg")
    image = EnhancedImage(user_id=user_id, **fields)
    session.add(image)
    await session.flush()
    return image


async def make_pipeline(session: AsyncSession, user_id: str | None, **fields: Any) -> EnhancementPipeline:
    """A pipeline row (``user_id`` None: a system one), PRIVATE unless told, with no configs."""
    fields.setdefault("name", f"pipeline {secrets.token_hex(3)}")
    fields.setdefault("visibility", PipelineVisibility.PRIVATE)
    pipeline = EnhancementPipeline(user_id=user_id, **fields)
    session.add(pipeline)
    await session.flush()
    await session.refresh(pipeline)  # the server defaults (createdAt, usageCount), readable without IO
    return pipeline


async def committed_voucher(app: FastAPI, **fields: Any) -> Voucher:
    """A voucher committed through the app's own sessions, for the tests that go through HTTP."""
    async with transaction(app.state.sessionmaker) as session:
        return await make_voucher(session, **fields)


async def fetch(app: FastAPI, model: Any, **where: Any) -> list[Any]:
    """The committed rows of ``model`` matching ``where``, read in a transaction of their own."""
    async with transaction(app.state.sessionmaker) as session:
        return list((await session.scalars(select(model).filter_by(**where))).all())


async def user_row(app: FastAPI, user_id: str) -> User:
    async with transaction(app.state.sessionmaker) as session:
        user = await session.get(User, user_id)
        assert user is not None
        return user
