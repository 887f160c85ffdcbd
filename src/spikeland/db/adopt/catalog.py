"""Names and catalog queries shared by the adoption checks."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

VERSION_TABLE = "alembic_version"
PRISMA_TABLE = "_prisma_migrations"
IGNORED_TABLES = frozenset({VERSION_TABLE, PRISMA_TABLE})

#: SQL for the names of the columns numbered ``{keys}`` (an int2 array) of relation ``{rel}``, in order.
COLUMNS_OF = (
    "ARRAY(SELECT a.attname FROM unnest({keys}) WITH ORDINALITY k(attnum, ord) "
    "JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.attnum ORDER BY k.ord)::text[]"
)


def relation_names(conn: Connection, kinds: str) -> list[str]:
    """Names of the relations of the current schema whose ``relkind`` is one of ``kinds``, sorted."""
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind::text = ANY(:kinds) ORDER BY c.relname"
        ),
        {"kinds": list(kinds)},
    )
    return [str(name) for name in rows.scalars()]


def user_tables(conn: Connection) -> set[str]:
    """The tables (plain and partitioned) of the current schema."""
    return set(relation_names(conn, "rp"))
