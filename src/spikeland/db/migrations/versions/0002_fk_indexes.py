"""Index every foreign-key column that no index leads with.

The spec promises "all foreign keys automatically indexed"; PostgreSQL does not index the
referencing side by itself, and without these indexes every ON DELETE CASCADE / SET NULL from
the parent scans the child table. The indexes are built CONCURRENTLY so that a database adopted
from the original platform, with data, stays writable while they are built.

Revision ID: 0002_fk_indexes
Revises: 0001_baseline
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002_fk_indexes"
down_revision: str | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column): foreign-key columns not covered by the leading column of a specified index.
FK_COLUMNS = [
    ("users", "referredById"),
    ("accounts", "userId"),
    ("sessions", "userId"),
    ("stripe_payments", "packageId"),
    ("image_enhancement_jobs", "sourceImageId"),
    ("featured_gallery_items", "sourceImageId"),
    ("featured_gallery_items", "sourceJobId"),
    ("featured_gallery_items", "createdBy"),
    ("boxes", "tierId"),
    ("tracked_urls", "createdById"),
    ("merch_cart_items", "variantId"),
    ("merch_cart_items", "imageId"),
    ("merch_order_items", "productId"),
    ("merch_order_items", "variantId"),
    ("merch_order_items", "shipmentId"),
]


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for table, column in FK_COLUMNS:
            op.create_index(
                f"{table}_{column}_idx", table, [column], postgresql_concurrently=True, if_not_exists=True
            )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        for table, column in reversed(FK_COLUMNS):
            op.drop_index(f"{table}_{column}_idx", table_name=table, postgresql_concurrently=True)
