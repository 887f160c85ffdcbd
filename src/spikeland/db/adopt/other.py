"""What else the catalog holds that the baseline has none of: CHECK, EXCLUDE and trigger
constraints, identity and generated columns, UNLOGGED tables, row-level security, triggers,
column collations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import CheckConstraint, Computed, Identity, Table, text
from sqlalchemy.engine import Connection

from spikeland.db.registry import metadata

_CONSTRAINT_KINDS = {"c": "CHECK", "x": "EXCLUDE", "t": "constraint trigger"}


def other_differences(conn: Connection, tables: Sequence[Table]) -> list[str]:
    """Differences in ``tables`` (those of the baseline found in the database) not checked elsewhere."""
    if not tables:
        return []
    shared = {table.name: table for table in tables}
    return [
        *_constraint_differences(conn, shared),
        *_identity_differences(conn, shared),
        *_table_option_differences(conn, shared),
        *_trigger_differences(conn, shared),
        *_collation_differences(conn, shared),
    ]


def _constraint_differences(conn: Connection, shared: Mapping[str, Table]) -> list[str]:
    expected = {
        (table.name, str(constraint.name))
        for table in metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }
    rows = conn.execute(
        text(
            "SELECT c.relname, con.conname, con.contype::text, pg_get_constraintdef(con.oid) "
            "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND con.contype IN ('c', 'x', 't') "
            "ORDER BY c.relname, con.conname"
        )
    )
    return [
        f"{table}: unexpected {_CONSTRAINT_KINDS[contype]} constraint {name}: {definition}"
        for table, name, contype, definition in rows
        if table in shared and (table, name) not in expected
    ]


def _identity_differences(conn: Connection, shared: Mapping[str, Table]) -> list[str]:
    rows = conn.execute(
        text(
            "SELECT c.relname, a.attname, a.attidentity::text, a.attgenerated::text FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
            "AND NOT a.attisdropped AND (a.attidentity <> '' OR a.attgenerated <> '') "
            "ORDER BY c.relname, a.attnum"
        )
    )
    lines = []
    for table, column, identity, generated in rows:
        expected = shared[table].columns.get(column) if table in shared else None
        if expected is None or isinstance(expected.server_default, Identity | Computed):
            continue  # an unexpected column is reported by autogenerate
        if identity:
            kind = "ALWAYS" if identity == "a" else "BY DEFAULT"
            lines.append(f"{table}.{column}: is GENERATED {kind} AS IDENTITY, expected a plain column")
        if generated:
            lines.append(f"{table}.{column}: is a generated column, expected a plain column")
    return lines


def _table_option_differences(conn: Connection, shared: Mapping[str, Table]) -> list[str]:
    rows = conn.execute(
        text(
            "SELECT c.relname, c.relpersistence::text, c.relrowsecurity FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
            "AND (c.relpersistence <> 'p' OR c.relrowsecurity) ORDER BY c.relname"
        )
    )
    lines = []
    for table, persistence, row_security in rows:
        if table in shared:
            if persistence == "u":
                lines.append(f"{table}: is UNLOGGED, expected a logged table")
            if row_security:
                lines.append(f"{table}: has row-level security enabled, expected none")
    return lines


def _trigger_differences(conn: Connection, shared: Mapping[str, Table]) -> list[str]:
    rows = conn.execute(
        text(
            "SELECT c.relname, tg.tgname FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND NOT tg.tgisinternal ORDER BY c.relname, tg.tgname"
        )
    )
    return [f"{table}: unexpected trigger {name}" for table, name in rows if table in shared]


def _collation_differences(conn: Connection, shared: Mapping[str, Table]) -> list[str]:
    rows = conn.execute(
        text(
            "SELECT c.relname, a.attname, coll.collname FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_type t ON t.oid = a.atttypid JOIN pg_collation coll ON coll.oid = a.attcollation "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
            "AND NOT a.attisdropped AND a.attcollation <> t.typcollation "
            "ORDER BY c.relname, a.attnum"
        )
    )
    return [
        f'{table}.{column}: collation "{collation}", expected the database default'
        for table, column, collation in rows
        if table in shared
    ]
