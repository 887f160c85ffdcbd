"""Adoption itself: the preliminary checks, the comparison with the baseline, the stamp."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Literal

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from spikeland.db.adopt import data
from spikeland.db.adopt.autogen import TABLES_ADDED_LATER, autogenerate_differences
from spikeland.db.adopt.catalog import (
    IGNORED_TABLES,
    PRISMA_TABLE,
    VERSION_TABLE,
    relation_names,
    user_tables,
)
from spikeland.db.adopt.enums import enum_differences
from spikeland.db.adopt.indexes import index_differences
from spikeland.db.adopt.keys import foreign_key_differences, primary_key_differences
from spikeland.db.adopt.legacy import settle_features
from spikeland.db.adopt.other import other_differences
from spikeland.db.engine import SERVER_SETTINGS, async_url
from spikeland.db.migrate import BASELINE_REVISION, alembic_config
from spikeland.db.registry import metadata

Status = Literal["adopted", "verified", "already_managed", "empty", "differs", "conflicts"]


@dataclass(frozen=True)
class AdoptResult:
    """What :func:`adopt` found and did.

    ``status``: ``adopted`` (stamped), ``verified`` (matches; dry run, not stamped),
    ``already_managed`` (has an ``alembic_version``), ``empty`` (no tables), ``differs`` (the
    schema) or ``conflicts`` (accounts whose emails differ only by case). ``differences`` holds
    one line per difference or conflict; ``notes`` are remarks that do not prevent adoption (the
    ``_prisma_migrations`` table left in place, what was brought to Spikeland's rules).
    """

    ok: bool
    status: Status
    message: str
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def adopt(url: str, *, dry_run: bool = False) -> AdoptResult:
    """Verify that the database at ``url`` matches the baseline, bring the original's data to
    Spikeland's rules (:mod:`~spikeland.db.adopt.data`) and stamp it at ``0001_baseline``.

    One transaction: with ``dry_run``, or when it refuses (an ``alembic_version`` table, no
    tables, a difference from the baseline, emails differing only by case) or fails, nothing is
    written. Connection errors propagate. Must not be called from a running event loop (use
    :func:`adopt_async`).
    """
    return asyncio.run(adopt_async(url, dry_run=dry_run))


async def adopt_async(url: str, *, dry_run: bool = False) -> AdoptResult:
    """:func:`adopt` for callers that already run an event loop."""
    engine = create_async_engine(
        async_url(url), poolclass=NullPool, connect_args={"server_settings": SERVER_SETTINGS}
    )
    try:
        async with engine.connect() as conn:
            result: AdoptResult = await conn.run_sync(_adopt, url, dry_run)
            if result.status == "adopted":
                await conn.commit()
            else:
                await conn.rollback()
            return result
    finally:
        await engine.dispose()


async def needs_adoption(url: str) -> bool:
    """Whether the database has tables but no ``alembic_version``: made by the original platform
    and not adopted yet (migrating it would fail on the baseline's first CREATE TABLE)."""
    engine = create_async_engine(
        async_url(url), poolclass=NullPool, connect_args={"server_settings": SERVER_SETTINGS}
    )
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_unadopted)
    finally:
        await engine.dispose()


def _unadopted(conn: Connection) -> bool:
    return _alembic_versions(conn) is None and bool(user_tables(conn) - IGNORED_TABLES)


def _adopt(conn: Connection, url: str, dry_run: bool) -> AdoptResult:
    versions = _alembic_versions(conn)
    if versions is not None:
        current = ", ".join(versions) if versions else "none (the table is empty)"
        return AdoptResult(
            ok=False,
            status="already_managed",
            message=(
                f"the database is already managed by Alembic (current revision: {current}); "
                "there is nothing to adopt: use `db upgrade`"
            ),
        )
    tables = user_tables(conn)
    if not tables - IGNORED_TABLES:
        return AdoptResult(
            ok=False,
            status="empty",
            message="the database has no tables: nothing to adopt; create the schema with `db upgrade`",
        )
    notes = _prisma_notes(conn) if PRISMA_TABLE in tables else []
    notes += settle_features(conn)  # before comparing; undone with everything else on a refusal
    differences, more_notes = compare(conn)
    notes.extend(more_notes)
    if differences:
        return _differs(differences, notes)
    collisions = data.email_collisions(conn)
    if collisions:
        return _conflicts(collisions, notes)
    notes += data.normalise_emails(conn)
    notes += data.mark_legacy_password_hashes(conn)
    notes += data.write_opening_balances(conn)
    notes += data.add_unlisted_albums(conn)
    if dry_run:
        message = (
            f"the database matches the baseline; it can be adopted at {BASELINE_REVISION} "
            "(the notes say what adoption would do; nothing was written)"
        )
        return AdoptResult(ok=True, status="verified", message=message, notes=notes)
    _stamp(conn, url)
    message = (
        f"the database matches the baseline and is now stamped at {BASELINE_REVISION}; "
        "run `db upgrade` to apply the later migrations"
    )
    return AdoptResult(ok=True, status="adopted", message=message, notes=notes)


def _differs(differences: list[str], notes: list[str]) -> AdoptResult:
    count = len(differences)
    return AdoptResult(
        ok=False,
        status="differs",
        message=(
            f"the database differs from the baseline schema in {count} "
            f"{'way' if count == 1 else 'ways'}; nothing was changed"
        ),
        differences=differences,
        notes=notes,
    )


def _conflicts(collisions: list[str], notes: list[str]) -> AdoptResult:
    return AdoptResult(
        ok=False,
        status="conflicts",
        message=(
            f"{len(collisions)} email {'address is' if len(collisions) == 1 else 'addresses are'} "
            "used by accounts that differ only by case; an operator must decide who is who "
            "(nothing is merged automatically); nothing was changed"
        ),
        differences=collisions,
        notes=notes,
    )


def _stamp(conn: Connection, url: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = conn  # stamp inside this transaction
    command.stamp(config, BASELINE_REVISION)


def _alembic_versions(conn: Connection) -> list[str] | None:
    exists = conn.execute(
        text(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relname = :name"
        ),
        {"name": VERSION_TABLE},
    ).first()
    if exists is None:
        return None
    rows = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE} ORDER BY version_num"))
    return [str(row[0]) for row in rows]


def _prisma_notes(conn: Connection) -> list[str]:
    try:
        with conn.begin_nested():  # a table of another shape must not abort the transaction
            rows = conn.execute(
                text(
                    "SELECT migration_name, finished_at IS NOT NULL, rolled_back_at IS NOT NULL "
                    f'FROM "{PRISMA_TABLE}" ORDER BY started_at'
                )
            ).all()
    except DBAPIError:
        return [f"{PRISMA_TABLE} exists but is not Prisma's migrations table as known; it is left in place"]
    notes = [f"{PRISMA_TABLE} ({len(rows)} Prisma migrations recorded) is left in place and ignored"]
    for name, finished, rolled_back in rows:
        if not finished and not rolled_back:
            notes.append(f"Prisma migration {name} is recorded as started but never finished")
    return notes


def compare(conn: Connection) -> tuple[list[str], list[str]]:
    """Differences between the database on ``conn`` and the baseline, and notes; read-only."""
    expected = {
        name: table
        for name, table in metadata.tables.items()
        if table.schema is None and name not in TABLES_ADDED_LATER
    }
    present = user_tables(conn) - IGNORED_TABLES
    shared = [expected[name] for name in sorted(present & expected.keys())]
    differences = autogenerate_differences(conn)
    differences += enum_differences(conn, list(expected.values()))
    differences += primary_key_differences(conn, shared)
    differences += foreign_key_differences(conn, shared)
    index_lines, notes = index_differences(conn, shared)
    differences += index_lines
    differences += other_differences(conn, shared)
    views = relation_names(conn, "vm")
    notes.extend(f"view {name} is not part of the baseline and was not compared" for name in views)
    return differences, notes
