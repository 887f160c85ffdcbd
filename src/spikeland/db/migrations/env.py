"""Alembic environment: runs migrations through asyncpg on the database Spikeland is configured for."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import alembic_postgresql_enum  # noqa: F401  (autogenerate support for PostgreSQL enum changes)
from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from spikeland.db.engine import SERVER_SETTINGS, async_url
from spikeland.db.registry import metadata
from spikeland.db.types import UTCDateTime

config = context.config


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render our UTC datetime type as the plain column type, so revisions import nothing of ours."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "postgresql.TIMESTAMP(precision=3)"
    return False


# Tables that are not ours: a database adopted from the original platform keeps Prisma's
# migration history, which autogenerate must neither compare nor propose to drop.
FOREIGN_TABLES = {"_prisma_migrations"}


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        compare_server_default=True,
        render_item=render_item,
        include_name=include_name,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations(url: str) -> None:
    engine = create_async_engine(
        async_url(url), poolclass=NullPool, connect_args={"server_settings": SERVER_SETTINGS}
    )
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # called from code that already holds a connection (tests)
        do_run_migrations(connection)
        return
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from spikeland.db.engine import resolve_database_url
        from spikeland.settings import get_settings

        url = resolve_database_url(get_settings())
    asyncio.run(run_async_migrations(url))


if context.is_offline_mode():
    context.configure(
        url=str(async_url(config.get_main_option("sqlalchemy.url") or "postgresql://localhost/spikeland")),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
