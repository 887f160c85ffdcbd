"""Server defaults apply when an insert omits the column, with the values the specification gives."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Column, Enum, text
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.db.registry import metadata
from tests.db.rows import insert_row
from tests.db.spec import ENUMS, TABLES, spec_column

# The spec's columns only: the job runner's additions (migrations 0003, 0004, 0009) have no spec default.
DEFAULTED: list[Column[Any]] = sorted(
    (
        c
        for t in metadata.tables.values()
        if t.name in TABLES
        for c in t.columns
        if c.server_default is not None and any(s.name == c.name for s in TABLES[t.name].columns)
    ),
    key=lambda c: (c.table.name, c.name),
)
ENUM_DEFAULTED = [c for c in DEFAULTED if isinstance(c.type, Enum)]


def expected(table: str, column: str) -> Any:
    """The contract's default (as ``pg_get_expr`` shows it) as the database hands it back through raw SQL."""
    default = spec_column(table, column).default
    assert default is not None
    if quoted := re.fullmatch(r"'(.*)'::(.+)", default):  # a text, or an enum's label
        value, type_name = quoted[1], quoted[2].strip('"')
        assert type_name == "text" or value in ENUMS[type_name], f"{table}.{column}: {default}"
        return value
    if default in ("true", "false"):
        return default == "true"
    return float(default)


def test_defaulted_columns_match_spec() -> None:
    spec = {(t.name, c.name) for t in TABLES.values() for c in t.columns if c.default is not None}
    assert {(c.table.name, c.name) for c in DEFAULTED} == spec


async def _read_back(session: AsyncSession, column: Column[Any]) -> Any:
    """Insert a minimal row that omits ``column``; read the stored value with raw SQL."""
    row = await insert_row(session, column.table)
    sql = text(f'SELECT "{column.name}" FROM "{column.table.name}" WHERE id = :id')
    return (await session.execute(sql, {"id": row["id"]})).scalar_one()


@pytest.mark.parametrize("column", ENUM_DEFAULTED, ids=[f"{c.table.name}.{c.name}" for c in ENUM_DEFAULTED])
async def test_enum_default(session: AsyncSession, column: Column[Any]) -> None:
    assert await _read_back(session, column) == expected(column.table.name, column.name)


SCALAR_DEFAULTED = [c for c in DEFAULTED if c not in ENUM_DEFAULTED]


@pytest.mark.parametrize(
    "column", SCALAR_DEFAULTED, ids=[f"{c.table.name}.{c.name}" for c in SCALAR_DEFAULTED]
)
async def test_scalar_default(session: AsyncSession, column: Column[Any]) -> None:
    got = await _read_back(session, column)
    if spec_column(column.table.name, column.name).default == "CURRENT_TIMESTAMP":
        now = datetime.now(UTC).replace(tzinfo=None)  # timestamp without time zone, holding UTC
        assert now - timedelta(minutes=5) <= got <= now + timedelta(seconds=5)
        return
    want = expected(column.table.name, column.name)
    if isinstance(want, float):
        assert not isinstance(got, bool) and float(got) == want
    else:
        assert got == want and type(got) is type(want)


async def test_spot_checks(session: AsyncSession) -> None:
    tables = metadata.tables
    product = await insert_row(session, tables["merch_products"])
    assert product["currency"] == "GBP" and product["isActive"] is True
    assert (product["minDpi"], product["minWidth"], product["minHeight"], product["sortOrder"]) == (
        150,
        1800,
        1800,
        0,
    )
    track = await insert_row(session, tables["audio_tracks"])
    assert track["volume"] == 1.0 and track["storageType"] == "R2"
    user = await insert_row(session, tables["users"])
    assert user["role"] == "USER" and user["referralCount"] == 0
    webhook = await insert_row(session, tables["merch_webhook_events"])
    assert webhook["processed"] is False
