"""Primary keys and foreign keys: the models' constraints against ``pg_constraint``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ForeignKeyConstraint, Table, text
from sqlalchemy.engine import Connection

from spikeland.db.adopt.catalog import COLUMNS_OF

_FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_FK_MATCH = {"s": "SIMPLE", "f": "FULL", "p": "PARTIAL"}
_CONSTRAINTS_SQL = (
    "SELECT c.relname AS table, con.conname AS name, "
    + COLUMNS_OF.format(keys="con.conkey", rel="con.conrelid")
    + " AS columns, CASE WHEN rn.nspname = current_schema() THEN rc.relname "
    "ELSE rn.nspname || '.' || rc.relname END AS ref_table, "
    + COLUMNS_OF.format(keys="con.confkey", rel="con.confrelid")
    + " AS ref_columns, con.confupdtype::text AS onupdate, con.confdeltype::text AS ondelete, "
    "con.confmatchtype::text AS match, con.condeferrable AS deferrable, con.condeferred AS deferred "
    "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_class rc ON rc.oid = con.confrelid "
    "LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace "
    "WHERE n.nspname = current_schema() AND con.contype::text = :contype"
)


def _constraints(conn: Connection, contype: str) -> list[Any]:
    return list(conn.execute(text(_CONSTRAINTS_SQL), {"contype": contype}))


# primary keys ------------------------------------------------------------------------------


def primary_key_differences(conn: Connection, tables: Sequence[Table]) -> list[str]:
    found = {row.table: row for row in _constraints(conn, "p")}
    lines = []
    for table in tables:
        pk = table.primary_key
        want_columns = [c.name for c in pk.columns]
        row = found.get(table.name)
        if row is None:
            if want_columns:
                lines.append(f"{table.name}: missing primary key {pk.name} ({', '.join(want_columns)})")
            continue
        if not want_columns:
            lines.append(f"{table.name}: unexpected primary key {row.name}")
            continue
        if list(row.columns) != want_columns:
            lines.append(
                f"{table.name}: primary key on ({', '.join(row.columns)}), "
                f"expected ({', '.join(want_columns)})"
            )
        if pk.name and row.name != pk.name:
            lines.append(f"{table.name}: primary key named {row.name}, expected {pk.name}")
    return lines


# foreign keys ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    ondelete: str
    onupdate: str
    deferrable: str
    match: str

    def describe(self) -> str:
        return f"{self.name} ({', '.join(self.columns)}) -> {self.ref_table}({', '.join(self.ref_columns)})"


_FK_ATTRIBUTES = {
    "columns": "columns",
    "ref_table": "referenced table",
    "ref_columns": "referenced columns",
    "ondelete": "ON DELETE",
    "onupdate": "ON UPDATE",
    "deferrable": "deferrability",
    "match": "MATCH",
}


def _expected_fk(fk: ForeignKeyConstraint) -> _ForeignKey:
    deferrable = "NOT DEFERRABLE"
    if fk.deferrable:
        deferrable = f"DEFERRABLE INITIALLY {(fk.initially or 'IMMEDIATE').upper()}"
    return _ForeignKey(
        name=str(fk.name),
        columns=tuple(c.name for c in fk.columns),
        ref_table=fk.referred_table.name,
        ref_columns=tuple(e.column.name for e in fk.elements),
        ondelete=(fk.ondelete or "NO ACTION").upper(),
        onupdate=(fk.onupdate or "NO ACTION").upper(),
        deferrable=deferrable,
        match=(fk.match or "SIMPLE").upper(),
    )


def _found_fk(row: Any) -> _ForeignKey:
    deferrable = "NOT DEFERRABLE"
    if row.deferrable:
        deferrable = f"DEFERRABLE INITIALLY {'DEFERRED' if row.deferred else 'IMMEDIATE'}"
    return _ForeignKey(
        name=str(row.name),
        columns=tuple(row.columns),
        ref_table=str(row.ref_table),
        ref_columns=tuple(row.ref_columns),
        ondelete=_FK_ACTIONS.get(row.ondelete, row.ondelete),
        onupdate=_FK_ACTIONS.get(row.onupdate, row.onupdate),
        deferrable=deferrable,
        match=_FK_MATCH.get(row.match, row.match),
    )


def foreign_key_differences(conn: Connection, tables: Sequence[Table]) -> list[str]:
    found: dict[str, dict[str, _ForeignKey]] = {}
    for row in _constraints(conn, "f"):
        found.setdefault(row.table, {})[row.name] = _found_fk(row)
    lines = []
    for table in tables:
        want = {fk.name: fk for fk in map(_expected_fk, table.foreign_key_constraints)}
        have = dict(found.get(table.name, {}))
        for name in sorted(want):
            expected = want[name]
            actual = have.pop(name, None)
            if actual is None:
                actual = _pop_renamed(have, want, expected)
                if actual is None:
                    lines.append(f"{table.name}: missing foreign key {expected.describe()}")
                    continue
                lines.append(f"{table.name}: foreign key {actual.name}, expected the name {name}")
            lines.extend(
                f"{table.name}: foreign key {name}: {line}" for line in _fk_problems(actual, expected)
            )
        for fk in sorted(have.values(), key=lambda f: f.name):
            lines.append(f"{table.name}: unexpected foreign key {fk.describe()}")
    return lines


def _pop_renamed(
    have: dict[str, _ForeignKey], want: dict[str, _ForeignKey], expected: _ForeignKey
) -> _ForeignKey | None:
    """Remove from ``have`` and return the unexpected key on the same columns and target as ``expected``."""
    renamed = next(
        (
            fk
            for fk in have.values()
            if (fk.columns, fk.ref_table) == (expected.columns, expected.ref_table) and fk.name not in want
        ),
        None,
    )
    if renamed is not None:
        del have[renamed.name]
    return renamed


def _fk_problems(actual: _ForeignKey, expected: _ForeignKey) -> list[str]:
    problems = []
    for attribute, label in _FK_ATTRIBUTES.items():
        a, e = getattr(actual, attribute), getattr(expected, attribute)
        if a != e:
            a, e = (", ".join(a), ", ".join(e)) if isinstance(a, tuple) else (a, e)
            problems.append(f"{label} is {a}, expected {e}")
    return problems
