"""Generation jobs retried like enhancement jobs: ``mcp_generation_jobs.retryCount``, ``maxRetries``,
``runAfter``.

The job runner fences every write by the attempt (``retryCount``), ends a job after ``maxRetries``
retries, and claims a PENDING job only once its ``runAfter`` (retry backoff) has passed. The
specified table has none of these (image_enhancement_jobs has the first two in the spec); they are
additions beyond the spec (schema_check lists them as allowed extras).

Revision ID: 0004_generation_retries
Revises: 0003_job_run_after
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_generation_retries"
down_revision: str | None = "0003_job_run_after"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = "mcp_generation_jobs"
    op.add_column(table, sa.Column("retryCount", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.add_column(table, sa.Column("maxRetries", sa.Integer(), server_default=sa.text("3"), nullable=False))
    op.add_column(table, sa.Column("runAfter", postgresql.TIMESTAMP(precision=3), nullable=True))


def downgrade() -> None:
    for column in ("runAfter", "maxRetries", "retryCount"):
        op.drop_column("mcp_generation_jobs", column)
