"""Boxes that really run: box actions and agent tasks as jobs of the runner, hourly metering, and
per-box agent credentials (issue 19; additions beyond the spec, listed in ``tests/db/extensions.py``).

- ``box_actions`` and ``agent_tasks``: the job runner's ``retryCount`` (0), ``maxRetries`` (3),
  ``runAfter``, ``processingStartedAt``, ``processingCompletedAt`` and an index on
  ``(status, "updatedAt")`` for its claims. Their specified ``error`` column is the job's error
  (``worker.table_queue.TableSpec.error_column``), so no second one is added.
- ``boxes."runStartedAt"``: when the current run's billing began (NULL when not running) and
  ``boxes."hoursCharged"`` (0): the run's hours paid so far; the metering job charges hour n of a run
  once, under the ledger's (user, type, sourceId) with ``box-hour:<boxId>:<runStart ms>:<n>``.
- ``boxes."tokenHash"``: SHA-256 of the box's agent token (shown once); looked up with the box's
  id from the agent's path, so it needs no index.

Revision ID: 0014_box_runtime
Revises: 0013_console_list_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014_box_runtime"
down_revision: str | None = "0013_console_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JOB_TABLES = ("box_actions", "agent_tasks")
# Read by ``db adopt`` (``spikeland.db.adopt.indexes``) as 0007's and 0013's are.
INDEXES = [(table, ["status", "updatedAt"]) for table in JOB_TABLES]


def _name(table: str, columns: list[str]) -> str:
    return f"{table}_{'_'.join(columns)}_idx"


def _job_columns() -> list[sa.Column[object]]:
    timestamp = postgresql.TIMESTAMP(precision=3)
    return [
        sa.Column("retryCount", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("maxRetries", sa.Integer(), server_default=sa.text("3"), nullable=False),
        sa.Column("runAfter", timestamp, nullable=True),
        sa.Column("processingStartedAt", timestamp, nullable=True),
        sa.Column("processingCompletedAt", timestamp, nullable=True),
    ]


def upgrade() -> None:
    for table in JOB_TABLES:
        for column in _job_columns():
            op.add_column(table, column)
    op.add_column("boxes", sa.Column("runStartedAt", postgresql.TIMESTAMP(precision=3), nullable=True))
    op.add_column(
        "boxes", sa.Column("hoursCharged", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column("boxes", sa.Column("tokenHash", sa.Text(), nullable=True))
    for table, columns in INDEXES:
        op.create_index(_name(table, columns), table, columns, if_not_exists=True)


def downgrade() -> None:
    for table, columns in reversed(INDEXES):
        op.drop_index(_name(table, columns), table_name=table)
    for name in ("tokenHash", "hoursCharged", "runStartedAt"):
        op.drop_column("boxes", name)
    for table in reversed(JOB_TABLES):
        for column in reversed(_job_columns()):
            op.drop_column(table, column.name)
