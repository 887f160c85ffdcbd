"""Adopt a database made by the original Spike Land platform (Prisma) into Alembic's history.

Such a database has the baseline schema but no ``alembic_version`` table (and usually a
``_prisma_migrations`` table, which is left alone). Adoption compares the live schema with the
baseline and, only when nothing differs, stamps it at ``0001_baseline`` in the same
transaction, so that ``db upgrade`` afterwards applies 0002 and later revisions. On any
difference nothing is written and the differences are returned, one readable line each.

The baseline is the model metadata less what later migrations added to the models: today
only the FK indexes of 0002 (its ``FK_COLUMNS``). A migration that changes the models must
teach :func:`_baseline_indexes` (or this module) what it added; the adoption tests, which
build a database from 0001 alone and expect it to be accepted, fail until it does.

What is compared:

* Alembic autogenerate: missing and unexpected tables and columns, column types (length,
  precision, timestamp with/without time zone, json/jsonb, arrays, enum vs text), nullability,
  server defaults, table and column comments.
* Catalog checks, for what autogenerate leaves out or reports poorly: primary keys (name and
  columns); foreign keys (name, columns, referenced table and columns, ON DELETE, ON UPDATE,
  DEFERRABLE, MATCH); indexes (name, columns and their order, uniqueness, method, partial,
  expression, DESC/NULLS options, INCLUDE columns, validity, a UNIQUE constraint where Prisma
  makes a unique index); enum types (missing, unexpected, labels and their order, the enum a
  column uses); CHECK, EXCLUDE and trigger constraints; triggers; column collations; identity
  and generated columns; UNLOGGED tables; row-level security.

Not compared: objects outside the current schema (normally ``public``), views (only noted),
functions, sequences, extensions, grants and ownership, column order, storage parameters,
operator classes of index columns; and the ``_prisma_migrations`` table, left as it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from alembic import command
from alembic.autogenerate import produce_migrations
from alembic.migration import MigrationContext
from alembic.operations import ops
from alembic.script import ScriptDirectory
from sqlalchemy import (
    CheckConstraint,
    Computed,
    Enum,
    ForeignKeyConstraint,
    Identity,
    Index,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import DefaultClause
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.types import ARRAY, TypeEngine

from spikeland.db.engine import SERVER_SETTINGS, async_url
from spikeland.db.migrate import BASELINE_REVISION, alembic_config
from spikeland.db.registry import metadata

VERSION_TABLE = "alembic_version"
PRISMA_TABLE = "_prisma_migrations"
IGNORED_TABLES = frozenset({VERSION_TABLE, PRISMA_TABLE})
FK_INDEX_REVISION = "0002_fk_indexes"

Status = Literal["adopted", "verified", "already_managed", "empty", "differs"]

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]
_FK_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_FK_MATCH = {"s": "SIMPLE", "f": "FULL", "p": "PARTIAL"}
_CONSTRAINT_KINDS = {"c": "CHECK", "x": "EXCLUDE", "t": "constraint trigger"}


@dataclass(frozen=True)
class AdoptResult:
    """What :func:`adopt` found and did.

    ``status``: ``adopted`` (stamped), ``verified`` (matches; dry run, not stamped),
    ``already_managed`` (has an ``alembic_version``), ``empty`` (no tables) or ``differs``.
    ``differences`` holds one line per difference from the baseline; ``notes`` are remarks
    that do not prevent adoption (e.g. the ``_prisma_migrations`` table left in place).
    """

    ok: bool
    status: Status
    message: str
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def adopt(url: str, *, dry_run: bool = False) -> AdoptResult:
    """Verify that the database at ``url`` matches the baseline and stamp it at ``0001_baseline``.

    With ``dry_run`` it only verifies. Refuses, writing nothing, when the database already has
    an ``alembic_version`` table, has no tables, or differs from the baseline. Connection
    errors propagate. Must not be called from a running event loop (use :func:`adopt_async`).
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
    tables = _user_tables(conn)
    if not tables - IGNORED_TABLES:
        return AdoptResult(
            ok=False,
            status="empty",
            message="the database has no tables: nothing to adopt; create the schema with `db upgrade`",
        )
    notes = _prisma_notes(conn) if PRISMA_TABLE in tables else []
    differences, more_notes = compare(conn)
    notes.extend(more_notes)
    if differences:
        return AdoptResult(
            ok=False,
            status="differs",
            message=(
                f"the database differs from the baseline schema in {len(differences)} "
                f"{'way' if len(differences) == 1 else 'ways'}; nothing was changed"
            ),
            differences=differences,
            notes=notes,
        )
    if dry_run:
        return AdoptResult(
            ok=True,
            status="verified",
            message=f"the database matches the baseline; it can be adopted at {BASELINE_REVISION}",
            notes=notes,
        )
    config = alembic_config(url)
    config.attributes["connection"] = conn  # stamp inside this transaction
    command.stamp(config, BASELINE_REVISION)
    return AdoptResult(
        ok=True,
        status="adopted",
        message=(
            f"the database matches the baseline and is now stamped at {BASELINE_REVISION}; "
            "run `db upgrade` to apply the later migrations"
        ),
        notes=notes,
    )


# ----------------------------------------------------------------------------- preliminaries


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


def _user_tables(conn: Connection) -> set[str]:
    rows = conn.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
        )
    )
    return {str(row[0]) for row in rows}


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


# ----------------------------------------------------------------------------- comparison


def compare(conn: Connection) -> tuple[list[str], list[str]]:
    """Differences between the database on ``conn`` and the baseline, and notes; read-only."""
    db_tables = _user_tables(conn) - IGNORED_TABLES
    expected = {name: table for name, table in metadata.tables.items() if table.schema is None}
    shared = sorted(db_tables & expected.keys())
    differences = _autogenerate_differences(conn)
    differences += _enum_differences(conn, expected.values())
    differences += _primary_key_differences(conn, [expected[name] for name in shared])
    differences += _foreign_key_differences(conn, [expected[name] for name in shared])
    index_differences, notes = _index_differences(conn, [expected[name] for name in shared])
    differences += index_differences
    differences += _other_differences(conn, shared)
    views = conn.execute(
        text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm') ORDER BY c.relname"
        )
    ).scalars()
    notes.extend(f"view {name} is not part of the baseline and was not compared" for name in views)
    return differences, notes


def _include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    return not (type_ == "table" and name in IGNORED_TABLES)


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave identity and generated columns to :func:`_generated_differences`: Alembic's
    default comparison fails on them (an assertion) when the model has a plain default."""
    if type_ == "column" and compare_to is not None and not reflected:
        return not isinstance(compare_to.server_default, Identity | Computed)
    return True


def _safe_default_comparison(context: MigrationContext) -> None:
    """Make Alembic's PostgreSQL default comparison safe to run on a database we only read.

    It evaluates both defaults in a ``SELECT``, which fails, and would abort the transaction,
    for e.g. an enum label the database lacks. Run it in a savepoint and count a failure as a
    difference. (The ``compare_server_default`` callable hook is not usable instead: Alembic
    crashes in it on identity columns.)
    """
    impl = context.impl
    original = impl.compare_server_default
    connection = context.connection
    assert connection is not None

    def compare_server_default(
        inspector_column: Any,
        metadata_column: Any,
        rendered_metadata_default: str | None,
        rendered_inspector_default: str | None,
    ) -> bool:
        if rendered_inspector_default == rendered_metadata_default:
            return False
        try:
            with connection.begin_nested():
                return bool(
                    original(  # type: ignore[no-untyped-call]
                        inspector_column,
                        metadata_column,
                        rendered_metadata_default,
                        rendered_inspector_default,
                    )
                )
        except DBAPIError:
            return True

    setattr(impl, "compare_server_default", compare_server_default)  # noqa: B010


def _autogenerate_differences(conn: Connection) -> list[str]:
    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_name": _include_name,
            "include_object": _include_object,
        },
    )
    _safe_default_comparison(context)
    script = produce_migrations(context, metadata)
    assert script.upgrade_ops is not None
    lines: list[str] = []
    for op in script.upgrade_ops.ops:
        if isinstance(op, ops.ModifyTableOps):
            for sub in op.ops:
                lines.extend(_describe_op(sub, op.table_name))
        else:
            lines.extend(_describe_op(op, None))
    return lines


def _describe_op(op: ops.MigrateOperation, table: str | None) -> list[str]:
    if isinstance(op, ops.CreateTableOp):
        return [f"missing table {op.table_name}"]
    if isinstance(op, ops.DropTableOp):
        return [f"unexpected table {op.table_name} (not in the baseline)"]
    if isinstance(op, ops.AddColumnOp):
        return [f"{op.table_name}: missing column {op.column.name} ({_type(op.column.type)})"]
    if isinstance(op, ops.DropColumnOp):
        return [f"{op.table_name}: unexpected column {op.column_name} (not in the baseline)"]
    if isinstance(op, ops.AlterColumnOp):
        return [_describe_alter(diff) for diff in op.to_diff_tuple()]
    if isinstance(
        op,
        ops.CreateIndexOp
        | ops.DropIndexOp
        | ops.AddConstraintOp
        | ops.DropConstraintOp
        | ops.CreateForeignKeyOp,
    ):
        return []  # indexes, unique constraints and foreign keys: the catalog checks below
    if isinstance(op, ops.CreateTableCommentOp):
        found, wanted = _comment(op.existing_comment), _comment(op.comment)
        return [f"{op.table_name}: table comment is {found}, expected {wanted}"]
    if isinstance(op, ops.DropTableCommentOp):
        return [f"{op.table_name}: table comment is {_comment(op.existing_comment)}, expected none"]
    if type(op).__module__.startswith("alembic_postgresql_enum"):
        return []  # enum labels: the catalog check below
    diff = op.to_diff_tuple()
    where = f"{table}: " if table else ""
    return [f"{where}{diff[0]}: {diff[1:]!r}"]


def _describe_alter(diff: tuple[Any, ...]) -> str:
    kind, _schema, table, column, _existing, found, wanted = diff
    where = f"{table}.{column}"
    if kind == "modify_type":
        return f"{where}: type is {_type(found)}, expected {_type(wanted)}"
    if kind == "modify_nullable":
        return f"{where}: {_nullability(found)}, expected {_nullability(wanted)}"
    if kind == "modify_default":
        return f"{where}: default is {_default(found)}, expected {_default(wanted)}"
    if kind == "modify_comment":
        return f"{where}: comment is {_comment(found)}, expected {_comment(wanted)}"
    return f"{where}: {kind}: {found!r}, expected {wanted!r}"


def _comment(comment: str | None) -> str:
    return repr(comment) if comment else "none"


def _nullability(nullable: bool) -> str:
    return "NULL allowed" if nullable else "NOT NULL"


def _type(type_: TypeEngine[Any]) -> str:
    try:
        return str(type_.compile(dialect=_DIALECT))
    except Exception:  # a reflected type the dialect cannot render
        return repr(type_)


def _default(value: Any) -> str:
    if value is None or value is False:
        return "none"
    if isinstance(value, DefaultClause):
        value = value.arg
    if isinstance(value, TextClause):
        return value.text
    return str(value)


# enum types --------------------------------------------------------------------------------


def _expected_enums(tables: Iterable[Table]) -> dict[str, list[str]]:
    enums: dict[str, list[str]] = {}
    for table in tables:
        for column in table.columns:
            type_ = column.type
            if isinstance(type_, ARRAY):
                type_ = type_.item_type
            if isinstance(type_, Enum) and type_.name:
                enums[type_.name] = list(type_.enums)
    return enums


def _enum_differences(conn: Connection, tables: Iterable[Table]) -> list[str]:
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
        if want == have:
            continue
        extra = [label for label in have if label not in want]
        missing = [label for label in want if label not in have]
        detail = []
        if missing:
            detail.append(f"missing {', '.join(missing)}")
        if extra:
            detail.append(f"unexpected {', '.join(extra)}")
        if not detail:
            detail.append("labels in another order")
        lines.append(
            f'enum type "{name}": {"; ".join(detail)} (found {", ".join(have)}; expected {", ".join(want)})'
        )
    # a column of another enum type than the model's (autogenerate sees only the labels)
    columns = conn.execute(
        text(
            "SELECT c.relname, a.attname, t.typname FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
            "AND a.attnum > 0 AND NOT a.attisdropped AND t.typtype = 'e'"
        )
    )
    by_column = {(str(table), str(column)): str(typ) for table, column, typ in columns}
    for table in tables:
        for column in table.columns:
            if isinstance(column.type, Enum) and column.type.name:
                used = by_column.get((table.name, column.name))
                if used is not None and used != column.type.name:
                    lines.append(
                        f'{table.name}.{column.name}: enum type is "{used}", expected "{column.type.name}"'
                    )
    return lines


# primary keys ------------------------------------------------------------------------------

_COLUMNS_OF = (
    "ARRAY(SELECT a.attname FROM unnest({keys}) WITH ORDINALITY k(attnum, ord) "
    "JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.attnum ORDER BY k.ord)::text[]"
)


def _constraints(conn: Connection, contype: str) -> list[Any]:
    sql = (
        "SELECT c.relname AS table, con.conname AS name, "
        + _COLUMNS_OF.format(keys="con.conkey", rel="con.conrelid")
        + " AS columns, CASE WHEN rn.nspname = current_schema() THEN rc.relname "
        "ELSE rn.nspname || '.' || rc.relname END AS ref_table, "
        + _COLUMNS_OF.format(keys="con.confkey", rel="con.confrelid")
        + " AS ref_columns, con.confupdtype::text AS onupdate, con.confdeltype::text AS ondelete, "
        "con.confmatchtype::text AS match, con.condeferrable AS deferrable, con.condeferred AS deferred "
        "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_class rc ON rc.oid = con.confrelid "
        "LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace "
        "WHERE n.nspname = current_schema() AND con.contype::text = :contype"
    )
    return list(conn.execute(text(sql), {"contype": contype}))


def _primary_key_differences(conn: Connection, tables: Sequence[Table]) -> list[str]:
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


_FK_ATTRIBUTES = {
    "columns": "columns",
    "ref_table": "referenced table",
    "ref_columns": "referenced columns",
    "ondelete": "ON DELETE",
    "onupdate": "ON UPDATE",
    "deferrable": "deferrability",
    "match": "MATCH",
}


def _foreign_key_differences(conn: Connection, tables: Sequence[Table]) -> list[str]:
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
            if actual is None:  # renamed? the same columns and target under another name
                actual = next(
                    (
                        fk
                        for fk in have.values()
                        if (fk.columns, fk.ref_table) == (expected.columns, expected.ref_table)
                        and fk.name not in want
                    ),
                    None,
                )
                if actual is None:
                    lines.append(f"{table.name}: missing foreign key {expected.describe()}")
                    continue
                del have[actual.name]
                lines.append(f"{table.name}: foreign key {actual.name}, expected the name {name}")
            for attribute, label in _FK_ATTRIBUTES.items():
                a, e = getattr(actual, attribute), getattr(expected, attribute)
                if a != e:
                    a, e = (", ".join(a), ", ".join(e)) if isinstance(a, tuple) else (a, e)
                    lines.append(f"{table.name}: foreign key {name}: {label} is {a}, expected {e}")
        for fk in sorted(have.values(), key=lambda f: f.name):
            lines.append(f"{table.name}: unexpected foreign key {fk.describe()}")
    return lines


# indexes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Index:
    name: str
    unique: bool
    columns: tuple[str, ...]
    constraint: bool  # a UNIQUE constraint rather than a bare unique index


def _index_columns(index: Index) -> tuple[str, ...]:
    return tuple(str(getattr(expr, "name", expr)) for expr in index.expressions)


def _fk_index_names() -> set[tuple[str, str]]:
    """(table, index) of the indexes migration 0002 adds to the models."""
    script = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    revision = script.get_revision(FK_INDEX_REVISION)
    assert revision is not None and revision.module is not None
    fk_columns: list[tuple[str, str]] = revision.module.FK_COLUMNS
    return {(table, f"{table}_{column}_idx") for table, column in fk_columns}


def _baseline_indexes(table: Table, later: set[tuple[str, str]]) -> dict[str, _Index]:
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


def _index_differences(conn: Connection, tables: Sequence[Table]) -> tuple[list[str], list[str]]:
    rows = conn.execute(
        text(
            "SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique, "
            "ix.indisvalid AS valid, am.amname AS method, ix.indpred IS NOT NULL AS partial, "
            "ix.indexprs IS NOT NULL AS expressions, ix.indnkeyatts AS nkey, "
            + _COLUMNS_OF.format(keys="ix.indkey::int2[]", rel="ix.indrelid")
            + " AS columns, ix.indkey::int2[] AS attnums, ix.indoption::int2[] AS options, "
            "con.contype::text AS contype, pg_get_indexdef(i.oid) AS definition "
            "FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid "
            "JOIN pg_class t ON t.oid = ix.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "JOIN pg_am am ON am.oid = i.relam "
            "LEFT JOIN pg_constraint con ON con.conindid = i.oid AND con.conrelid = t.oid "
            "AND con.contype IN ('u', 'x') "
            "WHERE n.nspname = current_schema() AND NOT ix.indisprimary"
        )
    )
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        found.setdefault(row.table, {})[row.name] = row
    later = _fk_index_names()
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
            problems = _index_problems(row, expected)
            lines.extend(f"{table.name}: {kind} {name}: {problem}" for problem in problems)
        for name in sorted(have):
            row = have[name]
            if (table.name, name) in later:
                # 0002 creates it IF NOT EXISTS: an identical one is fine, another would stay
                column = name.removeprefix(f"{table.name}_").removesuffix("_idx")
                problems = _index_problems(row, _Index(name, False, (column,), False))
                if not problems:
                    notes.append(f"index {name} already exists; migration {FK_INDEX_REVISION} will keep it")
                lines.extend(
                    f"{table.name}: index {name} (which {FK_INDEX_REVISION} would create) exists but {p}"
                    for p in problems
                )
                continue
            lines.append(f"{table.name}: unexpected index {name}: {row.definition}")
    return lines, notes


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
    if row.method != "btree":
        problems.append(f"uses {row.method}, expected btree")
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


# check constraints, triggers, collations ---------------------------------------------------


def _other_differences(conn: Connection, tables: Sequence[str]) -> list[str]:
    if not tables:
        return []
    shared = set(tables)
    expected_checks = {
        (table.name, str(constraint.name))
        for table in metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }
    lines = []
    rows = conn.execute(
        text(
            "SELECT c.relname, con.conname, con.contype::text, pg_get_constraintdef(con.oid) "
            "FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND con.contype IN ('c', 'x', 't') "
            "ORDER BY c.relname, con.conname"
        )
    )
    for table, name, contype, definition in rows:
        if table in shared and (table, name) not in expected_checks:
            lines.append(f"{table}: unexpected {_CONSTRAINT_KINDS[contype]} constraint {name}: {definition}")
    rows = conn.execute(
        text(
            "SELECT c.relname, a.attname, a.attidentity::text, a.attgenerated::text FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 "
            "AND NOT a.attisdropped AND (a.attidentity <> '' OR a.attgenerated <> '') "
            "ORDER BY c.relname, a.attnum"
        )
    )
    for table, column, identity, generated in rows:
        expected = metadata.tables[table].columns.get(column) if table in shared else None
        if expected is None or isinstance(expected.server_default, Identity | Computed):
            continue  # an unexpected column is reported by autogenerate
        if identity:
            kind = "ALWAYS" if identity == "a" else "BY DEFAULT"
            lines.append(f"{table}.{column}: is GENERATED {kind} AS IDENTITY, expected a plain column")
        if generated:
            lines.append(f"{table}.{column}: is a generated column, expected a plain column")
    rows = conn.execute(
        text(
            "SELECT c.relname, c.relpersistence::text, c.relrowsecurity FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
            "AND (c.relpersistence <> 'p' OR c.relrowsecurity) ORDER BY c.relname"
        )
    )
    for table, persistence, row_security in rows:
        if table in shared:
            if persistence == "u":
                lines.append(f"{table}: is UNLOGGED, expected a logged table")
            if row_security:
                lines.append(f"{table}: has row-level security enabled, expected none")
    rows = conn.execute(
        text(
            "SELECT c.relname, tg.tgname FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND NOT tg.tgisinternal ORDER BY c.relname, tg.tgname"
        )
    )
    for table, name in rows:
        if table in shared:
            lines.append(f"{table}: unexpected trigger {name}")
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
    for table, column, collation in rows:
        if table in shared:
            lines.append(f'{table}.{column}: collation "{collation}", expected the database default')
    return lines
