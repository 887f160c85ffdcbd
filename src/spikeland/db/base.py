"""Declarative base, Prisma-compatible constraint names and the column helpers every model uses."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    Constraint,
    Double,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, MappedColumn, mapped_column

from spikeland.core.clock import utcnow
from spikeland.db.cuid import cuid
from spikeland.db.types import UTCDateTime

# JSON columns: SQL NULL for Python None (not the JSON literal null).
Json = JSONB(none_as_null=True)

# PostgreSQL's NAMEDATALEN - 1; Prisma trims the stem so the suffix always survives.
MAX_IDENTIFIER = 63


def prisma_name(table: str, columns: list[str], suffix: str) -> str:
    """The name Prisma gives a constraint or index: ``{table}_{cols}{suffix}``, stem trimmed to fit."""
    stem = "_".join([table, *columns]) if columns else table
    limit = MAX_IDENTIFIER - len(suffix)
    return stem[:limit] + suffix


def _column_names(constraint: Constraint | Index, table: Table) -> list[str]:
    if isinstance(constraint, Index):
        return [str(getattr(expr, "name", expr)) for expr in constraint.expressions]
    return [c.name for c in getattr(constraint, "columns", ())]


def _ix(constraint: Index, table: Table) -> str:
    suffix = "_key" if constraint.unique else "_idx"
    return prisma_name(table.name, _column_names(constraint, table), suffix)


def _uq(constraint: Constraint, table: Table) -> str:
    return prisma_name(table.name, _column_names(constraint, table), "_key")


def _fk(constraint: Constraint, table: Table) -> str:
    return prisma_name(table.name, _column_names(constraint, table), "_fkey")


def _pk(constraint: Constraint, table: Table) -> str:
    return prisma_name(table.name, [], "_pkey")


NAMING_CONVENTION: dict[str, Any] = {
    "prisma_ix": _ix,
    "prisma_uq": _uq,
    "prisma_fk": _fk,
    "prisma_pk": _pk,
    "ix": "%(prisma_ix)s",
    "uq": "%(prisma_uq)s",
    "fk": "%(prisma_fk)s",
    "pk": "%(prisma_pk)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        str: Text(),
        int: Integer(),
        float: Double(),
        bool: Boolean(),
        datetime: UTCDateTime(),
        Decimal: Numeric(10, 2),
        list[str]: ARRAY(Text()),
    }


# ----------------------------------------------------------------------------- column helpers


def id_column() -> MappedColumn[Any]:
    """``id text PRIMARY KEY``, a CUID made in Python (no database default, as in the original)."""
    return mapped_column("id", Text(), primary_key=True, default=cuid)


def now_default(name: str = "createdAt") -> MappedColumn[Any]:
    """``timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP``: createdAt and the other ``now()`` columns."""
    return mapped_column(name, UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP"))


def updated_at() -> MappedColumn[Any]:
    """``updatedAt``: NOT NULL without a database default, set by the ORM on insert and every update."""
    return mapped_column("updatedAt", UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)


def pg_enum(enum_cls: type[enum.Enum]) -> Enum:
    """A PostgreSQL enum type named like the Python enum (``"UserRole"``), labels in declaration order."""
    return Enum(
        enum_cls,
        name=enum_cls.__name__,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def fk(target: str, ondelete: str) -> ForeignKey:
    """A foreign key as Prisma makes it: ON UPDATE CASCADE, ON DELETE as the spec says."""
    return ForeignKey(target, ondelete=ondelete, onupdate="CASCADE")


def server_default(value: bool | int | float | str) -> Any:
    """A literal server default rendered the way Prisma renders it."""
    if isinstance(value, bool):
        return text("true" if value else "false")
    if isinstance(value, int | float):
        return text(repr(value))
    return text("'" + value.replace("'", "''") + "'")


def enum_default(member: enum.Enum) -> Any:
    return text(f"'{member.value}'::\"{type(member).__name__}\"")
