"""Migrations on an empty database: upgrade head, downgrade base, upgrade head again.

The result must be the schema contract plus our documented extensions, agree with the models
(``alembic check``), and the downgrade must leave no table and no enum type of the specification behind.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from spikeland.db import migrate
from tests.conftest import create_database, drop_database
from tests.db.catalog import live_facts
from tests.db.extensions import EXPECTED
from tests.db.spec import ENUMS, TABLES

CATALOG_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
CATALOG_ENUMS = """
    SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.typtype = 'e' AND n.nspname = 'public'"""


@dataclass
class RoundTrip:
    url: str
    tables_at_base: set[str]
    enums_at_base: set[str]


async def _catalog(url: str, query: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        return {row[0] for row in await conn.fetch(query)}
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def round_trip(server_url: str) -> AsyncIterator[RoundTrip]:
    name = f"spikeland_migrations_{os.getpid()}_{secrets.token_hex(3)}"
    url = await create_database(server_url, name)
    try:
        # Alembic's env.py runs its own event loop, so it must run off this one.
        await asyncio.to_thread(migrate.upgrade, url, "head")
        await asyncio.to_thread(migrate.downgrade, url, "base")
        at_base = RoundTrip(url, await _catalog(url, CATALOG_TABLES), await _catalog(url, CATALOG_ENUMS))
        await asyncio.to_thread(migrate.upgrade, url, "head")
        yield at_base
    finally:
        await drop_database(server_url, name)


async def test_downgrade_to_base_leaves_nothing(round_trip: RoundTrip) -> None:
    assert round_trip.tables_at_base <= {"alembic_version"}
    assert not round_trip.tables_at_base & set(TABLES)
    assert round_trip.enums_at_base == set()


async def test_upgraded_schema_is_contract_plus_extensions(round_trip: RoundTrip) -> None:
    live = await live_facts(round_trip.url)
    assert {"missing": EXPECTED - live, "undocumented": live - EXPECTED} == {
        "missing": set(),
        "undocumented": set(),
    }


async def test_models_and_migrations_agree(round_trip: RoundTrip) -> None:
    await asyncio.to_thread(migrate.check, round_trip.url)


async def test_upgraded_schema_has_every_table_and_enum(round_trip: RoundTrip) -> None:
    assert set(TABLES) <= await _catalog(round_trip.url, CATALOG_TABLES)
    assert set(ENUMS) == await _catalog(round_trip.url, CATALOG_ENUMS)
    assert len(TABLES) == 55 and len(ENUMS) == 37
