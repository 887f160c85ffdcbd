"""Baseline: exactly the schema of spec/DATABASE_SCHEMA.md (55 tables, 37 enums), as Prisma made it.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-27 12:08:47.066800
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_baseline"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    sa.Enum(
        "EARN_REGENERATION",
        "EARN_PURCHASE",
        "EARN_BONUS",
        "EARN_ADMIN_ADJUSTMENT",
        "SPEND_ENHANCEMENT",
        "SPEND_MCP_GENERATION",
        "SPEND_BOX_CREATION",
        "REFUND",
        name="TokenTransactionType",
    ).create(op.get_bind())
    sa.Enum(
        "PENDING", "SENT", "DELIVERED", "OPENED", "CLICKED", "BOUNCED", "FAILED", name="EmailStatus"
    ).create(op.get_bind())
    sa.Enum("NEW", "REVIEWED", "RESOLVED", "DISMISSED", name="FeedbackStatus").create(op.get_bind())
    sa.Enum("BUG", "IDEA", "OTHER", name="FeedbackType").create(op.get_bind())
    sa.Enum("FRONTEND", "BACKEND", name="ErrorEnvironment").create(op.get_bind())
    sa.Enum(
        "ROLE_CHANGE",
        "TOKEN_ADJUSTMENT",
        "VOUCHER_CREATE",
        "VOUCHER_UPDATE",
        "VOUCHER_DELETE",
        "USER_DELETE",
        "ADMIN_LOGIN",
        name="AuditAction",
    ).create(op.get_bind())
    sa.Enum(
        "PENDING",
        "PROCESSING",
        "SHIPPED",
        "IN_TRANSIT",
        "OUT_FOR_DELIVERY",
        "DELIVERED",
        "FAILED",
        name="ShipmentStatus",
    ).create(op.get_bind())
    sa.Enum(
        "PENDING",
        "PAYMENT_PENDING",
        "PAID",
        "SUBMITTED",
        "IN_PRODUCTION",
        "SHIPPED",
        "DELIVERED",
        "CANCELLED",
        "REFUNDED",
        name="MerchOrderStatus",
    ).create(op.get_bind())
    sa.Enum("PRODIGI", "PRINTFUL", name="PodProvider").create(op.get_bind())
    sa.Enum("PRIVATE", "PUBLIC", "LINK", name="PipelineVisibility").create(op.get_bind())
    sa.Enum("ANALYZING", "CROPPING", "PROMPTING", "GENERATING", name="PipelineStage").create(op.get_bind())
    sa.Enum("USER", "ADMIN", "SUPER_ADMIN", name="UserRole").create(op.get_bind())
    sa.Enum("PENDING", "COMPLETED", "INVALID", name="ReferralStatus").create(op.get_bind())
    sa.Enum("ACTIVE", "INACTIVE", "EXPIRED", "DEPLETED", name="VoucherStatus").create(op.get_bind())
    sa.Enum("FIXED_TOKENS", "PERCENTAGE_BONUS", "SUBSCRIPTION_TRIAL", name="VoucherType").create(
        op.get_bind()
    )
    sa.Enum("GENERATE", "MODIFY", name="McpJobType").create(op.get_bind())
    sa.Enum("PORTRAIT", "LANDSCAPE", "PRODUCT", "ARCHITECTURE", name="GalleryCategory").create(op.get_bind())
    sa.Enum("FREE", "TIER_1K", "TIER_2K", "TIER_4K", name="EnhancementTier").create(op.get_bind())
    sa.Enum("PRIVATE", "UNLISTED", "PUBLIC", name="AlbumPrivacy").create(op.get_bind())
    sa.Enum("USER", "AGENT", "SYSTEM", name="BoxMessageRole").create(op.get_bind())
    sa.Enum("PENDING", "PROCESSING", "COMPLETED", "FAILED", "REFUNDED", "CANCELLED", name="JobStatus").create(
        op.get_bind()
    )
    sa.Enum("CREATE", "START", "STOP", "RESTART", "DELETE", "CLONE", name="BoxActionType").create(
        op.get_bind()
    )
    sa.Enum(
        "CREATING",
        "STARTING",
        "RUNNING",
        "PAUSED",
        "STOPPING",
        "STOPPED",
        "TERMINATED",
        "ERROR",
        name="BoxStatus",
    ).create(op.get_bind())
    sa.Enum("FREE", "BASIC", "STANDARD", "PREMIUM", name="SubscriptionTier").create(op.get_bind())
    sa.Enum("ACTIVE", "CANCELED", "PAST_DUE", "UNPAID", "TRIALING", name="SubscriptionStatus").create(
        op.get_bind()
    )
    sa.Enum("PENDING", "SUCCEEDED", "FAILED", "REFUNDED", name="StripePaymentStatus").create(op.get_bind())
    sa.Enum("R2", "OPFS", name="AudioStorageType").create(op.get_bind())
    sa.Enum("MONTHLY", "QUARTERLY", "YEARLY", name="SubscriptionInterval").create(op.get_bind())
    sa.Enum("FREE", "ONE_TIME", "SUBSCRIPTION", "FREEMIUM", "USAGE_BASED", name="MonetizationType").create(
        op.get_bind()
    )
    sa.Enum("PENDING", "IN_PROGRESS", "COMPLETED", "REJECTED", name="RequirementStatus").create(op.get_bind())
    sa.Enum("LOW", "MEDIUM", "HIGH", "CRITICAL", name="RequirementPriority").create(op.get_bind())
    sa.Enum("DRAFT", "ACTIVE", "ARCHIVED", "DELETED", name="AppStatus").create(op.get_bind())
    sa.Enum("FACEBOOK", "GOOGLE_ADS", name="MarketingPlatform").create(op.get_bind())
    sa.Enum("SIGNUP", "ENHANCEMENT", "PURCHASE", name="ConversionType").create(op.get_bind())
    sa.Enum("FIRST_TOUCH", "LAST_TOUCH", name="AttributionType").create(op.get_bind())
    sa.Enum(
        "QUEUED",
        "PLANNING",
        "AWAITING_PLAN_APPROVAL",
        "AWAITING_USER_FEEDBACK",
        "IN_PROGRESS",
        "PAUSED",
        "FAILED",
        "COMPLETED",
        name="ExternalAgentStatus",
    ).create(op.get_bind())
    sa.Enum("JULES", "CODEX", "OTHER", name="AgentProvider").create(op.get_bind())
    op.create_table(
        "box_tiers",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("cpu", sa.Integer(), nullable=False),
        sa.Column("ram", sa.Integer(), nullable=False),
        sa.Column("storage", sa.Integer(), nullable=False),
        sa.Column("pricePerHour", sa.Integer(), nullable=False),
        sa.Column("pricePerMonth", sa.Integer(), nullable=False),
        sa.Column("isActive", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("sortOrder", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("box_tiers_pkey")),
    )
    op.create_table(
        "campaign_links",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("utmCampaign", sa.Text(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("externalCampaignId", sa.Text(), nullable=False),
        sa.Column("externalCampaignName", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("campaign_links_pkey")),
    )
    op.create_index(
        op.f("campaign_links_externalCampaignId_idx"), "campaign_links", ["externalCampaignId"], unique=False
    )
    op.create_index(op.f("campaign_links_platform_idx"), "campaign_links", ["platform"], unique=False)
    op.create_index(
        op.f("campaign_links_utmCampaign_platform_key"),
        "campaign_links",
        ["utmCampaign", "platform"],
        unique=True,
    )
    op.create_table(
        "campaign_metrics_cache",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("cacheKey", sa.Text(), nullable=False),
        sa.Column("metrics", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=False),
        sa.Column(
            "computedAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("expiresAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("campaign_metrics_cache_pkey")),
    )
    op.create_index(
        op.f("campaign_metrics_cache_cacheKey_key"), "campaign_metrics_cache", ["cacheKey"], unique=True
    )
    op.create_index(
        op.f("campaign_metrics_cache_expiresAt_idx"), "campaign_metrics_cache", ["expiresAt"], unique=False
    )
    op.create_table(
        "error_logs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column(
            "timestamp",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("stack", sa.Text(), nullable=True),
        sa.Column("sourceFile", sa.Text(), nullable=True),
        sa.Column("sourceLine", sa.Integer(), nullable=True),
        sa.Column("sourceColumn", sa.Integer(), nullable=True),
        sa.Column("callerName", sa.Text(), nullable=True),
        sa.Column("userId", sa.Text(), nullable=True),
        sa.Column("route", sa.Text(), nullable=True),
        sa.Column(
            "environment",
            postgresql.ENUM("FRONTEND", "BACKEND", name="ErrorEnvironment", create_type=False),
            nullable=False,
        ),
        sa.Column("errorType", sa.Text(), nullable=True),
        sa.Column("errorCode", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("error_logs_pkey")),
    )
    op.create_index(op.f("error_logs_environment_idx"), "error_logs", ["environment"], unique=False)
    op.create_index(op.f("error_logs_errorType_idx"), "error_logs", ["errorType"], unique=False)
    op.create_index(op.f("error_logs_sourceFile_idx"), "error_logs", ["sourceFile"], unique=False)
    op.create_index(op.f("error_logs_timestamp_idx"), "error_logs", ["timestamp"], unique=False)
    op.create_table(
        "external_agent_sessions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("externalId", sa.Text(), nullable=False),
        sa.Column(
            "provider",
            postgresql.ENUM("JULES", "CODEX", "OTHER", name="AgentProvider", create_type=False),
            server_default=sa.text("'JULES'::\"AgentProvider\""),
            nullable=False,
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "status",
            postgresql.ENUM(
                "QUEUED",
                "PLANNING",
                "AWAITING_PLAN_APPROVAL",
                "AWAITING_USER_FEEDBACK",
                "IN_PROGRESS",
                "PAUSED",
                "FAILED",
                "COMPLETED",
                name="ExternalAgentStatus",
                create_type=False,
            ),
            nullable=False,
        ),
        sa.Column("sourceRepo", sa.Text(), nullable=True),
        sa.Column("startingBranch", sa.Text(), nullable=True),
        sa.Column("outputBranch", sa.Text(), nullable=True),
        sa.Column("pullRequestUrl", sa.Text(), nullable=True),
        sa.Column("planSummary", sa.Text(), nullable=True),
        sa.Column("planApprovedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("lastActivityAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("errorMessage", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("external_agent_sessions_pkey")),
    )
    op.create_index(
        op.f("external_agent_sessions_externalId_key"), "external_agent_sessions", ["externalId"], unique=True
    )
    op.create_index(
        op.f("external_agent_sessions_provider_status_idx"),
        "external_agent_sessions",
        ["provider", "status"],
        unique=False,
    )
    op.create_index(
        op.f("external_agent_sessions_status_lastActivityAt_idx"),
        "external_agent_sessions",
        ["status", "lastActivityAt"],
        unique=False,
    )
    op.create_table(
        "merch_categories",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("icon", sa.Text(), nullable=True),
        sa.Column("sortOrder", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("isActive", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("merch_categories_pkey")),
    )
    op.create_index(
        op.f("merch_categories_isActive_sortOrder_idx"),
        "merch_categories",
        ["isActive", "sortOrder"],
        unique=False,
    )
    op.create_index(op.f("merch_categories_name_key"), "merch_categories", ["name"], unique=True)
    op.create_index(op.f("merch_categories_slug_key"), "merch_categories", ["slug"], unique=True)
    op.create_table(
        "merch_webhook_events",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("eventId", sa.Text(), nullable=False),
        sa.Column("eventType", sa.Text(), nullable=False),
        sa.Column("processed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("payload", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=False),
        sa.Column("processedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("merch_webhook_events_pkey")),
    )
    op.create_index(
        op.f("merch_webhook_events_eventId_key"), "merch_webhook_events", ["eventId"], unique=True
    )
    op.create_index(
        op.f("merch_webhook_events_processed_createdAt_idx"),
        "merch_webhook_events",
        ["processed", "createdAt"],
        unique=False,
    )
    op.create_index(
        op.f("merch_webhook_events_provider_eventType_idx"),
        "merch_webhook_events",
        ["provider", "eventType"],
        unique=False,
    )
    op.create_table(
        "subscription_plans",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("tokensPerMonth", sa.Integer(), nullable=False),
        sa.Column("priceGBP", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("stripePriceId", sa.Text(), nullable=False),
        sa.Column("maxRollover", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("priority", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("apiAccess", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("sortOrder", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("subscription_plans_pkey")),
    )
    op.create_index(
        op.f("subscription_plans_active_sortOrder_idx"),
        "subscription_plans",
        ["active", "sortOrder"],
        unique=False,
    )
    op.create_index(
        op.f("subscription_plans_stripePriceId_key"), "subscription_plans", ["stripePriceId"], unique=True
    )
    op.create_table(
        "tokens_packages",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("priceUSD", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("stripePriceId", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("sortOrder", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("tokens_packages_pkey")),
    )
    op.create_index(
        op.f("tokens_packages_active_sortOrder_idx"), "tokens_packages", ["active", "sortOrder"], unique=False
    )
    op.create_index(
        op.f("tokens_packages_stripePriceId_key"), "tokens_packages", ["stripePriceId"], unique=True
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("emailVerified", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("image", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("stripeCustomerId", sa.Text(), nullable=True),
        sa.Column(
            "role",
            postgresql.ENUM("USER", "ADMIN", "SUPER_ADMIN", name="UserRole", create_type=False),
            server_default=sa.text("'USER'::\"UserRole\""),
            nullable=False,
        ),
        sa.Column("referralCode", sa.Text(), nullable=True),
        sa.Column("referredById", sa.Text(), nullable=True),
        sa.Column("referralCount", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("passwordHash", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["referredById"],
            ["users.id"],
            name=op.f("users_referredById_fkey"),
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("users_pkey")),
    )
    op.create_index(op.f("users_email_key"), "users", ["email"], unique=True)
    op.create_index(op.f("users_referralCode_key"), "users", ["referralCode"], unique=True)
    op.create_index(op.f("users_stripeCustomerId_key"), "users", ["stripeCustomerId"], unique=True)
    op.create_table(
        "verification_tokens",
        sa.Column("identifier", sa.Text(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("expires", postgresql.TIMESTAMP(precision=3), nullable=False),
    )
    op.create_index(
        op.f("verification_tokens_identifier_token_key"),
        "verification_tokens",
        ["identifier", "token"],
        unique=True,
    )
    op.create_index(op.f("verification_tokens_token_key"), "verification_tokens", ["token"], unique=True)
    op.create_table(
        "vouchers",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column(
            "type",
            postgresql.ENUM(
                "FIXED_TOKENS",
                "PERCENTAGE_BONUS",
                "SUBSCRIPTION_TRIAL",
                name="VoucherType",
                create_type=False,
            ),
            nullable=False,
        ),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("maxUses", sa.Integer(), nullable=True),
        sa.Column("currentUses", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("expiresAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "status",
            postgresql.ENUM(
                "ACTIVE", "INACTIVE", "EXPIRED", "DEPLETED", name="VoucherStatus", create_type=False
            ),
            server_default=sa.text("'ACTIVE'::\"VoucherStatus\""),
            nullable=False,
        ),
        sa.Column("metadata", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("vouchers_pkey")),
    )
    op.create_index(op.f("vouchers_code_key"), "vouchers", ["code"], unique=True)
    op.create_index(op.f("vouchers_status_expiresAt_idx"), "vouchers", ["status", "expiresAt"], unique=False)
    op.create_table(
        "accounts",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("providerAccountId", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.Integer(), nullable=True),
        sa.Column("token_type", sa.Text(), nullable=True),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("id_token", sa.Text(), nullable=True),
        sa.Column("session_state", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("accounts_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("accounts_pkey")),
    )
    op.create_index(
        op.f("accounts_provider_providerAccountId_key"),
        "accounts",
        ["provider", "providerAccountId"],
        unique=True,
    )
    op.create_table(
        "agent_session_activities",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("sessionId", sa.Text(), nullable=False),
        sa.Column("externalId", sa.Text(), nullable=True),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["sessionId"],
            ["external_agent_sessions.id"],
            name=op.f("agent_session_activities_sessionId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("agent_session_activities_pkey")),
    )
    op.create_index(
        op.f("agent_session_activities_sessionId_createdAt_idx"),
        "agent_session_activities",
        ["sessionId", "createdAt"],
        unique=False,
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("keyHash", sa.Text(), nullable=False),
        sa.Column("keyPrefix", sa.Text(), nullable=False),
        sa.Column("lastUsedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("isActive", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("api_keys_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("api_keys_pkey")),
    )
    op.create_index(op.f("api_keys_keyHash_key"), "api_keys", ["keyHash"], unique=True)
    op.create_index(op.f("api_keys_userId_isActive_idx"), "api_keys", ["userId", "isActive"], unique=False)
    op.create_table(
        "apps",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("forkedFrom", sa.Text(), nullable=True),
        sa.Column(
            "status",
            postgresql.ENUM("DRAFT", "ACTIVE", "ARCHIVED", "DELETED", name="AppStatus", create_type=False),
            server_default=sa.text("'DRAFT'::\"AppStatus\""),
            nullable=False,
        ),
        sa.Column("domain", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["forkedFrom"],
            ["apps.id"],
            name=op.f("apps_forkedFrom_fkey"),
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["userId"], ["users.id"], name=op.f("apps_userId_fkey"), onupdate="CASCADE", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("apps_pkey")),
    )
    op.create_index(op.f("apps_domain_key"), "apps", ["domain"], unique=True)
    op.create_index(op.f("apps_forkedFrom_idx"), "apps", ["forkedFrom"], unique=False)
    op.create_index(op.f("apps_status_idx"), "apps", ["status"], unique=False)
    op.create_index(op.f("apps_userId_idx"), "apps", ["userId"], unique=False)
    op.create_table(
        "audio_mixer_projects",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("audio_mixer_projects_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("audio_mixer_projects_pkey")),
    )
    op.create_index(
        op.f("audio_mixer_projects_userId_createdAt_idx"),
        "audio_mixer_projects",
        ["userId", "createdAt"],
        unique=False,
    )
    op.create_table(
        "audit_logs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column(
            "action",
            postgresql.ENUM(
                "ROLE_CHANGE",
                "TOKEN_ADJUSTMENT",
                "VOUCHER_CREATE",
                "VOUCHER_UPDATE",
                "VOUCHER_DELETE",
                "USER_DELETE",
                "ADMIN_LOGIN",
                name="AuditAction",
                create_type=False,
            ),
            nullable=False,
        ),
        sa.Column("targetId", sa.Text(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column("ipAddress", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("audit_logs_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("audit_logs_pkey")),
    )
    op.create_index(op.f("audit_logs_action_idx"), "audit_logs", ["action"], unique=False)
    op.create_index(op.f("audit_logs_createdAt_idx"), "audit_logs", ["createdAt"], unique=False)
    op.create_index(op.f("audit_logs_targetId_idx"), "audit_logs", ["targetId"], unique=False)
    op.create_index(op.f("audit_logs_userId_idx"), "audit_logs", ["userId"], unique=False)
    op.create_table(
        "boxes",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("tierId", sa.Text(), nullable=True),
        sa.Column(
            "status",
            postgresql.ENUM(
                "CREATING",
                "STARTING",
                "RUNNING",
                "PAUSED",
                "STOPPING",
                "STOPPED",
                "TERMINATED",
                "ERROR",
                name="BoxStatus",
                create_type=False,
            ),
            server_default=sa.text("'STOPPED'::\"BoxStatus\""),
            nullable=False,
        ),
        sa.Column("connectionUrl", sa.Text(), nullable=True),
        sa.Column("storageVolumeId", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("deletedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["tierId"],
            ["box_tiers.id"],
            name=op.f("boxes_tierId_fkey"),
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["userId"], ["users.id"], name=op.f("boxes_userId_fkey"), onupdate="CASCADE", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("boxes_pkey")),
    )
    op.create_index(op.f("boxes_status_idx"), "boxes", ["status"], unique=False)
    op.create_index(op.f("boxes_userId_createdAt_idx"), "boxes", ["userId", "createdAt"], unique=False)
    op.create_table(
        "campaign_attributions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("sessionId", sa.Text(), nullable=False),
        sa.Column(
            "attributionType",
            postgresql.ENUM("FIRST_TOUCH", "LAST_TOUCH", name="AttributionType", create_type=False),
            nullable=False,
        ),
        sa.Column("platform", sa.Text(), nullable=True),
        sa.Column("externalCampaignId", sa.Text(), nullable=True),
        sa.Column("utmCampaign", sa.Text(), nullable=True),
        sa.Column("utmSource", sa.Text(), nullable=True),
        sa.Column("utmMedium", sa.Text(), nullable=True),
        sa.Column(
            "conversionType",
            postgresql.ENUM("SIGNUP", "ENHANCEMENT", "PURCHASE", name="ConversionType", create_type=False),
            nullable=False,
        ),
        sa.Column("conversionValue", sa.Double(), nullable=True),
        sa.Column(
            "convertedAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("campaign_attributions_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("campaign_attributions_pkey")),
    )
    op.create_index(
        op.f("campaign_attributions_attributionType_idx"),
        "campaign_attributions",
        ["attributionType"],
        unique=False,
    )
    op.create_index(
        op.f("campaign_attributions_conversionType_idx"),
        "campaign_attributions",
        ["conversionType"],
        unique=False,
    )
    op.create_index(
        op.f("campaign_attributions_convertedAt_idx"), "campaign_attributions", ["convertedAt"], unique=False
    )
    op.create_index(
        op.f("campaign_attributions_externalCampaignId_idx"),
        "campaign_attributions",
        ["externalCampaignId"],
        unique=False,
    )
    op.create_index(
        op.f("campaign_attributions_userId_idx"), "campaign_attributions", ["userId"], unique=False
    )
    op.create_index(
        op.f("campaign_attributions_utmCampaign_idx"), "campaign_attributions", ["utmCampaign"], unique=False
    )
    op.create_table(
        "email_logs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("to", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column(
            "status",
            postgresql.ENUM(
                "PENDING",
                "SENT",
                "DELIVERED",
                "OPENED",
                "CLICKED",
                "BOUNCED",
                "FAILED",
                name="EmailStatus",
                create_type=False,
            ),
            server_default=sa.text("'SENT'::\"EmailStatus\""),
            nullable=False,
        ),
        sa.Column("resendId", sa.Text(), nullable=True),
        sa.Column(
            "sentAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("openedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("clickedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("bouncedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("metadata", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("email_logs_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("email_logs_pkey")),
    )
    op.create_index(op.f("email_logs_resendId_key"), "email_logs", ["resendId"], unique=True)
    op.create_index(op.f("email_logs_sentAt_idx"), "email_logs", ["sentAt"], unique=False)
    op.create_index(op.f("email_logs_status_idx"), "email_logs", ["status"], unique=False)
    op.create_index(op.f("email_logs_template_idx"), "email_logs", ["template"], unique=False)
    op.create_index(op.f("email_logs_userId_idx"), "email_logs", ["userId"], unique=False)
    op.create_table(
        "enhanced_images",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("originalUrl", sa.Text(), nullable=False),
        sa.Column("originalR2Key", sa.Text(), nullable=False),
        sa.Column("originalWidth", sa.Integer(), nullable=False),
        sa.Column("originalHeight", sa.Integer(), nullable=False),
        sa.Column("originalSizeBytes", sa.Integer(), nullable=False),
        sa.Column("originalFormat", sa.Text(), nullable=False),
        sa.Column("isPublic", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("viewCount", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("shareToken", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("enhanced_images_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("enhanced_images_pkey")),
    )
    op.create_index(
        op.f("enhanced_images_isPublic_createdAt_idx"),
        "enhanced_images",
        ["isPublic", "createdAt"],
        unique=False,
    )
    op.create_index(op.f("enhanced_images_shareToken_idx"), "enhanced_images", ["shareToken"], unique=False)
    op.create_index(op.f("enhanced_images_shareToken_key"), "enhanced_images", ["shareToken"], unique=True)
    op.create_index(
        op.f("enhanced_images_userId_createdAt_idx"), "enhanced_images", ["userId", "createdAt"], unique=False
    )
    op.create_table(
        "enhancement_pipelines",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("userId", sa.Text(), nullable=True),
        sa.Column(
            "visibility",
            postgresql.ENUM("PRIVATE", "PUBLIC", "LINK", name="PipelineVisibility", create_type=False),
            server_default=sa.text("'PRIVATE'::\"PipelineVisibility\""),
            nullable=False,
        ),
        sa.Column("shareToken", sa.Text(), nullable=True),
        sa.Column(
            "tier",
            postgresql.ENUM(
                "FREE", "TIER_1K", "TIER_2K", "TIER_4K", name="EnhancementTier", create_type=False
            ),
            server_default=sa.text("'TIER_1K'::\"EnhancementTier\""),
            nullable=False,
        ),
        sa.Column(
            "analysisConfig", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True
        ),
        sa.Column(
            "autoCropConfig", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True
        ),
        sa.Column("promptConfig", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column(
            "generationConfig", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True
        ),
        sa.Column("usageCount", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("enhancement_pipelines_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("enhancement_pipelines_pkey")),
    )
    op.create_index(
        op.f("enhancement_pipelines_shareToken_key"), "enhancement_pipelines", ["shareToken"], unique=True
    )
    op.create_index(
        op.f("enhancement_pipelines_userId_idx"), "enhancement_pipelines", ["userId"], unique=False
    )
    op.create_index(
        op.f("enhancement_pipelines_visibility_idx"), "enhancement_pipelines", ["visibility"], unique=False
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column(
            "type",
            postgresql.ENUM("BUG", "IDEA", "OTHER", name="FeedbackType", create_type=False),
            nullable=False,
        ),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("page", sa.Text(), nullable=False),
        sa.Column("userAgent", sa.Text(), nullable=True),
        sa.Column(
            "status",
            postgresql.ENUM(
                "NEW", "REVIEWED", "RESOLVED", "DISMISSED", name="FeedbackStatus", create_type=False
            ),
            server_default=sa.text("'NEW'::\"FeedbackStatus\""),
            nullable=False,
        ),
        sa.Column("adminNote", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("feedback_userId_fkey"),
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("feedback_pkey")),
    )
    op.create_index(op.f("feedback_createdAt_idx"), "feedback", ["createdAt"], unique=False)
    op.create_index(op.f("feedback_status_idx"), "feedback", ["status"], unique=False)
    op.create_index(op.f("feedback_type_idx"), "feedback", ["type"], unique=False)
    op.create_index(op.f("feedback_userId_idx"), "feedback", ["userId"], unique=False)
    op.create_table(
        "marketing_accounts",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column(
            "platform",
            postgresql.ENUM("FACEBOOK", "GOOGLE_ADS", name="MarketingPlatform", create_type=False),
            nullable=False,
        ),
        sa.Column("accountId", sa.Text(), nullable=False),
        sa.Column("accountName", sa.Text(), nullable=True),
        sa.Column("accessToken", sa.Text(), nullable=False),
        sa.Column("refreshToken", sa.Text(), nullable=True),
        sa.Column("expiresAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("isActive", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("marketing_accounts_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("marketing_accounts_pkey")),
    )
    op.create_index(op.f("marketing_accounts_platform_idx"), "marketing_accounts", ["platform"], unique=False)
    op.create_index(op.f("marketing_accounts_userId_idx"), "marketing_accounts", ["userId"], unique=False)
    op.create_index(
        op.f("marketing_accounts_userId_platform_accountId_key"),
        "marketing_accounts",
        ["userId", "platform", "accountId"],
        unique=True,
    )
    op.create_table(
        "merch_carts",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("merch_carts_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("merch_carts_pkey")),
    )
    op.create_index(op.f("merch_carts_userId_key"), "merch_carts", ["userId"], unique=True)
    op.create_table(
        "merch_orders",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("orderNumber", sa.Text(), nullable=False),
        sa.Column(
            "status",
            postgresql.ENUM(
                "PENDING",
                "PAYMENT_PENDING",
                "PAID",
                "SUBMITTED",
                "IN_PRODUCTION",
                "SHIPPED",
                "DELIVERED",
                "CANCELLED",
                "REFUNDED",
                name="MerchOrderStatus",
                create_type=False,
            ),
            server_default=sa.text("'PENDING'::\"MerchOrderStatus\""),
            nullable=False,
        ),
        sa.Column("subtotal", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("shippingCost", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column(
            "taxAmount", sa.Numeric(precision=10, scale=2), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("totalAmount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("currency", sa.Text(), server_default=sa.text("'GBP'"), nullable=False),
        sa.Column("stripePaymentIntentId", sa.Text(), nullable=True),
        sa.Column("stripePaymentStatus", sa.Text(), nullable=True),
        sa.Column(
            "shippingAddress", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=False
        ),
        sa.Column(
            "billingAddress", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True
        ),
        sa.Column("customerEmail", sa.Text(), nullable=False),
        sa.Column("customerPhone", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("paidAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("merch_orders_userId_fkey"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("merch_orders_pkey")),
    )
    op.create_index(op.f("merch_orders_orderNumber_key"), "merch_orders", ["orderNumber"], unique=True)
    op.create_index(op.f("merch_orders_status_idx"), "merch_orders", ["status"], unique=False)
    op.create_index(
        op.f("merch_orders_stripePaymentIntentId_key"), "merch_orders", ["stripePaymentIntentId"], unique=True
    )
    op.create_index(
        op.f("merch_orders_userId_createdAt_idx"), "merch_orders", ["userId", "createdAt"], unique=False
    )
    op.create_table(
        "merch_products",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("categoryId", sa.Text(), nullable=False),
        sa.Column(
            "provider",
            postgresql.ENUM("PRODIGI", "PRINTFUL", name="PodProvider", create_type=False),
            nullable=False,
        ),
        sa.Column("providerSku", sa.Text(), nullable=False),
        sa.Column("basePrice", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("retailPrice", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("currency", sa.Text(), server_default=sa.text("'GBP'"), nullable=False),
        sa.Column("isActive", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("minDpi", sa.Integer(), server_default=sa.text("150"), nullable=False),
        sa.Column("minWidth", sa.Integer(), server_default=sa.text("1800"), nullable=False),
        sa.Column("minHeight", sa.Integer(), server_default=sa.text("1800"), nullable=False),
        sa.Column("printAreaWidth", sa.Integer(), nullable=True),
        sa.Column("printAreaHeight", sa.Integer(), nullable=True),
        sa.Column("mockupTemplate", sa.Text(), nullable=True),
        sa.Column("sortOrder", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["categoryId"],
            ["merch_categories.id"],
            name=op.f("merch_products_categoryId_fkey"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("merch_products_pkey")),
    )
    op.create_index(
        op.f("merch_products_categoryId_isActive_idx"),
        "merch_products",
        ["categoryId", "isActive"],
        unique=False,
    )
    op.create_index(
        op.f("merch_products_isActive_sortOrder_idx"),
        "merch_products",
        ["isActive", "sortOrder"],
        unique=False,
    )
    op.create_index(
        op.f("merch_products_provider_providerSku_idx"),
        "merch_products",
        ["provider", "providerSku"],
        unique=False,
    )
    op.create_table(
        "referrals",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("referrerId", sa.Text(), nullable=False),
        sa.Column("refereeId", sa.Text(), nullable=False),
        sa.Column(
            "status",
            postgresql.ENUM("PENDING", "COMPLETED", "INVALID", name="ReferralStatus", create_type=False),
            server_default=sa.text("'PENDING'::\"ReferralStatus\""),
            nullable=False,
        ),
        sa.Column("tokensGranted", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("ipAddress", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("completedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["refereeId"],
            ["users.id"],
            name=op.f("referrals_refereeId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["referrerId"],
            ["users.id"],
            name=op.f("referrals_referrerId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("referrals_pkey")),
    )
    op.create_index(op.f("referrals_refereeId_idx"), "referrals", ["refereeId"], unique=False)
    op.create_index(
        op.f("referrals_referrerId_refereeId_key"), "referrals", ["referrerId", "refereeId"], unique=True
    )
    op.create_index(
        op.f("referrals_referrerId_status_idx"), "referrals", ["referrerId", "status"], unique=False
    )
    op.create_index(
        op.f("referrals_status_createdAt_idx"), "referrals", ["status", "createdAt"], unique=False
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("sessionToken", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("expires", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("sessions_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("sessions_pkey")),
    )
    op.create_index(op.f("sessions_sessionToken_key"), "sessions", ["sessionToken"], unique=True)
    op.create_table(
        "stripe_payments",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("packageId", sa.Text(), nullable=False),
        sa.Column("tokensGranted", sa.Integer(), nullable=False),
        sa.Column("amountUSD", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("stripePaymentIntentId", sa.Text(), nullable=False),
        sa.Column(
            "status",
            postgresql.ENUM(
                "PENDING", "SUCCEEDED", "FAILED", "REFUNDED", name="StripePaymentStatus", create_type=False
            ),
            nullable=False,
        ),
        sa.Column("metadata", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["packageId"],
            ["tokens_packages.id"],
            name=op.f("stripe_payments_packageId_fkey"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("stripe_payments_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("stripe_payments_pkey")),
    )
    op.create_index(
        op.f("stripe_payments_stripePaymentIntentId_key"),
        "stripe_payments",
        ["stripePaymentIntentId"],
        unique=True,
    )
    op.create_index(
        op.f("stripe_payments_userId_createdAt_idx"), "stripe_payments", ["userId", "createdAt"], unique=False
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("stripeSubscriptionId", sa.Text(), nullable=False),
        sa.Column("stripePriceId", sa.Text(), nullable=False),
        sa.Column(
            "status",
            postgresql.ENUM(
                "ACTIVE",
                "CANCELED",
                "PAST_DUE",
                "UNPAID",
                "TRIALING",
                name="SubscriptionStatus",
                create_type=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "tier",
            postgresql.ENUM(
                "FREE", "BASIC", "STANDARD", "PREMIUM", name="SubscriptionTier", create_type=False
            ),
            server_default=sa.text("'BASIC'::\"SubscriptionTier\""),
            nullable=False,
        ),
        sa.Column("currentPeriodStart", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("currentPeriodEnd", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("cancelAtPeriodEnd", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "downgradeTo",
            postgresql.ENUM(
                "FREE", "BASIC", "STANDARD", "PREMIUM", name="SubscriptionTier", create_type=False
            ),
            nullable=True,
        ),
        sa.Column("tokensPerMonth", sa.Integer(), nullable=False),
        sa.Column("rolloverTokens", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("maxRollover", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("subscriptions_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("subscriptions_pkey")),
    )
    op.create_index(op.f("subscriptions_status_idx"), "subscriptions", ["status"], unique=False)
    op.create_index(
        op.f("subscriptions_stripeSubscriptionId_key"), "subscriptions", ["stripeSubscriptionId"], unique=True
    )
    op.create_index(op.f("subscriptions_tier_idx"), "subscriptions", ["tier"], unique=False)
    op.create_index(op.f("subscriptions_userId_key"), "subscriptions", ["userId"], unique=True)
    op.create_table(
        "token_transactions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            postgresql.ENUM(
                "EARN_REGENERATION",
                "EARN_PURCHASE",
                "EARN_BONUS",
                "EARN_ADMIN_ADJUSTMENT",
                "SPEND_ENHANCEMENT",
                "SPEND_MCP_GENERATION",
                "SPEND_BOX_CREATION",
                "REFUND",
                name="TokenTransactionType",
                create_type=False,
            ),
            nullable=False,
        ),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("sourceId", sa.Text(), nullable=True),
        sa.Column("balanceAfter", sa.Integer(), nullable=False),
        sa.Column("metadata", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("token_transactions_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("token_transactions_pkey")),
    )
    op.create_index(op.f("token_transactions_sourceId_idx"), "token_transactions", ["sourceId"], unique=False)
    op.create_index(
        op.f("token_transactions_userId_createdAt_idx"),
        "token_transactions",
        ["userId", "createdAt"],
        unique=False,
    )
    op.create_table(
        "tracked_urls",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("isActive", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("createdById", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["createdById"],
            ["users.id"],
            name=op.f("tracked_urls_createdById_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("tracked_urls_pkey")),
    )
    op.create_index(op.f("tracked_urls_isActive_idx"), "tracked_urls", ["isActive"], unique=False)
    op.create_index(op.f("tracked_urls_path_key"), "tracked_urls", ["path"], unique=True)
    op.create_table(
        "user_token_balances",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("balance", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "lastRegeneration",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column(
            "tier",
            postgresql.ENUM(
                "FREE", "BASIC", "STANDARD", "PREMIUM", name="SubscriptionTier", create_type=False
            ),
            server_default=sa.text("'FREE'::\"SubscriptionTier\""),
            nullable=False,
        ),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("user_token_balances_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("user_token_balances_pkey")),
    )
    op.create_index(op.f("user_token_balances_tier_idx"), "user_token_balances", ["tier"], unique=False)
    op.create_index(op.f("user_token_balances_userId_key"), "user_token_balances", ["userId"], unique=True)
    op.create_table(
        "visitor_sessions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("visitorId", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=True),
        sa.Column(
            "sessionStart",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("sessionEnd", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("deviceType", sa.Text(), nullable=True),
        sa.Column("browser", sa.Text(), nullable=True),
        sa.Column("os", sa.Text(), nullable=True),
        sa.Column("ipCountry", sa.Text(), nullable=True),
        sa.Column("ipCity", sa.Text(), nullable=True),
        sa.Column("referrer", sa.Text(), nullable=True),
        sa.Column("landingPage", sa.Text(), nullable=False),
        sa.Column("exitPage", sa.Text(), nullable=True),
        sa.Column("pageViewCount", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("utmSource", sa.Text(), nullable=True),
        sa.Column("utmMedium", sa.Text(), nullable=True),
        sa.Column("utmCampaign", sa.Text(), nullable=True),
        sa.Column("utmTerm", sa.Text(), nullable=True),
        sa.Column("utmContent", sa.Text(), nullable=True),
        sa.Column("gclid", sa.Text(), nullable=True),
        sa.Column("fbclid", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("visitor_sessions_userId_fkey"),
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("visitor_sessions_pkey")),
    )
    op.create_index(op.f("visitor_sessions_fbclid_idx"), "visitor_sessions", ["fbclid"], unique=False)
    op.create_index(op.f("visitor_sessions_gclid_idx"), "visitor_sessions", ["gclid"], unique=False)
    op.create_index(
        op.f("visitor_sessions_sessionStart_idx"), "visitor_sessions", ["sessionStart"], unique=False
    )
    op.create_index(op.f("visitor_sessions_userId_idx"), "visitor_sessions", ["userId"], unique=False)
    op.create_index(
        op.f("visitor_sessions_utmCampaign_idx"), "visitor_sessions", ["utmCampaign"], unique=False
    )
    op.create_index(op.f("visitor_sessions_utmSource_idx"), "visitor_sessions", ["utmSource"], unique=False)
    op.create_index(op.f("visitor_sessions_visitorId_idx"), "visitor_sessions", ["visitorId"], unique=False)
    op.create_table(
        "voucher_redemptions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("voucherId", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("tokensGranted", sa.Integer(), nullable=False),
        sa.Column(
            "redeemedAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("voucher_redemptions_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["voucherId"],
            ["vouchers.id"],
            name=op.f("voucher_redemptions_voucherId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("voucher_redemptions_pkey")),
    )
    op.create_index(
        op.f("voucher_redemptions_userId_redeemedAt_idx"),
        "voucher_redemptions",
        ["userId", "redeemedAt"],
        unique=False,
    )
    op.create_index(
        op.f("voucher_redemptions_voucherId_userId_key"),
        "voucher_redemptions",
        ["voucherId", "userId"],
        unique=True,
    )
    op.create_table(
        "agent_tasks",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("boxId", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column(
            "status",
            postgresql.ENUM(
                "PENDING",
                "PROCESSING",
                "COMPLETED",
                "FAILED",
                "REFUNDED",
                "CANCELLED",
                name="JobStatus",
                create_type=False,
            ),
            server_default=sa.text("'PENDING'::\"JobStatus\""),
            nullable=False,
        ),
        sa.Column("result", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["boxId"],
            ["boxes.id"],
            name=op.f("agent_tasks_boxId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("agent_tasks_pkey")),
    )
    op.create_index(op.f("agent_tasks_boxId_status_idx"), "agent_tasks", ["boxId", "status"], unique=False)
    op.create_table(
        "albums",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("coverImageId", sa.Text(), nullable=True),
        sa.Column(
            "privacy",
            postgresql.ENUM("PRIVATE", "UNLISTED", "PUBLIC", name="AlbumPrivacy", create_type=False),
            server_default=sa.text("'PRIVATE'::\"AlbumPrivacy\""),
            nullable=False,
        ),
        sa.Column(
            "defaultTier",
            postgresql.ENUM(
                "FREE", "TIER_1K", "TIER_2K", "TIER_4K", name="EnhancementTier", create_type=False
            ),
            server_default=sa.text("'TIER_1K'::\"EnhancementTier\""),
            nullable=False,
        ),
        sa.Column("shareToken", sa.Text(), nullable=True),
        sa.Column("sortOrder", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("pipelineId", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["pipelineId"],
            ["enhancement_pipelines.id"],
            name=op.f("albums_pipelineId_fkey"),
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["userId"], ["users.id"], name=op.f("albums_userId_fkey"), onupdate="CASCADE", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("albums_pkey")),
    )
    op.create_index(op.f("albums_pipelineId_idx"), "albums", ["pipelineId"], unique=False)
    op.create_index(op.f("albums_privacy_idx"), "albums", ["privacy"], unique=False)
    op.create_index(op.f("albums_shareToken_idx"), "albums", ["shareToken"], unique=False)
    op.create_index(op.f("albums_shareToken_key"), "albums", ["shareToken"], unique=True)
    op.create_index(op.f("albums_userId_createdAt_idx"), "albums", ["userId", "createdAt"], unique=False)
    op.create_index(
        op.f("albums_userId_name_privacy_key"), "albums", ["userId", "name", "privacy"], unique=True
    )
    op.create_table(
        "analytics_events",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("sessionId", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("metadata", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column(
            "timestamp",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["sessionId"],
            ["visitor_sessions.id"],
            name=op.f("analytics_events_sessionId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("analytics_events_pkey")),
    )
    op.create_index(op.f("analytics_events_category_idx"), "analytics_events", ["category"], unique=False)
    op.create_index(op.f("analytics_events_name_idx"), "analytics_events", ["name"], unique=False)
    op.create_index(
        op.f("analytics_events_sessionId_timestamp_idx"),
        "analytics_events",
        ["sessionId", "timestamp"],
        unique=False,
    )
    op.create_table(
        "audio_tracks",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("projectId", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("fileUrl", sa.Text(), nullable=True),
        sa.Column("fileR2Key", sa.Text(), nullable=True),
        sa.Column("fileFormat", sa.Text(), nullable=False),
        sa.Column("duration", sa.Double(), nullable=False),
        sa.Column("fileSizeBytes", sa.Integer(), nullable=False),
        sa.Column("volume", sa.Double(), server_default=sa.text("1.0"), nullable=False),
        sa.Column("muted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("solo", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("sortOrder", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "storageType",
            postgresql.ENUM("R2", "OPFS", name="AudioStorageType", create_type=False),
            server_default=sa.text("'R2'::\"AudioStorageType\""),
            nullable=False,
        ),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["projectId"],
            ["audio_mixer_projects.id"],
            name=op.f("audio_tracks_projectId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("audio_tracks_pkey")),
    )
    op.create_index(
        op.f("audio_tracks_projectId_sortOrder_idx"), "audio_tracks", ["projectId", "sortOrder"], unique=False
    )
    op.create_table(
        "box_actions",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("boxId", sa.Text(), nullable=False),
        sa.Column(
            "action",
            postgresql.ENUM(
                "CREATE",
                "START",
                "STOP",
                "RESTART",
                "DELETE",
                "CLONE",
                name="BoxActionType",
                create_type=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            postgresql.ENUM(
                "PENDING",
                "PROCESSING",
                "COMPLETED",
                "FAILED",
                "REFUNDED",
                "CANCELLED",
                name="JobStatus",
                create_type=False,
            ),
            server_default=sa.text("'PENDING'::\"JobStatus\""),
            nullable=False,
        ),
        sa.Column("metadata", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["boxId"],
            ["boxes.id"],
            name=op.f("box_actions_boxId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("box_actions_pkey")),
    )
    op.create_index(
        op.f("box_actions_boxId_createdAt_idx"), "box_actions", ["boxId", "createdAt"], unique=False
    )
    op.create_table(
        "box_messages",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("boxId", sa.Text(), nullable=False),
        sa.Column(
            "role",
            postgresql.ENUM("USER", "AGENT", "SYSTEM", name="BoxMessageRole", create_type=False),
            nullable=False,
        ),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["boxId"],
            ["boxes.id"],
            name=op.f("box_messages_boxId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("box_messages_pkey")),
    )
    op.create_index(
        op.f("box_messages_boxId_createdAt_idx"), "box_messages", ["boxId", "createdAt"], unique=False
    )
    op.create_table(
        "image_enhancement_jobs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("imageId", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column(
            "tier",
            postgresql.ENUM(
                "FREE", "TIER_1K", "TIER_2K", "TIER_4K", name="EnhancementTier", create_type=False
            ),
            nullable=False,
        ),
        sa.Column("tokensCost", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            postgresql.ENUM(
                "PENDING",
                "PROCESSING",
                "COMPLETED",
                "FAILED",
                "REFUNDED",
                "CANCELLED",
                name="JobStatus",
                create_type=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "currentStage",
            postgresql.ENUM(
                "ANALYZING", "CROPPING", "PROMPTING", "GENERATING", name="PipelineStage", create_type=False
            ),
            nullable=True,
        ),
        sa.Column("enhancedUrl", sa.Text(), nullable=True),
        sa.Column("enhancedR2Key", sa.Text(), nullable=True),
        sa.Column("enhancedWidth", sa.Integer(), nullable=True),
        sa.Column("enhancedHeight", sa.Integer(), nullable=True),
        sa.Column("enhancedSizeBytes", sa.Integer(), nullable=True),
        sa.Column("errorMessage", sa.Text(), nullable=True),
        sa.Column("retryCount", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("maxRetries", sa.Integer(), server_default=sa.text("3"), nullable=False),
        sa.Column("geminiPrompt", sa.Text(), nullable=True),
        sa.Column("geminiModel", sa.Text(), nullable=True),
        sa.Column("geminiTemp", sa.Double(), nullable=True),
        sa.Column("processingStartedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("processingCompletedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("workflowRunId", sa.Text(), nullable=True),
        sa.Column(
            "analysisResult", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True
        ),
        sa.Column("analysisSource", sa.Text(), nullable=True),
        sa.Column("wasCropped", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "cropDimensions", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True
        ),
        sa.Column("pipelineId", sa.Text(), nullable=True),
        sa.Column("sourceImageId", sa.Text(), nullable=True),
        sa.Column("isBlend", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("isAnonymous", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(
            ["imageId"],
            ["enhanced_images.id"],
            name=op.f("image_enhancement_jobs_imageId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pipelineId"],
            ["enhancement_pipelines.id"],
            name=op.f("image_enhancement_jobs_pipelineId_fkey"),
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sourceImageId"],
            ["enhanced_images.id"],
            name=op.f("image_enhancement_jobs_sourceImageId_fkey"),
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("image_enhancement_jobs_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("image_enhancement_jobs_pkey")),
    )
    op.create_index(
        op.f("image_enhancement_jobs_imageId_idx"), "image_enhancement_jobs", ["imageId"], unique=False
    )
    op.create_index(
        op.f("image_enhancement_jobs_pipelineId_idx"), "image_enhancement_jobs", ["pipelineId"], unique=False
    )
    op.create_index(
        op.f("image_enhancement_jobs_status_currentStage_idx"),
        "image_enhancement_jobs",
        ["status", "currentStage"],
        unique=False,
    )
    op.create_index(
        op.f("image_enhancement_jobs_status_updatedAt_idx"),
        "image_enhancement_jobs",
        ["status", "updatedAt"],
        unique=False,
    )
    op.create_index(
        op.f("image_enhancement_jobs_userId_status_createdAt_idx"),
        "image_enhancement_jobs",
        ["userId", "status", "createdAt"],
        unique=False,
    )
    op.create_index(
        op.f("image_enhancement_jobs_workflowRunId_idx"),
        "image_enhancement_jobs",
        ["workflowRunId"],
        unique=False,
    )
    op.create_table(
        "mcp_generation_jobs",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("userId", sa.Text(), nullable=False),
        sa.Column("apiKeyId", sa.Text(), nullable=True),
        sa.Column(
            "type",
            postgresql.ENUM("GENERATE", "MODIFY", name="McpJobType", create_type=False),
            nullable=False,
        ),
        sa.Column(
            "tier",
            postgresql.ENUM(
                "FREE", "TIER_1K", "TIER_2K", "TIER_4K", name="EnhancementTier", create_type=False
            ),
            nullable=False,
        ),
        sa.Column("tokensCost", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            postgresql.ENUM(
                "PENDING",
                "PROCESSING",
                "COMPLETED",
                "FAILED",
                "REFUNDED",
                "CANCELLED",
                name="JobStatus",
                create_type=False,
            ),
            nullable=False,
        ),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("inputImageUrl", sa.Text(), nullable=True),
        sa.Column("inputImageR2Key", sa.Text(), nullable=True),
        sa.Column("outputImageUrl", sa.Text(), nullable=True),
        sa.Column("outputImageR2Key", sa.Text(), nullable=True),
        sa.Column("outputWidth", sa.Integer(), nullable=True),
        sa.Column("outputHeight", sa.Integer(), nullable=True),
        sa.Column("outputSizeBytes", sa.Integer(), nullable=True),
        sa.Column("errorMessage", sa.Text(), nullable=True),
        sa.Column("geminiModel", sa.Text(), nullable=True),
        sa.Column("processingStartedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("processingCompletedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["apiKeyId"],
            ["api_keys.id"],
            name=op.f("mcp_generation_jobs_apiKeyId_fkey"),
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["userId"],
            ["users.id"],
            name=op.f("mcp_generation_jobs_userId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("mcp_generation_jobs_pkey")),
    )
    op.create_index(
        op.f("mcp_generation_jobs_apiKeyId_idx"), "mcp_generation_jobs", ["apiKeyId"], unique=False
    )
    op.create_index(
        op.f("mcp_generation_jobs_status_updatedAt_idx"),
        "mcp_generation_jobs",
        ["status", "updatedAt"],
        unique=False,
    )
    op.create_index(
        op.f("mcp_generation_jobs_userId_status_createdAt_idx"),
        "mcp_generation_jobs",
        ["userId", "status", "createdAt"],
        unique=False,
    )
    op.create_table(
        "merch_order_events",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("orderId", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("data", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["orderId"],
            ["merch_orders.id"],
            name=op.f("merch_order_events_orderId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("merch_order_events_pkey")),
    )
    op.create_index(
        op.f("merch_order_events_orderId_createdAt_idx"),
        "merch_order_events",
        ["orderId", "createdAt"],
        unique=False,
    )
    op.create_table(
        "merch_shipments",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("orderId", sa.Text(), nullable=False),
        sa.Column(
            "provider",
            postgresql.ENUM("PRODIGI", "PRINTFUL", name="PodProvider", create_type=False),
            nullable=False,
        ),
        sa.Column("providerShipId", sa.Text(), nullable=True),
        sa.Column("carrier", sa.Text(), nullable=True),
        sa.Column("trackingNumber", sa.Text(), nullable=True),
        sa.Column("trackingUrl", sa.Text(), nullable=True),
        sa.Column(
            "status",
            postgresql.ENUM(
                "PENDING",
                "PROCESSING",
                "SHIPPED",
                "IN_TRANSIT",
                "OUT_FOR_DELIVERY",
                "DELIVERED",
                "FAILED",
                name="ShipmentStatus",
                create_type=False,
            ),
            server_default=sa.text("'PENDING'::\"ShipmentStatus\""),
            nullable=False,
        ),
        sa.Column("shippedAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column("deliveredAt", postgresql.TIMESTAMP(precision=3), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["orderId"],
            ["merch_orders.id"],
            name=op.f("merch_shipments_orderId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("merch_shipments_pkey")),
    )
    op.create_index(op.f("merch_shipments_orderId_idx"), "merch_shipments", ["orderId"], unique=False)
    op.create_index(
        op.f("merch_shipments_trackingNumber_idx"), "merch_shipments", ["trackingNumber"], unique=False
    )
    op.create_table(
        "merch_variants",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("productId", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("providerSku", sa.Text(), nullable=False),
        sa.Column(
            "priceDelta", sa.Numeric(precision=10, scale=2), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("isActive", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("attributes", postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["productId"],
            ["merch_products.id"],
            name=op.f("merch_variants_productId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("merch_variants_pkey")),
    )
    op.create_index(
        op.f("merch_variants_productId_isActive_idx"),
        "merch_variants",
        ["productId", "isActive"],
        unique=False,
    )
    op.create_table(
        "monetization_models",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("appId", sa.Text(), nullable=False),
        sa.Column(
            "type",
            postgresql.ENUM(
                "FREE",
                "ONE_TIME",
                "SUBSCRIPTION",
                "FREEMIUM",
                "USAGE_BASED",
                name="MonetizationType",
                create_type=False,
            ),
            server_default=sa.text("'FREE'::\"MonetizationType\""),
            nullable=False,
        ),
        sa.Column("price", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column(
            "subscriptionInterval",
            postgresql.ENUM("MONTHLY", "QUARTERLY", "YEARLY", name="SubscriptionInterval", create_type=False),
            nullable=True,
        ),
        sa.Column("features", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["appId"],
            ["apps.id"],
            name=op.f("monetization_models_appId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("monetization_models_pkey")),
    )
    op.create_index(op.f("monetization_models_appId_idx"), "monetization_models", ["appId"], unique=False)
    op.create_index(op.f("monetization_models_type_idx"), "monetization_models", ["type"], unique=False)
    op.create_table(
        "page_views",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("sessionId", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column(
            "timestamp",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("timeOnPage", sa.Integer(), nullable=True),
        sa.Column("scrollDepth", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sessionId"],
            ["visitor_sessions.id"],
            name=op.f("page_views_sessionId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("page_views_pkey")),
    )
    op.create_index(op.f("page_views_path_idx"), "page_views", ["path"], unique=False)
    op.create_index(
        op.f("page_views_sessionId_timestamp_idx"), "page_views", ["sessionId", "timestamp"], unique=False
    )
    op.create_table(
        "requirements",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("appId", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "priority",
            postgresql.ENUM(
                "LOW", "MEDIUM", "HIGH", "CRITICAL", name="RequirementPriority", create_type=False
            ),
            server_default=sa.text("'MEDIUM'::\"RequirementPriority\""),
            nullable=False,
        ),
        sa.Column(
            "status",
            postgresql.ENUM(
                "PENDING", "IN_PROGRESS", "COMPLETED", "REJECTED", name="RequirementStatus", create_type=False
            ),
            server_default=sa.text("'PENDING'::\"RequirementStatus\""),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["appId"],
            ["apps.id"],
            name=op.f("requirements_appId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("requirements_pkey")),
    )
    op.create_index(op.f("requirements_appId_idx"), "requirements", ["appId"], unique=False)
    op.create_index(op.f("requirements_priority_idx"), "requirements", ["priority"], unique=False)
    op.create_index(op.f("requirements_status_idx"), "requirements", ["status"], unique=False)
    op.create_table(
        "album_images",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("albumId", sa.Text(), nullable=False),
        sa.Column("imageId", sa.Text(), nullable=False),
        sa.Column("sortOrder", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "addedAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["albumId"],
            ["albums.id"],
            name=op.f("album_images_albumId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["imageId"],
            ["enhanced_images.id"],
            name=op.f("album_images_imageId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("album_images_pkey")),
    )
    op.create_index(
        op.f("album_images_albumId_addedAt_idx"), "album_images", ["albumId", "addedAt"], unique=False
    )
    op.create_index(
        op.f("album_images_albumId_imageId_key"), "album_images", ["albumId", "imageId"], unique=True
    )
    op.create_index(
        op.f("album_images_albumId_sortOrder_idx"), "album_images", ["albumId", "sortOrder"], unique=False
    )
    op.create_index(op.f("album_images_imageId_idx"), "album_images", ["imageId"], unique=False)
    op.create_table(
        "featured_gallery_items",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "category",
            postgresql.ENUM(
                "PORTRAIT", "LANDSCAPE", "PRODUCT", "ARCHITECTURE", name="GalleryCategory", create_type=False
            ),
            server_default=sa.text("'PORTRAIT'::\"GalleryCategory\""),
            nullable=False,
        ),
        sa.Column("originalUrl", sa.Text(), nullable=False),
        sa.Column("enhancedUrl", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), server_default=sa.text("16"), nullable=False),
        sa.Column("height", sa.Integer(), server_default=sa.text("9"), nullable=False),
        sa.Column("sourceImageId", sa.Text(), nullable=True),
        sa.Column("sourceJobId", sa.Text(), nullable=True),
        sa.Column("sortOrder", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("isActive", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("createdBy", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["createdBy"],
            ["users.id"],
            name=op.f("featured_gallery_items_createdBy_fkey"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sourceImageId"],
            ["enhanced_images.id"],
            name=op.f("featured_gallery_items_sourceImageId_fkey"),
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sourceJobId"],
            ["image_enhancement_jobs.id"],
            name=op.f("featured_gallery_items_sourceJobId_fkey"),
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("featured_gallery_items_pkey")),
    )
    op.create_index(
        op.f("featured_gallery_items_isActive_category_sortOrder_idx"),
        "featured_gallery_items",
        ["isActive", "category", "sortOrder"],
        unique=False,
    )
    op.create_index(
        op.f("featured_gallery_items_isActive_sortOrder_idx"),
        "featured_gallery_items",
        ["isActive", "sortOrder"],
        unique=False,
    )
    op.create_table(
        "merch_cart_items",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("cartId", sa.Text(), nullable=False),
        sa.Column("productId", sa.Text(), nullable=False),
        sa.Column("variantId", sa.Text(), nullable=True),
        sa.Column("imageId", sa.Text(), nullable=True),
        sa.Column("uploadedImageR2Key", sa.Text(), nullable=True),
        sa.Column("uploadedImageUrl", sa.Text(), nullable=True),
        sa.Column("quantity", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("customText", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.ForeignKeyConstraint(
            ["cartId"],
            ["merch_carts.id"],
            name=op.f("merch_cart_items_cartId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["imageId"],
            ["enhanced_images.id"],
            name=op.f("merch_cart_items_imageId_fkey"),
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["productId"],
            ["merch_products.id"],
            name=op.f("merch_cart_items_productId_fkey"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["variantId"],
            ["merch_variants.id"],
            name=op.f("merch_cart_items_variantId_fkey"),
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("merch_cart_items_pkey")),
    )
    op.create_index(op.f("merch_cart_items_cartId_idx"), "merch_cart_items", ["cartId"], unique=False)
    op.create_index(
        op.f("merch_cart_items_cartId_productId_variantId_imageId_uploade_key"),
        "merch_cart_items",
        ["cartId", "productId", "variantId", "imageId", "uploadedImageR2Key"],
        unique=True,
    )
    op.create_index(op.f("merch_cart_items_productId_idx"), "merch_cart_items", ["productId"], unique=False)
    op.create_table(
        "merch_order_items",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("orderId", sa.Text(), nullable=False),
        sa.Column("productId", sa.Text(), nullable=False),
        sa.Column("variantId", sa.Text(), nullable=True),
        sa.Column("productName", sa.Text(), nullable=False),
        sa.Column("variantName", sa.Text(), nullable=True),
        sa.Column("imageUrl", sa.Text(), nullable=False),
        sa.Column("imageR2Key", sa.Text(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unitPrice", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("totalPrice", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("customText", sa.Text(), nullable=True),
        sa.Column("podOrderId", sa.Text(), nullable=True),
        sa.Column("podStatus", sa.Text(), nullable=True),
        sa.Column(
            "createdAt",
            postgresql.TIMESTAMP(precision=3),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.Column("updatedAt", postgresql.TIMESTAMP(precision=3), nullable=False),
        sa.Column("shipmentId", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["orderId"],
            ["merch_orders.id"],
            name=op.f("merch_order_items_orderId_fkey"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["productId"],
            ["merch_products.id"],
            name=op.f("merch_order_items_productId_fkey"),
            onupdate="CASCADE",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["shipmentId"],
            ["merch_shipments.id"],
            name=op.f("merch_order_items_shipmentId_fkey"),
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["variantId"],
            ["merch_variants.id"],
            name=op.f("merch_order_items_variantId_fkey"),
            onupdate="CASCADE",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("merch_order_items_pkey")),
    )
    op.create_index(op.f("merch_order_items_orderId_idx"), "merch_order_items", ["orderId"], unique=False)
    op.create_index(
        op.f("merch_order_items_podOrderId_idx"), "merch_order_items", ["podOrderId"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("merch_order_items_podOrderId_idx"), table_name="merch_order_items")
    op.drop_index(op.f("merch_order_items_orderId_idx"), table_name="merch_order_items")
    op.drop_table("merch_order_items")
    op.drop_index(op.f("merch_cart_items_productId_idx"), table_name="merch_cart_items")
    op.drop_index(
        op.f("merch_cart_items_cartId_productId_variantId_imageId_uploade_key"), table_name="merch_cart_items"
    )
    op.drop_index(op.f("merch_cart_items_cartId_idx"), table_name="merch_cart_items")
    op.drop_table("merch_cart_items")
    op.drop_index(op.f("featured_gallery_items_isActive_sortOrder_idx"), table_name="featured_gallery_items")
    op.drop_index(
        op.f("featured_gallery_items_isActive_category_sortOrder_idx"), table_name="featured_gallery_items"
    )
    op.drop_table("featured_gallery_items")
    op.drop_index(op.f("album_images_imageId_idx"), table_name="album_images")
    op.drop_index(op.f("album_images_albumId_sortOrder_idx"), table_name="album_images")
    op.drop_index(op.f("album_images_albumId_imageId_key"), table_name="album_images")
    op.drop_index(op.f("album_images_albumId_addedAt_idx"), table_name="album_images")
    op.drop_table("album_images")
    op.drop_index(op.f("requirements_status_idx"), table_name="requirements")
    op.drop_index(op.f("requirements_priority_idx"), table_name="requirements")
    op.drop_index(op.f("requirements_appId_idx"), table_name="requirements")
    op.drop_table("requirements")
    op.drop_index(op.f("page_views_sessionId_timestamp_idx"), table_name="page_views")
    op.drop_index(op.f("page_views_path_idx"), table_name="page_views")
    op.drop_table("page_views")
    op.drop_index(op.f("monetization_models_type_idx"), table_name="monetization_models")
    op.drop_index(op.f("monetization_models_appId_idx"), table_name="monetization_models")
    op.drop_table("monetization_models")
    op.drop_index(op.f("merch_variants_productId_isActive_idx"), table_name="merch_variants")
    op.drop_table("merch_variants")
    op.drop_index(op.f("merch_shipments_trackingNumber_idx"), table_name="merch_shipments")
    op.drop_index(op.f("merch_shipments_orderId_idx"), table_name="merch_shipments")
    op.drop_table("merch_shipments")
    op.drop_index(op.f("merch_order_events_orderId_createdAt_idx"), table_name="merch_order_events")
    op.drop_table("merch_order_events")
    op.drop_index(op.f("mcp_generation_jobs_userId_status_createdAt_idx"), table_name="mcp_generation_jobs")
    op.drop_index(op.f("mcp_generation_jobs_status_updatedAt_idx"), table_name="mcp_generation_jobs")
    op.drop_index(op.f("mcp_generation_jobs_apiKeyId_idx"), table_name="mcp_generation_jobs")
    op.drop_table("mcp_generation_jobs")
    op.drop_index(op.f("image_enhancement_jobs_workflowRunId_idx"), table_name="image_enhancement_jobs")
    op.drop_index(
        op.f("image_enhancement_jobs_userId_status_createdAt_idx"), table_name="image_enhancement_jobs"
    )
    op.drop_index(op.f("image_enhancement_jobs_status_updatedAt_idx"), table_name="image_enhancement_jobs")
    op.drop_index(op.f("image_enhancement_jobs_status_currentStage_idx"), table_name="image_enhancement_jobs")
    op.drop_index(op.f("image_enhancement_jobs_pipelineId_idx"), table_name="image_enhancement_jobs")
    op.drop_index(op.f("image_enhancement_jobs_imageId_idx"), table_name="image_enhancement_jobs")
    op.drop_table("image_enhancement_jobs")
    op.drop_index(op.f("box_messages_boxId_createdAt_idx"), table_name="box_messages")
    op.drop_table("box_messages")
    op.drop_index(op.f("box_actions_boxId_createdAt_idx"), table_name="box_actions")
    op.drop_table("box_actions")
    op.drop_index(op.f("audio_tracks_projectId_sortOrder_idx"), table_name="audio_tracks")
    op.drop_table("audio_tracks")
    op.drop_index(op.f("analytics_events_sessionId_timestamp_idx"), table_name="analytics_events")
    op.drop_index(op.f("analytics_events_name_idx"), table_name="analytics_events")
    op.drop_index(op.f("analytics_events_category_idx"), table_name="analytics_events")
    op.drop_table("analytics_events")
    op.drop_index(op.f("albums_userId_name_privacy_key"), table_name="albums")
    op.drop_index(op.f("albums_userId_createdAt_idx"), table_name="albums")
    op.drop_index(op.f("albums_shareToken_key"), table_name="albums")
    op.drop_index(op.f("albums_shareToken_idx"), table_name="albums")
    op.drop_index(op.f("albums_privacy_idx"), table_name="albums")
    op.drop_index(op.f("albums_pipelineId_idx"), table_name="albums")
    op.drop_table("albums")
    op.drop_index(op.f("agent_tasks_boxId_status_idx"), table_name="agent_tasks")
    op.drop_table("agent_tasks")
    op.drop_index(op.f("voucher_redemptions_voucherId_userId_key"), table_name="voucher_redemptions")
    op.drop_index(op.f("voucher_redemptions_userId_redeemedAt_idx"), table_name="voucher_redemptions")
    op.drop_table("voucher_redemptions")
    op.drop_index(op.f("visitor_sessions_visitorId_idx"), table_name="visitor_sessions")
    op.drop_index(op.f("visitor_sessions_utmSource_idx"), table_name="visitor_sessions")
    op.drop_index(op.f("visitor_sessions_utmCampaign_idx"), table_name="visitor_sessions")
    op.drop_index(op.f("visitor_sessions_userId_idx"), table_name="visitor_sessions")
    op.drop_index(op.f("visitor_sessions_sessionStart_idx"), table_name="visitor_sessions")
    op.drop_index(op.f("visitor_sessions_gclid_idx"), table_name="visitor_sessions")
    op.drop_index(op.f("visitor_sessions_fbclid_idx"), table_name="visitor_sessions")
    op.drop_table("visitor_sessions")
    op.drop_index(op.f("user_token_balances_userId_key"), table_name="user_token_balances")
    op.drop_index(op.f("user_token_balances_tier_idx"), table_name="user_token_balances")
    op.drop_table("user_token_balances")
    op.drop_index(op.f("tracked_urls_path_key"), table_name="tracked_urls")
    op.drop_index(op.f("tracked_urls_isActive_idx"), table_name="tracked_urls")
    op.drop_table("tracked_urls")
    op.drop_index(op.f("token_transactions_userId_createdAt_idx"), table_name="token_transactions")
    op.drop_index(op.f("token_transactions_sourceId_idx"), table_name="token_transactions")
    op.drop_table("token_transactions")
    op.drop_index(op.f("subscriptions_userId_key"), table_name="subscriptions")
    op.drop_index(op.f("subscriptions_tier_idx"), table_name="subscriptions")
    op.drop_index(op.f("subscriptions_stripeSubscriptionId_key"), table_name="subscriptions")
    op.drop_index(op.f("subscriptions_status_idx"), table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_index(op.f("stripe_payments_userId_createdAt_idx"), table_name="stripe_payments")
    op.drop_index(op.f("stripe_payments_stripePaymentIntentId_key"), table_name="stripe_payments")
    op.drop_table("stripe_payments")
    op.drop_index(op.f("sessions_sessionToken_key"), table_name="sessions")
    op.drop_table("sessions")
    op.drop_index(op.f("referrals_status_createdAt_idx"), table_name="referrals")
    op.drop_index(op.f("referrals_referrerId_status_idx"), table_name="referrals")
    op.drop_index(op.f("referrals_referrerId_refereeId_key"), table_name="referrals")
    op.drop_index(op.f("referrals_refereeId_idx"), table_name="referrals")
    op.drop_table("referrals")
    op.drop_index(op.f("merch_products_provider_providerSku_idx"), table_name="merch_products")
    op.drop_index(op.f("merch_products_isActive_sortOrder_idx"), table_name="merch_products")
    op.drop_index(op.f("merch_products_categoryId_isActive_idx"), table_name="merch_products")
    op.drop_table("merch_products")
    op.drop_index(op.f("merch_orders_userId_createdAt_idx"), table_name="merch_orders")
    op.drop_index(op.f("merch_orders_stripePaymentIntentId_key"), table_name="merch_orders")
    op.drop_index(op.f("merch_orders_status_idx"), table_name="merch_orders")
    op.drop_index(op.f("merch_orders_orderNumber_key"), table_name="merch_orders")
    op.drop_table("merch_orders")
    op.drop_index(op.f("merch_carts_userId_key"), table_name="merch_carts")
    op.drop_table("merch_carts")
    op.drop_index(op.f("marketing_accounts_userId_platform_accountId_key"), table_name="marketing_accounts")
    op.drop_index(op.f("marketing_accounts_userId_idx"), table_name="marketing_accounts")
    op.drop_index(op.f("marketing_accounts_platform_idx"), table_name="marketing_accounts")
    op.drop_table("marketing_accounts")
    op.drop_index(op.f("feedback_userId_idx"), table_name="feedback")
    op.drop_index(op.f("feedback_type_idx"), table_name="feedback")
    op.drop_index(op.f("feedback_status_idx"), table_name="feedback")
    op.drop_index(op.f("feedback_createdAt_idx"), table_name="feedback")
    op.drop_table("feedback")
    op.drop_index(op.f("enhancement_pipelines_visibility_idx"), table_name="enhancement_pipelines")
    op.drop_index(op.f("enhancement_pipelines_userId_idx"), table_name="enhancement_pipelines")
    op.drop_index(op.f("enhancement_pipelines_shareToken_key"), table_name="enhancement_pipelines")
    op.drop_table("enhancement_pipelines")
    op.drop_index(op.f("enhanced_images_userId_createdAt_idx"), table_name="enhanced_images")
    op.drop_index(op.f("enhanced_images_shareToken_key"), table_name="enhanced_images")
    op.drop_index(op.f("enhanced_images_shareToken_idx"), table_name="enhanced_images")
    op.drop_index(op.f("enhanced_images_isPublic_createdAt_idx"), table_name="enhanced_images")
    op.drop_table("enhanced_images")
    op.drop_index(op.f("email_logs_userId_idx"), table_name="email_logs")
    op.drop_index(op.f("email_logs_template_idx"), table_name="email_logs")
    op.drop_index(op.f("email_logs_status_idx"), table_name="email_logs")
    op.drop_index(op.f("email_logs_sentAt_idx"), table_name="email_logs")
    op.drop_index(op.f("email_logs_resendId_key"), table_name="email_logs")
    op.drop_table("email_logs")
    op.drop_index(op.f("campaign_attributions_utmCampaign_idx"), table_name="campaign_attributions")
    op.drop_index(op.f("campaign_attributions_userId_idx"), table_name="campaign_attributions")
    op.drop_index(op.f("campaign_attributions_externalCampaignId_idx"), table_name="campaign_attributions")
    op.drop_index(op.f("campaign_attributions_convertedAt_idx"), table_name="campaign_attributions")
    op.drop_index(op.f("campaign_attributions_conversionType_idx"), table_name="campaign_attributions")
    op.drop_index(op.f("campaign_attributions_attributionType_idx"), table_name="campaign_attributions")
    op.drop_table("campaign_attributions")
    op.drop_index(op.f("boxes_userId_createdAt_idx"), table_name="boxes")
    op.drop_index(op.f("boxes_status_idx"), table_name="boxes")
    op.drop_table("boxes")
    op.drop_index(op.f("audit_logs_userId_idx"), table_name="audit_logs")
    op.drop_index(op.f("audit_logs_targetId_idx"), table_name="audit_logs")
    op.drop_index(op.f("audit_logs_createdAt_idx"), table_name="audit_logs")
    op.drop_index(op.f("audit_logs_action_idx"), table_name="audit_logs")
    op.drop_table("audit_logs")
    op.drop_index(op.f("audio_mixer_projects_userId_createdAt_idx"), table_name="audio_mixer_projects")
    op.drop_table("audio_mixer_projects")
    op.drop_index(op.f("apps_userId_idx"), table_name="apps")
    op.drop_index(op.f("apps_status_idx"), table_name="apps")
    op.drop_index(op.f("apps_forkedFrom_idx"), table_name="apps")
    op.drop_index(op.f("apps_domain_key"), table_name="apps")
    op.drop_table("apps")
    op.drop_index(op.f("api_keys_userId_isActive_idx"), table_name="api_keys")
    op.drop_index(op.f("api_keys_keyHash_key"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index(
        op.f("agent_session_activities_sessionId_createdAt_idx"), table_name="agent_session_activities"
    )
    op.drop_table("agent_session_activities")
    op.drop_index(op.f("accounts_provider_providerAccountId_key"), table_name="accounts")
    op.drop_table("accounts")
    op.drop_index(op.f("vouchers_status_expiresAt_idx"), table_name="vouchers")
    op.drop_index(op.f("vouchers_code_key"), table_name="vouchers")
    op.drop_table("vouchers")
    op.drop_index(op.f("verification_tokens_token_key"), table_name="verification_tokens")
    op.drop_index(op.f("verification_tokens_identifier_token_key"), table_name="verification_tokens")
    op.drop_table("verification_tokens")
    op.drop_index(op.f("users_stripeCustomerId_key"), table_name="users")
    op.drop_index(op.f("users_referralCode_key"), table_name="users")
    op.drop_index(op.f("users_email_key"), table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("tokens_packages_stripePriceId_key"), table_name="tokens_packages")
    op.drop_index(op.f("tokens_packages_active_sortOrder_idx"), table_name="tokens_packages")
    op.drop_table("tokens_packages")
    op.drop_index(op.f("subscription_plans_stripePriceId_key"), table_name="subscription_plans")
    op.drop_index(op.f("subscription_plans_active_sortOrder_idx"), table_name="subscription_plans")
    op.drop_table("subscription_plans")
    op.drop_index(op.f("merch_webhook_events_provider_eventType_idx"), table_name="merch_webhook_events")
    op.drop_index(op.f("merch_webhook_events_processed_createdAt_idx"), table_name="merch_webhook_events")
    op.drop_index(op.f("merch_webhook_events_eventId_key"), table_name="merch_webhook_events")
    op.drop_table("merch_webhook_events")
    op.drop_index(op.f("merch_categories_slug_key"), table_name="merch_categories")
    op.drop_index(op.f("merch_categories_name_key"), table_name="merch_categories")
    op.drop_index(op.f("merch_categories_isActive_sortOrder_idx"), table_name="merch_categories")
    op.drop_table("merch_categories")
    op.drop_index(
        op.f("external_agent_sessions_status_lastActivityAt_idx"), table_name="external_agent_sessions"
    )
    op.drop_index(op.f("external_agent_sessions_provider_status_idx"), table_name="external_agent_sessions")
    op.drop_index(op.f("external_agent_sessions_externalId_key"), table_name="external_agent_sessions")
    op.drop_table("external_agent_sessions")
    op.drop_index(op.f("error_logs_timestamp_idx"), table_name="error_logs")
    op.drop_index(op.f("error_logs_sourceFile_idx"), table_name="error_logs")
    op.drop_index(op.f("error_logs_errorType_idx"), table_name="error_logs")
    op.drop_index(op.f("error_logs_environment_idx"), table_name="error_logs")
    op.drop_table("error_logs")
    op.drop_index(op.f("campaign_metrics_cache_expiresAt_idx"), table_name="campaign_metrics_cache")
    op.drop_index(op.f("campaign_metrics_cache_cacheKey_key"), table_name="campaign_metrics_cache")
    op.drop_table("campaign_metrics_cache")
    op.drop_index(op.f("campaign_links_utmCampaign_platform_key"), table_name="campaign_links")
    op.drop_index(op.f("campaign_links_platform_idx"), table_name="campaign_links")
    op.drop_index(op.f("campaign_links_externalCampaignId_idx"), table_name="campaign_links")
    op.drop_table("campaign_links")
    op.drop_table("box_tiers")
    sa.Enum("JULES", "CODEX", "OTHER", name="AgentProvider").drop(op.get_bind())
    sa.Enum(
        "QUEUED",
        "PLANNING",
        "AWAITING_PLAN_APPROVAL",
        "AWAITING_USER_FEEDBACK",
        "IN_PROGRESS",
        "PAUSED",
        "FAILED",
        "COMPLETED",
        name="ExternalAgentStatus",
    ).drop(op.get_bind())
    sa.Enum("FIRST_TOUCH", "LAST_TOUCH", name="AttributionType").drop(op.get_bind())
    sa.Enum("SIGNUP", "ENHANCEMENT", "PURCHASE", name="ConversionType").drop(op.get_bind())
    sa.Enum("FACEBOOK", "GOOGLE_ADS", name="MarketingPlatform").drop(op.get_bind())
    sa.Enum("DRAFT", "ACTIVE", "ARCHIVED", "DELETED", name="AppStatus").drop(op.get_bind())
    sa.Enum("LOW", "MEDIUM", "HIGH", "CRITICAL", name="RequirementPriority").drop(op.get_bind())
    sa.Enum("PENDING", "IN_PROGRESS", "COMPLETED", "REJECTED", name="RequirementStatus").drop(op.get_bind())
    sa.Enum("FREE", "ONE_TIME", "SUBSCRIPTION", "FREEMIUM", "USAGE_BASED", name="MonetizationType").drop(
        op.get_bind()
    )
    sa.Enum("MONTHLY", "QUARTERLY", "YEARLY", name="SubscriptionInterval").drop(op.get_bind())
    sa.Enum("R2", "OPFS", name="AudioStorageType").drop(op.get_bind())
    sa.Enum("PENDING", "SUCCEEDED", "FAILED", "REFUNDED", name="StripePaymentStatus").drop(op.get_bind())
    sa.Enum("ACTIVE", "CANCELED", "PAST_DUE", "UNPAID", "TRIALING", name="SubscriptionStatus").drop(
        op.get_bind()
    )
    sa.Enum("FREE", "BASIC", "STANDARD", "PREMIUM", name="SubscriptionTier").drop(op.get_bind())
    sa.Enum(
        "CREATING",
        "STARTING",
        "RUNNING",
        "PAUSED",
        "STOPPING",
        "STOPPED",
        "TERMINATED",
        "ERROR",
        name="BoxStatus",
    ).drop(op.get_bind())
    sa.Enum("CREATE", "START", "STOP", "RESTART", "DELETE", "CLONE", name="BoxActionType").drop(op.get_bind())
    sa.Enum("PENDING", "PROCESSING", "COMPLETED", "FAILED", "REFUNDED", "CANCELLED", name="JobStatus").drop(
        op.get_bind()
    )
    sa.Enum("USER", "AGENT", "SYSTEM", name="BoxMessageRole").drop(op.get_bind())
    sa.Enum("PRIVATE", "UNLISTED", "PUBLIC", name="AlbumPrivacy").drop(op.get_bind())
    sa.Enum("FREE", "TIER_1K", "TIER_2K", "TIER_4K", name="EnhancementTier").drop(op.get_bind())
    sa.Enum("PORTRAIT", "LANDSCAPE", "PRODUCT", "ARCHITECTURE", name="GalleryCategory").drop(op.get_bind())
    sa.Enum("GENERATE", "MODIFY", name="McpJobType").drop(op.get_bind())
    sa.Enum("FIXED_TOKENS", "PERCENTAGE_BONUS", "SUBSCRIPTION_TRIAL", name="VoucherType").drop(op.get_bind())
    sa.Enum("ACTIVE", "INACTIVE", "EXPIRED", "DEPLETED", name="VoucherStatus").drop(op.get_bind())
    sa.Enum("PENDING", "COMPLETED", "INVALID", name="ReferralStatus").drop(op.get_bind())
    sa.Enum("USER", "ADMIN", "SUPER_ADMIN", name="UserRole").drop(op.get_bind())
    sa.Enum("ANALYZING", "CROPPING", "PROMPTING", "GENERATING", name="PipelineStage").drop(op.get_bind())
    sa.Enum("PRIVATE", "PUBLIC", "LINK", name="PipelineVisibility").drop(op.get_bind())
    sa.Enum("PRODIGI", "PRINTFUL", name="PodProvider").drop(op.get_bind())
    sa.Enum(
        "PENDING",
        "PAYMENT_PENDING",
        "PAID",
        "SUBMITTED",
        "IN_PRODUCTION",
        "SHIPPED",
        "DELIVERED",
        "CANCELLED",
        "REFUNDED",
        name="MerchOrderStatus",
    ).drop(op.get_bind())
    sa.Enum(
        "PENDING",
        "PROCESSING",
        "SHIPPED",
        "IN_TRANSIT",
        "OUT_FOR_DELIVERY",
        "DELIVERED",
        "FAILED",
        name="ShipmentStatus",
    ).drop(op.get_bind())
    sa.Enum(
        "ROLE_CHANGE",
        "TOKEN_ADJUSTMENT",
        "VOUCHER_CREATE",
        "VOUCHER_UPDATE",
        "VOUCHER_DELETE",
        "USER_DELETE",
        "ADMIN_LOGIN",
        name="AuditAction",
    ).drop(op.get_bind())
    sa.Enum("FRONTEND", "BACKEND", name="ErrorEnvironment").drop(op.get_bind())
    sa.Enum("BUG", "IDEA", "OTHER", name="FeedbackType").drop(op.get_bind())
    sa.Enum("NEW", "REVIEWED", "RESOLVED", "DISMISSED", name="FeedbackStatus").drop(op.get_bind())
    sa.Enum(
        "PENDING", "SENT", "DELIVERED", "OPENED", "CLICKED", "BOUNCED", "FAILED", name="EmailStatus"
    ).drop(op.get_bind())
    sa.Enum(
        "EARN_REGENERATION",
        "EARN_PURCHASE",
        "EARN_BONUS",
        "EARN_ADMIN_ADJUSTMENT",
        "SPEND_ENHANCEMENT",
        "SPEND_MCP_GENERATION",
        "SPEND_BOX_CREATION",
        "REFUND",
        name="TokenTransactionType",
    ).drop(op.get_bind())
