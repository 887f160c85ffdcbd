"""Keyset pagination along ``(createdAt, id)`` descending, with opaque cursors.

A cursor is URL-safe base64 of ``[createdAt ISO 8601, id]``; a page holds ``limit`` rows and the
cursor of its last row when more follow. The row comparison uses typed literals so it stays on
``timestamp`` and can use the ``[..., createdAt]`` indexes the spec defines.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from sqlalchemy import Select, literal, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from spikeland.core.errors import ValidationFailed

T = TypeVar("T")
MAX_PAGE = 100

# The query parameters of a keyset-paged list (each route sets its own default limit).
PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
PageCursor = Annotated[str | None, Query(max_length=200)]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def encode_cursor(created_at: datetime, row_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, row_id = json.loads(raw)
        moment = datetime.fromisoformat(created)
        if moment.tzinfo is None or not isinstance(row_id, str):
            raise ValueError("cursor fields of the wrong kind")
    except (binascii.Error, UnicodeDecodeError, TypeError, ValueError):
        raise ValidationFailed("The cursor is not valid.", code="invalid_cursor") from None
    return moment, row_id


async def newest_first(
    session: AsyncSession,
    statement: Select[T],
    created_at: InstrumentedAttribute[datetime],
    row_id: InstrumentedAttribute[str],
    *,
    limit: int,
    cursor: str | None,
) -> Page[T]:
    """One page of ``statement``'s rows (a select of one ORM entity), newest first."""
    limit = max(1, min(limit, MAX_PAGE))
    statement = statement.order_by(created_at.desc(), row_id.desc())
    if cursor:
        after_created, after_id = decode_cursor(cursor)
        bound = tuple_(literal(after_created, created_at.type), literal(after_id, row_id.type))
        statement = statement.where(tuple_(created_at, row_id) < bound)
    rows = list((await session.scalars(statement.limit(limit + 1))).all())
    items = rows[:limit]
    if len(rows) <= limit:
        return Page(items, None)
    last: Any = items[-1]
    return Page(items, encode_cursor(getattr(last, created_at.key), getattr(last, row_id.key)))
