"""Indexes for the admin console's lists of all images, jobs and orders, newest first.

The console's images list and the job lists (``/admin/images``, ``/admin/jobs``; the admin API's
``GET /api/v1/admin/jobs/...`` too) page through every row on ``("createdAt", id)`` descending. The
tables had indexes for one user's rows and for public images, none for all of them: each page
sorted the whole table (1 M images: figures in benchmarks/README.md, "Issue 18").

- ``enhanced_images ("createdAt", id)``, ``image_enhancement_jobs ("createdAt", id)``,
  ``mcp_generation_jobs ("createdAt", id)``, ``merch_orders ("createdAt", id)``: the first page
  and a cursor's ``(…) < (…)`` read 51 index entries backwards.
- ``merch_orders ("customerEmail")``: the order lists' search by the customer's address (an
  equality: checkout stores addresses lower-cased).

Built CONCURRENTLY outside Alembic's transaction, as 0007's and 0008's are: an adopted database
stays writable meanwhile, and an INVALID index left by a failed build is dropped and rebuilt when
the upgrade is rerun. Names follow Prisma's ``{table}_{columns}_idx``.

Revision ID: 0013_console_list_indexes
Revises: 0012_audio_mixdowns
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_console_list_indexes"
down_revision: str | None = "0012_audio_mixdowns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("enhanced_images", ["createdAt", "id"]),
    ("image_enhancement_jobs", ["createdAt", "id"]),
    ("mcp_generation_jobs", ["createdAt", "id"]),
    ("merch_orders", ["createdAt", "id"]),
    ("merch_orders", ["customerEmail"]),
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
