"""Every foreign key's ON DELETE behaves as the specification says (CASCADE, SET NULL, RESTRICT)."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import ForeignKey, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.db.registry import metadata
from tests.db.rows import insert_row, row_filter
from tests.db.spec import TABLES, spec_on_delete

FOREIGN_KEYS: list[ForeignKey] = sorted(
    (fk for table in metadata.tables.values() for fk in table.foreign_keys),
    key=lambda fk: (fk.parent.table.name, fk.parent.name),
)


def _id(fk: ForeignKey) -> str:
    return f"{fk.parent.table.name}.{fk.parent.name}->{fk.column.table.name}:{fk.ondelete}"


def test_models_on_delete_match_spec() -> None:
    modelled = {
        (fk.parent.table.name, fk.parent.name, fk.column.table.name, (fk.ondelete or "NO ACTION").upper())
        for fk in FOREIGN_KEYS
        if fk.parent.table.name in TABLES  # the spec's tables; an addition's keys are its migration's
    }
    assert modelled == spec_on_delete()


@pytest.mark.parametrize("fk", FOREIGN_KEYS, ids=[_id(fk) for fk in FOREIGN_KEYS])
async def test_on_delete(session: AsyncSession, fk: ForeignKey) -> None:
    child_table, column, parent_table = fk.parent.table, fk.parent, fk.column.table
    parent = await insert_row(session, parent_table)
    child = await insert_row(session, child_table, **{column.name: parent[fk.column.name]})
    if child_table is parent_table:  # users.referredById, apps.forkedFrom: the child is another row
        assert child["id"] != parent["id"]
    delete_parent = delete(parent_table).where(row_filter(parent_table, parent))
    find_child = select(column).where(row_filter(child_table, child))

    match fk.ondelete:
        case "CASCADE":
            await session.execute(delete_parent)
            assert (await session.execute(find_child)).one_or_none() is None
        case "SET NULL":
            await session.execute(delete_parent)
            assert (await session.execute(find_child)).scalar_one() is None
        case "RESTRICT":
            with pytest.raises(IntegrityError) as caught:
                async with session.begin_nested():
                    await session.execute(delete_parent)
            cause = caught.value.orig.__cause__ if caught.value.orig is not None else None
            # PostgreSQL 18 reports RESTRICT as SQLSTATE 23001, older servers as 23503 (as NO ACTION);
            # the catalog check (schema_check.py) tells RESTRICT from NO ACTION on every server.
            assert isinstance(cause, asyncpg.RestrictViolationError | asyncpg.ForeignKeyViolationError)
            assert fk.constraint is not None and cause.constraint_name == fk.constraint.name
            assert (await session.execute(find_child)).scalar_one() == parent[fk.column.name]
        case other:
            pytest.fail(f"unexpected ON DELETE {other!r}")
