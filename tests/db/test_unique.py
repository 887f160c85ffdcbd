"""Every unique index rejects a duplicate, for every table in ``metadata``."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import Table, UniqueConstraint, and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.db.registry import metadata
from tests.db.extensions import EXTENSIONS
from tests.db.rows import insert_row
from tests.db.spec import TABLES, spec_unique_indexes


def _unique_indexes() -> list[tuple[Table, str, tuple[str, ...]]]:
    found = []
    # Sorted: a table's indexes and constraints are sets, and xdist's workers must collect the
    # same tests in the same order.
    for table in metadata.sorted_tables:
        for index in sorted(table.indexes, key=lambda index: str(index.name)):
            if index.unique:
                found.append((table, str(index.name), tuple(c.name for c in index.columns)))
        for constraint in sorted(table.constraints, key=lambda constraint: str(constraint.name)):
            if isinstance(constraint, UniqueConstraint):
                found.append((table, str(constraint.name), tuple(c.name for c in constraint.columns)))
    return found


UNIQUE_INDEXES = _unique_indexes()


# Unique indexes our migrations add to the spec's tables (0015's on agent activities).
ADDED = {(fact[1], fact[3]) for fact in EXTENSIONS if fact[0] == "index" and fact[4] is True}


def test_every_spec_unique_index_is_modelled() -> None:
    modelled = {(table.name, columns) for table, _name, columns in UNIQUE_INDEXES if table.name in TABLES}
    assert modelled - ADDED == spec_unique_indexes()


@pytest.mark.parametrize(
    ("table", "name", "columns"),
    UNIQUE_INDEXES,
    ids=[f"{table.name}({','.join(columns)})" for table, _name, columns in UNIQUE_INDEXES],
)
async def test_unique_index_rejects_duplicate(
    session: AsyncSession, table: Table, name: str, columns: tuple[str, ...]
) -> None:
    first = await insert_row(session, table, fill=columns)
    same = {column: first[column] for column in columns}
    assert None not in same.values()

    with pytest.raises(IntegrityError) as caught:
        async with session.begin_nested():
            await insert_row(session, table, **same)

    cause = caught.value.orig.__cause__ if caught.value.orig is not None else None
    assert isinstance(cause, asyncpg.UniqueViolationError)
    assert cause.constraint_name == name
    # The savepoint rolled back alone: the first row is still there and the session still works.
    matching = and_(*(table.c[column] == value for column, value in same.items()))
    assert await session.scalar(select(func.count()).select_from(table).where(matching)) == 1
