"""``merch_fulfilment_jobs``: the job runner's queue for getting paid orders printed (an addition
beyond the spec; schema_check reports it as an allowed extra table).

The specified tables have no place for this work's retries and leases: ``merch_orders`` is an
order, not a job (one order meets several jobs: its submission, each provider event, an admin's
resubmission), and ``merch_webhook_events`` is an inbox with a ``processed`` flag only. One row
per piece of work, with the columns every job table of the runner has (``worker.table_queue``):

- ``kind`` SUBMIT (``orderId``: send the paid order to the print provider) or APPLY (``eventId``:
  apply a stored provider event to its order and shipments);
- ``eventId`` unique: one APPLY job per inbox event, however often the provider delivers it;
- both references cascade: a job goes with its order, and with its event when the 90-day purge
  of processed events takes it (its work is done by then).

Revision ID: 0009_merch_fulfilment_jobs
Revises: 0008_user_list_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_merch_fulfilment_jobs"
down_revision: str | None = "0008_user_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "merch_fulfilment_jobs"


def upgrade() -> None:
    timestamp = postgresql.TIMESTAMP(precision=3)
    status = postgresql.ENUM(name="JobStatus", create_type=False)
    op.create_table(
        TABLE,
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("orderId", sa.Text(), nullable=True),
        sa.Column("eventId", sa.Text(), nullable=True),
        sa.Column("status", status, server_default=sa.text("'PENDING'::\"JobStatus\""), nullable=False),
        sa.Column("errorMessage", sa.Text(), nullable=True),
        sa.Column("retryCount", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("maxRetries", sa.Integer(), server_default=sa.text("5"), nullable=False),
        sa.Column("runAfter", timestamp, nullable=True),
        sa.Column("processingStartedAt", timestamp, nullable=True),
        sa.Column("processingCompletedAt", timestamp, nullable=True),
        sa.Column("createdAt", timestamp, server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.Column("updatedAt", timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"{TABLE}_pkey"),
        sa.ForeignKeyConstraint(
            ["orderId"],
            ["merch_orders.id"],
            name=f"{TABLE}_orderId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["eventId"],
            ["merch_webhook_events.id"],
            name=f"{TABLE}_eventId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
    )
    op.create_index(f"{TABLE}_eventId_key", TABLE, ["eventId"], unique=True)
    op.create_index(f"{TABLE}_orderId_idx", TABLE, ["orderId"])
    op.create_index(f"{TABLE}_status_updatedAt_idx", TABLE, ["status", "updatedAt"])


def downgrade() -> None:
    op.drop_table(TABLE)
