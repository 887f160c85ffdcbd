"""Indexes in the keyset order of the pages and reads that walk them (issue 13).

Every list is newest first on ``(createdAt, id)``, but the specified indexes stop at
``createdAt``: PostgreSQL adds an Incremental Sort on ``id``, and a cursor's
``("createdAt", id) < (…)`` is an index condition on ``createdAt`` alone with ``id`` a filter.
Each index here carries the whole order after the page's equality column:

- ``enhanced_images ("isPublic", "createdAt", id)``: the public gallery;
- ``enhanced_images ("userId", "createdAt", id)``: a user's images;
- ``token_transactions ("userId", "createdAt", id)``: the ledger page, and ``tokens verify``'s
  chain (its window is partitioned by user in this order, so it reads the index instead of
  sorting every row);
- ``image_enhancement_jobs ("imageId", status, "createdAt", id)``: the "latest COMPLETED
  enhancement" lateral of every image read, one index probe per image instead of a sort of its
  jobs.

Not partial (``WHERE status = 'COMPLETED'``, ``WHERE "isPublic"``) on purpose: the app sends the
status as a bind parameter, and a prepared statement's generic plan cannot prove a parameter
matches an index predicate, so a partial index would serve only custom plans. Scanned backwards,
ascending columns give the ``DESC, DESC`` order.

The specified ``(…, "createdAt")`` indexes these extend become redundant for our queries but
stay: they are the contract's, and an adopted database keeps them for the platform's code.

Built CONCURRENTLY, outside Alembic's transaction (``autocommit_block``), as 0002's are: on an
adopted database with millions of rows a plain CREATE INDEX would block every write to these
tables for the whole build, and these are the tables every upload, job and spend writes. The
price: a concurrent build that fails (a deadlock, a cancelled upgrade) leaves an INVALID index
behind, which ``IF NOT EXISTS`` would then take for done; so an invalid one of the same name is
dropped first, and rerunning the upgrade finishes the job.

Revision ID: 0007_keyset_indexes
Revises: 0006_prisma_duplicate_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_keyset_indexes"
down_revision: str | None = "0006_prisma_duplicate_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, columns): named as Prisma names an index, {table}_{columns}_idx.
INDEXES = [
    ("enhanced_images", ["isPublic", "createdAt", "id"]),
    ("enhanced_images", ["userId", "createdAt", "id"]),
    ("token_transactions", ["userId", "createdAt", "id"]),
    ("image_enhancement_jobs", ["imageId", "status", "createdAt", "id"]),
]

_INVALID = sa.text(
    "SELECT 1 FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid "
    "WHERE i.relname = :name AND i.relnamespace = current_schema()::regnamespace AND NOT ix.indisvalid"
)


def _name(table: str, columns: list[str]) -> str:
    return f"{table}_{'_'.join(columns)}_idx"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        bind = op.get_bind()
        for table, columns in INDEXES:
            name = _name(table, columns)
            if bind.execute(_INVALID, {"name": name}).first() is not None:
                op.drop_index(name, table_name=table, postgresql_concurrently=True)
            op.create_index(name, table, columns, postgresql_concurrently=True, if_not_exists=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for table, columns in reversed(INDEXES):
            op.drop_index(_name(table, columns), table_name=table, postgresql_concurrently=True)
