"""What a database made by the original platform's Prisma migrations has beyond the baseline, and is
known to be harmless: recognised here so that adoption accepts it instead of refusing.

* Nine plain indexes Prisma created next to a unique index on the same single column. Each is a
  btree the unique index already provides (every lookup, range and sort the plain one serves, the
  unique one serves too), so it only costs writes and space: migration ``0006`` drops them.
* ``monetization_models.features`` allows NULL there (Prisma maps ``String[]`` to a nullable
  ``text[]``) and the original stored NULL in it. The baseline says NOT NULL, and our code reads an
  empty list; adoption writes ``{}`` into the NULLs and sets NOT NULL before comparing, in its
  transaction, so a refused adoption rolls that back with everything else.

Anything else that differs is still a difference.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

#: migration that drops the duplicate indexes (adoption keeps comparing with the baseline only)
DUPLICATES_REVISION = "0006_prisma_duplicate_indexes"

#: (table, column) of each plain index Prisma made beside the column's unique index
DUPLICATE_INDEX_COLUMNS = (
    ("api_keys", "keyHash"),
    ("campaign_metrics_cache", "cacheKey"),
    ("merch_orders", "orderNumber"),
    ("merch_orders", "stripePaymentIntentId"),
    ("stripe_payments", "stripePaymentIntentId"),
    ("subscriptions", "stripeSubscriptionId"),
    ("user_token_balances", "userId"),
    ("voucher_redemptions", "voucherId"),
    ("vouchers", "code"),
)

#: (table, index name) -> the one column it is on
DUPLICATE_INDEXES = {(table, f"{table}_{column}_idx"): column for table, column in DUPLICATE_INDEX_COLUMNS}

_FEATURES = """
SELECT a.attnotnull, format_type(a.atttypid, a.atttypmod) AS type
FROM pg_attribute a
WHERE a.attrelid = to_regclass(format('%I.%I', current_schema(), 'monetization_models'))
  AND a.attname = 'features' AND NOT a.attisdropped
"""


def settle_features(conn: Connection) -> list[str]:
    """Backfill NULL ``features`` with ``{}`` and set NOT NULL, when the column is the original's
    nullable ``text[]``; anything else about it is left for the comparison to report."""
    row = conn.execute(text(_FEATURES)).first()
    if row is None or row.attnotnull or row.type != "text[]":
        return []
    filled = conn.execute(
        text("UPDATE monetization_models SET features = '{}' WHERE features IS NULL")
    ).rowcount
    conn.execute(text("ALTER TABLE monetization_models ALTER COLUMN features SET NOT NULL"))
    return [
        f"monetization_models.features allowed NULL (Prisma's String[]): {filled} NULL "
        f"{'value' if filled == 1 else 'values'} set to {{}} and the column made NOT NULL"
    ]
