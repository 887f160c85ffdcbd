"""External agent sessions read back from their provider (issue 19; additions beyond the spec,
listed in ``tests/db/extensions.py``).

- ``agent_session_activities ("sessionId", "externalId")`` unique: the periodic sync stores each
  of the provider's activities once (``INSERT … ON CONFLICT DO NOTHING``), however often it runs
  and however many workers run it. Activities we write ourselves have no ``externalId``; NULLs
  never conflict.
- ``external_agent_sessions."syncedAt"``: when the sync last read the session; a run takes only
  sessions not read within half the interval, so a second worker never reads one again right
  after the first.

Revision ID: 0015_agent_sync
Revises: 0014_box_runtime
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015_agent_sync"
down_revision: str | None = "0014_box_runtime"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Read by ``db adopt`` (``spikeland.db.adopt.indexes``), as 0007's and 0013's are.
UNIQUE_INDEXES = [("agent_session_activities", ["sessionId", "externalId"])]


def _name(table: str, columns: list[str]) -> str:
    return f"{table}_{'_'.join(columns)}_key"


def upgrade() -> None:
    op.add_column(
        "external_agent_sessions", sa.Column("syncedAt", postgresql.TIMESTAMP(precision=3), nullable=True)
    )
    for table, columns in UNIQUE_INDEXES:
        op.create_index(_name(table, columns), table, columns, unique=True, if_not_exists=True)


def downgrade() -> None:
    for table, columns in reversed(UNIQUE_INDEXES):
        op.drop_index(_name(table, columns), table_name=table)
    op.drop_column("external_agent_sessions", "syncedAt")
