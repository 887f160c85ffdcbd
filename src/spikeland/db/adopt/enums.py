"""Enum types: the models' against ``pg_enum``, and the enum type each column uses."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Enum, Table, text
from sqlalchemy.engine import Connection
from sqlalchemy.types import ARRAY


def enum_differences(conn: Connection, tables: Sequence[Table]) -> list[str]:
    """Missing and unexpected enum types, their labels, and columns of another enum type."""
    expected = _expected_enums(tables)
    rows = conn.execute(
        text(
            "SELECT t.typname, array_agg(e.enumlabel ORDER BY e.enumsortorder) "
            "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
            "JOIN pg_enum e ON e.enumtypid = t.oid "
            "WHERE n.nspname = current_schema() GROUP BY t.typname"
        )
    )
    found = {str(name): list(labels) for name, labels in rows}
    lines = []
    for name in sorted(expected.keys() - found.keys()):
        lines.append(f'missing enum type "{name}" ({", ".join(expected[name])})')
    for name in sorted(found.keys() - expected.keys()):
        lines.append(f'unexpected enum type "{name}" ({", ".join(found[name])})')
    for name in sorted(expected.keys() & found.keys()):
        want, have = expected[name], found[name]
        if want != have:
            lines.append(f'enum type "{name}": {_label_differences(want, have)}')
    return lines + _column_enum_differences(conn, tables)


def _expected_enums(tables: Sequence[Table]) -> dict[str, list[str]]:
    enums: dict[str, list[str]] = {}
    for table in tables:
        for column in table.columns:
            type_ = column.type
            if isinstance(type_, ARRAY):
                type_ = type_.item_type
            if isinstance(type_, Enum) and type_.name:
                enums[type_.name] = list(type_.enums)
    return enums


def _label_differences(want: list[str], have: list[str]) -> str:
    extra = [label for label in have if label not in want]
    missing = [label for label in want if label not in have]
    detail = []
    if missing:
        detail.append(f"missing {', '.join(missing)}")
    if extra:
        detail.append(f"unexpected {', '.join(extra)}")
    if not detail:
        detail.append("labels in another order")
    return f"{'; '.join(detail)} (found {', '.join(have)}; expected {', '.join(want)})"


def _column_enum_differences(conn: Connection, tables: Sequence[Table]) -> list[str]:
    """Columns of another enum type than the model's (autogenerate sees only the labels)."""
    rows = conn.execute(
        text(
            "SELECT c.relname, a.attname, t.typname FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
            "AND a.attnum > 0 AND NOT a.attisdropped AND t.typtype = 'e'"
        )
    )
    used_by = {(str(table), str(column)): str(type_name) for table, column, type_name in rows}
    lines = []
    for table in tables:
        for column in table.columns:
            if isinstance(column.type, Enum) and column.type.name:
                used = used_by.get((table.name, column.name))
                if used is not None and used != column.type.name:
                    lines.append(
                        f'{table.name}.{column.name}: enum type is "{used}", expected "{column.type.name}"'
                    )
    return lines
