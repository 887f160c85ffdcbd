"""Drop the plain indexes Prisma made beside a unique index on the same column.

A database made by the original platform has nine (``spikeland.db.adopt.legacy``): each is a
btree on one column that the column's unique index already covers, for every lookup, range and
sort, so it only costs space and a second index write per insert. Dropped rather than kept so an
adopted database is the same schema as one Spikeland created (the contract test compares both).
A database Spikeland created has none of them: ``IF EXISTS`` makes this a no-op there. Dropped
CONCURRENTLY, so an adopted database in use stays writable meanwhile.

Downgrade recreates nothing: the indexes were never part of Spikeland's schema.

Revision ID: 0006_prisma_duplicate_indexes
Revises: 0005_api_key_changes
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_prisma_duplicate_indexes"
down_revision: str | None = "0005_api_key_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported, so this revision stays what it was when it ran.
DUPLICATE_INDEXES = [
    ("api_keys", "api_keys_keyHash_idx"),
    ("campaign_metrics_cache", "campaign_metrics_cache_cacheKey_idx"),
    ("merch_orders", "merch_orders_orderNumber_idx"),
    ("merch_orders", "merch_orders_stripePaymentIntentId_idx"),
    ("stripe_payments", "stripe_payments_stripePaymentIntentId_idx"),
    ("subscriptions", "subscriptions_stripeSubscriptionId_idx"),
    ("user_token_balances", "user_token_balances_userId_idx"),
    ("voucher_redemptions", "voucher_redemptions_voucherId_idx"),
    ("vouchers", "vouchers_code_idx"),
]


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for table, name in DUPLICATE_INDEXES:
            op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)


def downgrade() -> None:
    pass
