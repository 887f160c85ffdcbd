"""Jobs waiting for a retry: ``image_enhancement_jobs.runAfter``.

A failed job goes back to PENDING with ``runAfter`` = now + its backoff; the runner claims only
PENDING jobs whose ``runAfter`` has passed (NULL: at once). The lease needs no column: a
PROCESSING job's ``updatedAt`` is its heartbeat. An addition beyond the spec (schema_check lists
it as an allowed extra).

Revision ID: 0003_job_run_after
Revises: 0002_fk_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_job_run_after"
down_revision: str | None = "0002_fk_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    column = sa.Column("runAfter", postgresql.TIMESTAMP(precision=3), nullable=True)
    op.add_column("image_enhancement_jobs", column)


def downgrade() -> None:
    op.drop_column("image_enhancement_jobs", "runAfter")
