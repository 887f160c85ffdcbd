"""The Alembic autogenerate comparison, each operation it proposes described as a readable line.

Indexes, unique constraints, foreign keys and enum labels are left to the catalog checks,
which report them more precisely.
"""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import produce_migrations
from alembic.migration import MigrationContext
from alembic.operations import ops
from sqlalchemy import Computed, Identity
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.schema import DefaultClause
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.types import TypeEngine

from spikeland.db.adopt.catalog import IGNORED_TABLES
from spikeland.db.registry import metadata

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]

#: operations the catalog checks report instead
_LEFT_TO_CATALOG = (
    ops.CreateIndexOp | ops.DropIndexOp | ops.AddConstraintOp | ops.DropConstraintOp | ops.CreateForeignKeyOp
)


def autogenerate_differences(conn: Connection) -> list[str]:
    """One line per operation autogenerate would need to turn the database into the models."""
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


def _include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    return not (type_ == "table" and name in IGNORED_TABLES)


# (table, column) that later migrations add to the models: not part of the baseline.
ADDED_LATER = {
    ("image_enhancement_jobs", "runAfter"),  # 0003_job_run_after
    ("mcp_generation_jobs", "retryCount"),  # 0004_generation_retries
    ("mcp_generation_jobs", "maxRetries"),
    ("mcp_generation_jobs", "runAfter"),
    *(  # 0014_box_runtime
        (table, column)
        for table in ("box_actions", "agent_tasks")
        for column in ("retryCount", "maxRetries", "runAfter", "processingStartedAt", "processingCompletedAt")
    ),
    ("boxes", "runStartedAt"),
    ("boxes", "hoursCharged"),
    ("boxes", "tokenHash"),
    ("external_agent_sessions", "syncedAt"),  # 0015_agent_sync
}
# Tables that later migrations add: not part of the baseline.
TABLES_ADDED_LATER = frozenset(
    {
        "merch_fulfilment_jobs",  # 0009_merch_fulfilment_jobs
        "ad_campaigns",  # 0010_ad_campaigns
        "ad_campaign_spend",  # 0010_ad_campaigns
        "admin_audit_events",  # 0011_admin_audit_events
        "audio_mixdowns",  # 0012_audio_mixdowns
    }
)


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave identity and generated columns to :mod:`spikeland.db.adopt.other`: Alembic's
    default comparison fails on them (an assertion) when the model has a plain default.
    Columns of later migrations are not the baseline's."""
    if type_ == "column" and not reflected and (obj.table.name, name) in ADDED_LATER:
        return False
    if type_ == "table" and not reflected and name in TABLES_ADDED_LATER:
        return False
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
    if isinstance(op, _LEFT_TO_CATALOG):
        return []
    if isinstance(op, ops.CreateTableCommentOp):
        found, wanted = _comment(op.existing_comment), _comment(op.comment)
        return [f"{op.table_name}: table comment is {found}, expected {wanted}"]
    if isinstance(op, ops.DropTableCommentOp):
        return [f"{op.table_name}: table comment is {_comment(op.existing_comment)}, expected none"]
    if type(op).__module__.startswith("alembic_postgresql_enum"):
        return []  # enum labels: the catalog check
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
