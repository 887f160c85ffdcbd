"""``ad_campaigns`` and ``ad_campaign_spend``: what the ad-platform sync learns (an addition beyond
the spec; schema_check reports both as allowed extra tables).

The spec has the accounts (``marketing_accounts``) and the links from a UTM campaign to a platform
campaign (``campaign_links``), but nowhere to keep the platforms' campaigns and what they cost,
which ROI and cost per acquisition need for any date range. The original kept a 30-day total in
the metrics cache for an hour; here each day's figures are kept, so a report of any range is a sum:

- ``ad_campaigns``: one row per platform campaign (unique ``(platform, externalCampaignId)``: two
  admins connecting the same ad account share it), its name, status, tracking template (where a
  ``utm_campaign`` is found for linking) and currency. ``accountId`` is the platform's account id
  (as ``marketing_accounts.accountId``), not a foreign key: a campaign is the ad account's, not a
  user's, so disconnecting an account (deleting its row and tokens) keeps the history, and a
  user's data export does not carry the platform's campaigns.
- ``ad_campaign_spend``: ``(campaignId, day)`` → spend (``numeric(18,6)``: Google reports micros),
  impressions, clicks; a later sync of the same day replaces it (platforms revise recent days).

Revision ID: 0010_ad_campaigns
Revises: 0009_merch_fulfilment_jobs
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_ad_campaigns"
down_revision: str | None = "0009_merch_fulfilment_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CAMPAIGNS = "ad_campaigns"
SPEND = "ad_campaign_spend"


def upgrade() -> None:
    timestamp = postgresql.TIMESTAMP(precision=3)
    platform = postgresql.ENUM(name="MarketingPlatform", create_type=False)
    op.create_table(
        CAMPAIGNS,
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("accountId", sa.Text(), nullable=False),
        sa.Column("platform", platform, nullable=False),
        sa.Column("externalCampaignId", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=True),
        sa.Column("trackingTemplate", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("syncedAt", timestamp, nullable=False),
        sa.Column("createdAt", timestamp, server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.Column("updatedAt", timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"{CAMPAIGNS}_pkey"),
    )
    op.create_index(
        f"{CAMPAIGNS}_platform_externalCampaignId_key",
        CAMPAIGNS,
        ["platform", "externalCampaignId"],
        unique=True,
    )
    op.create_index(f"{CAMPAIGNS}_platform_accountId_idx", CAMPAIGNS, ["platform", "accountId"])
    op.create_table(
        SPEND,
        sa.Column("campaignId", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("spend", sa.Numeric(18, 6), nullable=False),
        sa.Column("impressions", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("clicks", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updatedAt", timestamp, nullable=False),
        sa.PrimaryKeyConstraint("campaignId", "day", name=f"{SPEND}_pkey"),
        sa.ForeignKeyConstraint(
            ["campaignId"],
            [f"{CAMPAIGNS}.id"],
            name=f"{SPEND}_campaignId_fkey",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table(SPEND)
    op.drop_table(CAMPAIGNS)
