"""Column types that follow Prisma's PostgreSQL mapping."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.dialects.postgresql import TIMESTAMP
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """``timestamp(3) without time zone`` holding UTC; Python always sees aware UTC datetimes.

    Naive datetimes are refused on the way in: they are almost always a bug (local time).
    """

    impl = TIMESTAMP(timezone=False, precision=3)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)

    def copy(self, **kw: Any) -> UTCDateTime:
        return UTCDateTime()
