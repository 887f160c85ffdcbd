"""Indexes for the admin user list, ``GET /api/v1/admin/users`` (``identity.admin.list_users``).

At 100 K users every page of the list read the whole table and sorted it: ``users`` had no index
on ``createdAt``, and the search (``ILIKE '%…%'`` on email or name) can use no btree at all.

- ``users ("createdAt", id)``: the list, newest first on ``(createdAt, id)``; the first page and
  a cursor's ``("createdAt", id) < (…)`` read 51 index entries backwards instead of sorting
  100 K rows (seed database, EXPLAIN ANALYZE: first page 22 → 0.4 ms, 10,000 deep 26 → 0.4 ms);
- ``users (role, "createdAt", id)``: the role filter in the same order (17 to 32 → 0.05 to 0.1 ms), and
  ``admin.lock_super_admins`` (``WHERE role = 'SUPER_ADMIN'``), which every admin deletion, role
  change and a super admin's account deletion take (17 → 0.1 ms);
- ``users USING gin (email gin_trgm_ops)`` and ``(name gin_trgm_ops)``: the search; a pattern
  matching few users is a bitmap OR of the two instead of a sequential scan (106 to 178 → 0.05 to 2 ms);
  one matching many reads the ``createdAt`` index until the page is full (50 → 0.2 ms). A pattern
  of fewer than three characters has no trigram to look up and still scans (~100 ms).

Needs the ``pg_trgm`` extension (shipped with PostgreSQL's contrib, "trusted" since 13: a database
owner may create it; the embedded server the tests use has it), created here if missing. An
extension that already exists in another schema is used where it is (its operator class is
qualified with that schema). The downgrade drops the indexes and leaves the extension: it may
predate this migration, and other objects may use it.

Built CONCURRENTLY, outside Alembic's transaction, as 0007's are, and for the same reasons: an
adopted ``users`` table stays writable (sign-ups, sign-ins, role changes) meanwhile, and an
INVALID index left by a failed build is dropped and rebuilt when the upgrade is rerun. The names
of the btree ones follow Prisma's ``{table}_{columns}_idx``; the trigram ones end in
``_trgm_idx`` so that no Prisma-made ``users_email_idx`` is ever taken for one.

Revision ID: 0008_user_list_indexes
Revises: 0007_keyset_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_user_list_indexes"
down_revision: str | None = "0007_keyset_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, columns) of the btree indexes, named as Prisma names an index, {table}_{columns}_idx.
INDEXES = [
    ("users", ["createdAt", "id"]),
    ("users", ["role", "createdAt", "id"]),
]
# (table, column) of the GIN trigram indexes, {table}_{column}_trgm_idx.
TRIGRAM_INDEXES = [
    ("users", "email"),
    ("users", "name"),
]

_INVALID = sa.text(
    "SELECT 1 FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid "
    "WHERE i.relname = :name AND i.relnamespace = current_schema()::regnamespace AND NOT ix.indisvalid"
)
_TRGM_SCHEMA = sa.text(
    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
    "WHERE e.extname = 'pg_trgm'"
)


def _name(table: str, columns: list[str]) -> str:
    return f"{table}_{'_'.join(columns)}_idx"


def trigram_name(table: str, column: str) -> str:
    return f"{table}_{column}_trgm_idx"


def _drop_invalid(bind: sa.Connection, name: str, table: str) -> None:
    if bind.execute(_INVALID, {"name": name}).first() is not None:
        op.drop_index(name, table_name=table, postgresql_concurrently=True)


def upgrade() -> None:
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        for table, columns in INDEXES:
            name = _name(table, columns)
            _drop_invalid(bind, name, table)
            op.create_index(name, table, columns, postgresql_concurrently=True, if_not_exists=True)
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema = bind.execute(_TRGM_SCHEMA).scalar_one()
        opclass = f"{bind.dialect.identifier_preparer.quote_schema(schema)}.gin_trgm_ops"
        for table, column in TRIGRAM_INDEXES:
            name = trigram_name(table, column)
            _drop_invalid(bind, name, table)
            op.create_index(
                name,
                table,
                [column],
                postgresql_using="gin",
                postgresql_ops={column: opclass},
                postgresql_concurrently=True,
                if_not_exists=True,
            )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for table, column in reversed(TRIGRAM_INDEXES):
            op.drop_index(trigram_name(table, column), table_name=table, postgresql_concurrently=True)
        for table, columns in reversed(INDEXES):
            op.drop_index(_name(table, columns), table_name=table, postgresql_concurrently=True)
