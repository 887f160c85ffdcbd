"""The schema contract for tests that compare the models with it, from the committed catalogue.

``spikeland.db.contract`` reads ``contract.json`` (generated from the specification by
``scripts/build_contract.py``), so the tests need nothing outside the repository.
"""

from __future__ import annotations

from spikeland.db.contract import Column, load

CONTRACT = load()
TABLES = CONTRACT.tables
ENUMS = CONTRACT.enums


def spec_column(table: str, column: str) -> Column:
    return TABLES[table].column(column)


def spec_on_delete() -> set[tuple[str, str, str, str]]:
    """(table, column, referenced table, ON DELETE) for every foreign key the spec names."""
    return {
        (table.name, fk.columns[0], fk.references, fk.on_delete)
        for table in TABLES.values()
        for fk in table.foreign_keys
    }


def spec_unique_indexes() -> set[tuple[str, tuple[str, ...]]]:
    """(table, columns) of every unique index the spec asks for, primary keys aside."""
    return {
        (table.name, index.columns) for table in TABLES.values() for index in table.indexes if index.unique
    }
