"""The spec's database statistics queries, corrected, on the migrated test database."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from spikeland.db.stats import StatTable, collect, render, render_table


def _by_key(tables: list[StatTable]) -> dict[str, StatTable]:
    return {t.key: t for t in tables}


async def test_collect_returns_the_four_tables(database_url: str) -> None:
    tables = await collect(database_url)

    assert [t.title for t in tables] == ["Table sizes", "Row counts", "Index usage", "Unused indexes"]
    for table in tables:
        assert all(len(row) == len(table.headers) for row in table.rows), table.title
    by_key = _by_key(tables)

    sizes = {row[0]: row for row in by_key["sizes"].rows}
    assert {"users", "accounts", "alembic_version"} <= sizes.keys()
    assert len(sizes) >= 55
    assert all(
        isinstance(v, str) and v.split()[-1] in {"bytes", "kB", "MB", "GB"} for v in sizes["users"][1:]
    )

    counts = {row[0]: row for row in by_key["rows"].rows}
    assert counts.keys() == sizes.keys()
    assert all(isinstance(v, int) and v >= 0 for row in counts.values() for v in row[1:])

    usage = {(row[0], row[1]): row for row in by_key["index_usage"].rows}
    assert ("users", "users_pkey") in usage and ("users", "users_email_key") in usage
    assert ("users", "users_referredById_idx") in usage  # the FK indexes of migration 0002

    unused = by_key["unused"].rows
    assert unused and not any(str(row[1]).endswith("_pkey") for row in unused)
    assert {row[3] for row in unused} <= {"yes", "no"}


async def test_limit_caps_each_table(database_url: str) -> None:
    tables = await collect(database_url, limit=3)
    assert all(len(t.rows) <= 3 for t in tables)
    assert len(_by_key(tables)["sizes"].rows) == 3


async def test_an_index_scan_shows_in_index_usage(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SET enable_seqscan = off")
        await conn.fetch("SELECT id FROM users WHERE email = 'nobody@example.com'")
        await conn.execute("SELECT pg_stat_force_next_flush()")
    finally:
        await conn.close()

    deadline = time.monotonic() + 15
    while True:  # statistics reach other sessions asynchronously
        by_key = _by_key(await collect(database_url))
        scans = {(r[0], r[1]): int(r[2] or 0) for r in by_key["index_usage"].rows}
        if scans[("users", "users_email_key")] >= 1 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert scans[("users", "users_email_key")] >= 1
    assert ("users", "users_email_key") not in {(r[0], r[1]) for r in by_key["unused"].rows}


async def test_render_shows_every_table(database_url: str) -> None:
    text = render(await collect(database_url, limit=5))

    for heading in ("Table sizes", "Row counts", "Index usage", "Unused indexes"):
        assert f"{heading}\n{'=' * len(heading)}\n" in text
    assert "rows (estimate)" in text and "tuples fetched" in text


def test_render_table_aligns_columns() -> None:
    table = StatTable(
        title="Row counts",
        headers=["table", "rows"],
        rows=[("users", 1234567), ("a_much_longer_table_name", 5)],
        note="estimates",
    )

    assert render_table(table).splitlines() == [
        "Row counts",
        "==========",
        "table                          rows",
        "------------------------  ---------",
        "users                     1,234,567",
        "a_much_longer_table_name          5",
        "(estimates)",
    ]


def test_render_table_without_rows() -> None:
    text = render_table(StatTable(title="Unused indexes", headers=["table", "index"], rows=[]))
    assert text.splitlines()[-1] == "(no rows)"
