"""Every change that can end an API key is announced: ``NOTIFY spikeland_api_keys, '<key id>'``.

API processes remember a key's owner for a short while (``identity.key_cache``) and forget it
when this notification arrives. A trigger rather than the application's own code, so that every
path is covered: revocation, rotation, a user's deletion (its keys go by cascade), an operator's
SQL. Updates of ``lastUsedAt`` alone do not fire it. A function and a trigger only: no table or
column of the specified schema changes.

Revision ID: 0005_api_key_changes
Revises: 0004_generation_retries
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005_api_key_changes"
down_revision: str | None = "0004_generation_retries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION spikeland_api_key_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('spikeland_api_keys', OLD.id);
            RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER api_keys_changed
        AFTER UPDATE OF "isActive", "keyHash", "userId" OR DELETE ON api_keys
        FOR EACH ROW EXECUTE FUNCTION spikeland_api_key_changed()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER api_keys_changed ON api_keys")
    op.execute("DROP FUNCTION spikeland_api_key_changed()")
