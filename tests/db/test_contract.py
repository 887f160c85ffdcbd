"""A migrated database is the committed catalogue plus our documented extensions, nothing else.

Kind by kind, so a failure names what differs: tables, columns (type, nullability, default),
primary keys, indexes (unique or plain, columns), foreign keys (target, ON DELETE, ON UPDATE),
enums (labels in order), and anything else a migration could add (triggers, functions, views,
constraints).
"""

from __future__ import annotations

import pytest

from spikeland.db.contract import load
from tests.db.catalog import Fact, live_facts, of_kind
from tests.db.extensions import EXPECTED

KINDS = ["table", "column", "primary key", "index", "foreign key", "enum"]
OTHER_KINDS = ["relation", "constraint", "trigger", "function"]


def differences(live: set[Fact], kind: str) -> dict[str, list[Fact]]:
    return {
        "missing": sorted(of_kind(EXPECTED - live, kind), key=repr),
        "undocumented": sorted(of_kind(live - EXPECTED, kind), key=repr),
    }


@pytest.fixture(scope="module")
async def live(database_url: str) -> set[Fact]:
    return await live_facts(database_url)


@pytest.mark.parametrize("kind", KINDS + OTHER_KINDS)
def test_migrated_schema_is_contract_plus_extensions(live: set[Fact], kind: str) -> None:
    assert differences(live, kind) == {"missing": [], "undocumented": []}


def test_every_fact_has_a_kind_checked() -> None:
    assert {fact[0] for fact in EXPECTED} <= set(KINDS + OTHER_KINDS)


def test_catalogue_is_the_whole_contract() -> None:
    contract = load()
    assert (len(contract.tables), len(contract.enums)) == (55, 37)
    # As schema_check counts them on a conforming database: 589 columns, 54 primary keys,
    # 36 unique and 111 plain indexes (those two counted per column set), 63 foreign keys.
    tables = contract.tables.values()
    assert sum(len(t.columns) for t in tables) == 589
    assert sum(t.primary_key is not None for t in tables) == 54
    assert sum(len(t.foreign_keys) for t in tables) == 63
    assert sum(i.unique for t in tables for i in t.indexes) == 36
    assert sum(not i.unique for t in tables for i in t.indexes) == 111
