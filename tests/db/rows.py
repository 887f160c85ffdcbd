"""Minimal valid rows for any table, built from ``metadata`` with Core inserts.

``insert_row(session, table, **values)`` fills every NOT NULL column that has neither a server nor
a Python default with a value of its type, creating parent rows (recursively) for foreign keys.
Columns named in ``fill`` get a value even when nullable. Values given explicitly win.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    Boolean,
    Column,
    Date,
    Enum,
    Float,
    Integer,
    Numeric,
    String,
    Table,
    and_,
    insert,
)
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from spikeland.db.types import UTCDateTime

_RUN = secrets.token_hex(3)
_counter = itertools.count(1)
MAX_DEPTH = 10  # far more than the deepest chain of NOT NULL foreign keys


def sample_value(column: Column[Any]) -> Any:
    """A fresh, valid value for a column's type (strings and numbers differ on every call)."""
    n = next(_counter)
    kind = column.type
    if isinstance(kind, Enum):  # before String: Enum is a String
        return kind.enums[0]
    if isinstance(kind, Boolean):
        return True
    if isinstance(kind, Integer):
        return n
    if isinstance(kind, Float):  # before Numeric: Float is a Numeric
        return n + 0.5
    if isinstance(kind, Numeric):
        return Decimal(n) + Decimal("0.25")
    if isinstance(kind, UTCDateTime):
        return datetime.now(UTC)
    if isinstance(kind, Date):
        return date(2000, 1, 1) + timedelta(days=n)
    if isinstance(kind, ARRAY):
        return [f"item-{n}"]
    if isinstance(kind, JSON):
        return {"n": n}
    if isinstance(kind, String):
        return f"{column.name}-{_RUN}-{n}"
    raise NotImplementedError(f"no sample value for {column.table.name}.{column.name}: {kind!r}")


def needs_value(column: Column[Any]) -> bool:
    return not column.nullable and column.server_default is None and column.default is None


async def value_for(session: AsyncSession, column: Column[Any], depth: int = 0) -> Any:
    for foreign_key in column.foreign_keys:
        parent = await insert_row(session, foreign_key.column.table, _depth=depth + 1)
        return parent[foreign_key.column.name]
    return sample_value(column)


async def insert_row(
    session: AsyncSession, table: Table, *, fill: Iterable[str] = (), _depth: int = 0, **values: Any
) -> RowMapping:
    """Insert one row into ``table`` and return it as stored (every column, defaults applied)."""
    assert _depth <= MAX_DEPTH, f"foreign keys of {table.name} nest too deep"
    fill = set(fill)
    row = dict(values)
    for column in table.columns:
        if column.name not in row and (column.name in fill or needs_value(column)):
            row[column.name] = await value_for(session, column, _depth)
    result = await session.execute(insert(table).values(row).returning(*table.columns))
    return result.mappings().one()


def row_filter(table: Table, row: RowMapping) -> ColumnElement[bool]:
    """A WHERE clause picking out ``row`` by its primary key."""
    key = list(table.primary_key.columns)
    assert key, f"{table.name} has no primary key"
    return and_(*(column == row[column.name] for column in key))
