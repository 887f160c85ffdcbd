"""Indexes and UNIQUE constraints: the baseline's against ``pg_index``.

The baseline's indexes are the models' less those later migrations add (0002's FK indexes, 0007's
keyset indexes, 0008's user-list indexes, 0013's console-list indexes, 0014's job-table indexes,
0015's unique key on agent activities); such an index found already in place is accepted when it
is the one its migration would create, and so is one of the plain indexes Prisma makes beside a
unique one (:mod:`~spikeland.db.adopt.legacy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from alembic.script import ScriptDirectory
from sqlalchemy import Index, Table, UniqueConstraint, text
from sqlalchemy.engine import Connection

from spikeland.db.adopt.catalog import COLUMNS_OF
from spikeland.db.adopt.legacy import DUPLICATE_INDEXES, DUPLICATES_REVISION
from spikeland.db.migrate import alembic_config

FK_INDEX_REVISION = "0002_fk_indexes"
KEYSET_INDEX_REVISION = "0007_keyset_indexes"
USER_LIST_INDEX_REVISION = "0008_user_list_indexes"
CONSOLE_INDEX_REVISION = "0013_console_list_indexes"
BOX_INDEX_REVISION = "0014_box_runtime"
AGENT_INDEX_REVISION = "0015_agent_sync"

_INDEXES_SQL = (
    "SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique, "
    "ix.indisvalid AS valid, am.amname AS method, ix.indpred IS NOT NULL AS partial, "
    "ix.indexprs IS NOT NULL AS expressions, ix.indnkeyatts AS nkey, "
    + COLUMNS_OF.format(keys="ix.indkey::int2[]", rel="ix.indrelid")
    + " AS columns, ix.indkey::int2[] AS attnums, ix.indoption::int2[] AS options, "
    "con.contype::text AS contype, pg_get_indexdef(i.oid) AS definition "
    "FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid "
    "JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
    "JOIN pg_am am ON am.oid = i.relam "
    "LEFT JOIN pg_constraint con ON con.conindid = i.oid AND con.conrelid = t.oid "
    "AND con.contype IN ('u', 'x') "
    "WHERE n.nspname = current_schema() AND NOT ix.indisprimary"
)


@dataclass(frozen=True)
class _Index:
    name: str
    unique: bool
    columns: tuple[str, ...]
    constraint: bool  # a UNIQUE constraint rather than a bare unique index
    method: str = "btree"


def _index_columns(index: Index) -> tuple[str, ...]:
    return tuple(str(getattr(expr, "name", expr)) for expr in index.expressions)


@dataclass(frozen=True)
class _Later:
    """An index a later migration adds (``IF NOT EXISTS``): its columns and that migration."""

    columns: tuple[str, ...]
    revision: str
    method: str = "btree"
    unique: bool = False


def _later_indexes() -> dict[tuple[str, str], _Later]:
    """(table, index) of the indexes migrations 0002, 0007, 0008, 0013, 0014 and 0015 add to the models,
    read from them."""
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    revisions = (
        FK_INDEX_REVISION,
        KEYSET_INDEX_REVISION,
        USER_LIST_INDEX_REVISION,
        CONSOLE_INDEX_REVISION,
        BOX_INDEX_REVISION,
    )
    fk, keyset, users, console, boxes = (script.get_revision(r) for r in revisions)
    assert boxes is not None and boxes.module is not None
    assert fk is not None and fk.module is not None and keyset is not None and keyset.module is not None
    assert (
        users is not None and users.module is not None and console is not None and console.module is not None
    )
    later = {
        (table, f"{table}_{column}_idx"): _Later((column,), FK_INDEX_REVISION)
        for table, column in fk.module.FK_COLUMNS
    }
    for plain in (keyset, users, console, boxes):
        for table, columns in plain.module.INDEXES:
            later[(table, plain.module._name(table, columns))] = _Later(tuple(columns), plain.revision)
    agents = script.get_revision(AGENT_INDEX_REVISION)
    assert agents is not None and agents.module is not None
    for table, columns in agents.module.UNIQUE_INDEXES:
        later[(table, agents.module._name(table, columns))] = _Later(
            tuple(columns), AGENT_INDEX_REVISION, unique=True
        )
    for table, column in users.module.TRIGRAM_INDEXES:
        later[(table, users.module.trigram_name(table, column))] = _Later(
            (column,), USER_LIST_INDEX_REVISION, method="gin"
        )
    return later


def _baseline_indexes(table: Table, later: dict[tuple[str, str], _Later]) -> dict[str, _Index]:
    indexes = {
        str(ix.name): _Index(str(ix.name), bool(ix.unique), _index_columns(ix), constraint=False)
        for ix in table.indexes
        if (table.name, str(ix.name)) not in later
    }
    for uc in table.constraints:
        if isinstance(uc, UniqueConstraint):
            name = str(uc.name)
            indexes[name] = _Index(name, True, tuple(c.name for c in uc.columns), constraint=True)
    return indexes


def index_differences(conn: Connection, tables: Sequence[Table]) -> tuple[list[str], list[str]]:
    """Differences in the indexes of ``tables``, and notes (0002's indexes already in place)."""
    found: dict[str, dict[str, Any]] = {}
    for row in conn.execute(text(_INDEXES_SQL)):
        found.setdefault(row.table, {})[row.name] = row
    later = _later_indexes()
    lines: list[str] = []
    notes: list[str] = []
    for table in tables:
        want = _baseline_indexes(table, later)
        have = dict(found.get(table.name, {}))
        for name in sorted(want):
            expected = want[name]
            row = have.pop(name, None)
            kind = "unique index" if expected.unique else "index"
            if row is None:
                lines.append(f"{table.name}: missing {kind} {name} ({', '.join(expected.columns)})")
                continue
            lines.extend(
                f"{table.name}: {kind} {name}: {problem}" for problem in _index_problems(row, expected)
            )
        for name in sorted(have):
            if (table.name, name) in later:
                _check_later_index(table.name, have[name], later[(table.name, name)], lines, notes)
            elif (table.name, name) in DUPLICATE_INDEXES:
                _check_duplicate_index(table.name, have[name], lines, notes)
            else:
                lines.append(f"{table.name}: unexpected index {name}: {have[name].definition}")
    return lines, notes


def _check_later_index(table: str, row: Any, later: _Later, lines: list[str], notes: list[str]) -> None:
    """0002, 0007, 0008 and 0013 create their indexes IF NOT EXISTS: an identical one is fine, another would
    stay (of a trigram index, the operator class is not compared)."""
    problems = _index_problems(row, _Index(row.name, later.unique, later.columns, False, later.method))
    if not problems:
        notes.append(f"index {row.name} already exists; migration {later.revision} will keep it")
    lines.extend(
        f"{table}: index {row.name} (which {later.revision} would create) exists but {p}" for p in problems
    )


def _check_duplicate_index(table: str, row: Any, lines: list[str], notes: list[str]) -> None:
    """One of Prisma's plain indexes beside a unique one (see :mod:`~spikeland.db.adopt.legacy`):
    accepted only when it is exactly that, a valid plain btree on the one column."""
    column = DUPLICATE_INDEXES[(table, row.name)]
    problems = _index_problems(row, _Index(row.name, False, (column,), False))
    if not problems:
        notes.append(
            f"index {row.name} is covered by the unique index leading with {table}.{column} "
            f"(Prisma made both); migration {DUPLICATES_REVISION} drops it"
        )
    lines.extend(
        f"{table}: index {row.name} (Prisma's duplicate of a unique index) exists but {p}" for p in problems
    )


def _index_problems(row: Any, expected: _Index) -> list[str]:
    problems = []
    nkey = int(row.nkey)
    key_columns = tuple(row.columns[:nkey])
    if 0 in list(row.attnums)[:nkey] or row.expressions:
        problems.append(f"is on expressions: {row.definition}")
    elif key_columns != expected.columns:
        problems.append(f"is on ({', '.join(key_columns)}), expected ({', '.join(expected.columns)})")
    if bool(row.unique) != expected.unique:
        problems.append("is unique, expected not unique" if row.unique else "is not unique, expected unique")
    if row.method != expected.method:
        problems.append(f"uses {row.method}, expected {expected.method}")
    if row.partial:
        problems.append(f"is partial: {row.definition}")
    if any(int(option) for option in list(row.options)[:nkey]):
        problems.append(f"has DESC or NULLS FIRST columns: {row.definition}")
    if len(row.columns) > nkey:
        problems.append(f"has INCLUDE columns ({', '.join(row.columns[nkey:])})")
    if not row.valid:
        problems.append("is INVALID (a failed CREATE INDEX CONCURRENTLY?); rebuild it with REINDEX")
    is_constraint = row.contype is not None
    if is_constraint and not expected.constraint:
        problems.append("is a UNIQUE constraint, expected a unique index (as Prisma makes it)")
    elif expected.constraint and not is_constraint:
        problems.append("is a unique index, expected a UNIQUE constraint")
    return problems
