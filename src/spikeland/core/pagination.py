"""Keyset pagination with opaque cursors: one helper (``keyset_page``) and one cursor codec for
every list.

A list names its order as keys (``Asc(column)``, ``Desc(column)``), ending with a unique column so
the order is total. A cursor is URL-safe base64 of the JSON list of the last row's values along
those keys (a timestamp as ISO 8601, integers and strings as themselves); a page holds ``limit``
rows and the cursor of its last row when more follow. A cursor that does not decode to values of
the keys' kinds is 422 ``invalid_cursor``. The "after" condition compares runs of keys in the same
direction as one row value, with typed literals, so it stays on the indexed types and a
``[..., createdAt, id]`` index serves it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from sqlalchemy import ColumnElement, Select, and_, literal, or_, tuple_
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


@dataclass(frozen=True)
class Asc:
    """A key of a keyset order, ascending."""

    column: InstrumentedAttribute[Any]
    descending = False


@dataclass(frozen=True)
class Desc:
    """A key of a keyset order, descending."""

    column: InstrumentedAttribute[Any]
    descending = True


Key = Asc | Desc
Value = datetime | int | str


def encode_cursor(values: Sequence[Value]) -> str:
    raw = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    data = json.dumps(raw, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, kinds: Sequence[type]) -> tuple[Value, ...]:
    """The values of ``cursor``, one of each kind (``datetime``, ``int``, ``str``), or 422."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError("cursor of another length")
        return tuple(_value(item, kind) for item, kind in zip(raw, kinds, strict=True))
    except (binascii.Error, UnicodeDecodeError, TypeError, ValueError):
        raise ValidationFailed("The cursor is not valid.", code="invalid_cursor") from None


def _value(item: Any, kind: type) -> Value:
    if kind is datetime:
        moment = datetime.fromisoformat(item)  # TypeError unless a string
        if moment.tzinfo is None:
            raise ValueError("a moment without its offset")
        return moment
    if type(item) is not kind or not isinstance(item, int | str):  # type(): a bool is not an int
        raise ValueError("cursor fields of the wrong kind")
    return item


def ordering(order: Sequence[Key]) -> list[ColumnElement[Any]]:
    """The ORDER BY of ``order`` (for a list shown in the same order without pages)."""
    return list(_ordering(tuple(order)))


@functools.lru_cache(maxsize=256)  # each list's order is a constant: its clauses built once
def _ordering(order: tuple[Key, ...]) -> tuple[ColumnElement[Any], ...]:
    return tuple(key.column.desc() if key.descending else key.column.asc() for key in order)


def key_kind(key: Key) -> type:
    """The cursor kind of a key's values (``datetime``, ``int`` or ``str``)."""
    column_type = key.column.type
    kind: type = getattr(column_type, "impl_instance", column_type).python_type
    if kind not in (datetime, int, str):
        raise TypeError(f"{key.column} cannot be a keyset key")
    return kind


def _after(order: Sequence[Key], values: Sequence[Value]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in ``order``: for each run of keys in one direction, beyond the
    run's values, or equal to them and after them in the following runs."""
    run = 1
    while run < len(order) and order[run].descending == order[0].descending:
        run += 1
    columns = [key.column for key in order[:run]]
    bounds = [literal(value, key.column.type) for key, value in zip(order[:run], values, strict=False)]
    left = columns[0] if run == 1 else tuple_(*columns)
    right = bounds[0] if run == 1 else tuple_(*bounds)
    beyond = left < right if order[0].descending else left > right
    if run == len(order):
        return beyond
    return or_(beyond, and_(left == right, _after(order[run:], values[run:])))


async def keyset_page(
    session: AsyncSession,
    statement: Select[Any],
    order: Sequence[Key],
    *,
    limit: int,
    cursor: str | None,
    rows: bool = False,
) -> Page[Any]:
    """One page of ``statement`` in ``order``, after ``cursor``: the statement's ORM entities, or
    with ``rows`` its rows (whose first element is the entity holding the keys)."""
    limit = max(1, min(limit, MAX_PAGE))
    statement = statement.order_by(*ordering(order))
    if cursor:
        values = decode_cursor(cursor, [key_kind(key) for key in order])
        statement = statement.where(_after(order, values))
    statement = statement.limit(limit + 1)
    result = await session.execute(statement) if rows else await session.scalars(statement)
    found: list[Any] = list(result.all())
    items = found[:limit]
    if len(found) <= limit:
        return Page(items, None)
    last = items[-1][0] if rows else items[-1]
    return Page(items, encode_cursor(tuple(getattr(last, key.column.key) for key in order)))


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
    return await keyset_page(session, statement, (Desc(created_at), Desc(row_id)), limit=limit, cursor=cursor)
