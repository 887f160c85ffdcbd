"""Everything our migrations add beyond the schema contract, fact by fact (``docs/data-model.md``
says why). A migrated database must hold exactly the contract plus these: an addition not
listed here is a failure, so a new one is documented in the same change."""

from __future__ import annotations

from spikeland.db.contract import load
from tests.db.catalog import Fact, contract_facts

TIMESTAMP = "timestamp(3) without time zone"

# Alembic's own bookkeeping.
ALEMBIC: set[Fact] = {
    ("table", "alembic_version"),
    ("column", "alembic_version", "version_num", "character varying(32)", False, None),
    ("primary key", "alembic_version", "alembic_version_pkc", ("version_num",)),
}

# 0002: an index on every foreign-key column no specified index leads with, so a parent's
# ON DELETE does not scan the child table.
FK_INDEXES: set[Fact] = {
    ("index", table, f"{table}_{column}_idx", (column,), False)
    for table, column in [
        ("users", "referredById"),
        ("accounts", "userId"),
        ("sessions", "userId"),
        ("stripe_payments", "packageId"),
        ("image_enhancement_jobs", "sourceImageId"),
        ("featured_gallery_items", "sourceImageId"),
        ("featured_gallery_items", "sourceJobId"),
        ("featured_gallery_items", "createdBy"),
        ("boxes", "tierId"),
        ("tracked_urls", "createdById"),
        ("merch_cart_items", "variantId"),
        ("merch_cart_items", "imageId"),
        ("merch_order_items", "productId"),
        ("merch_order_items", "variantId"),
        ("merch_order_items", "shipmentId"),
    ]
}

# 0003, 0004: the job runner's retry backoff and attempt fencing, on both job tables.
JOB_COLUMNS: set[Fact] = {
    ("column", "image_enhancement_jobs", "runAfter", TIMESTAMP, True, None),
    ("column", "mcp_generation_jobs", "runAfter", TIMESTAMP, True, None),
    ("column", "mcp_generation_jobs", "retryCount", "integer", False, "0"),
    ("column", "mcp_generation_jobs", "maxRetries", "integer", False, "3"),
}

# 0005: every change that can end an API key is announced to the processes caching key owners.
API_KEY_NOTIFY: set[Fact] = {
    ("trigger", "api_keys", "api_keys_changed"),
    ("function", "spikeland_api_key_changed"),
}

# 0007: the lists' keyset order (createdAt, id) after their equality column, and the latest
# COMPLETED job of an image, so pages and the "latest enhancement" lateral read in index order.
KEYSET_INDEXES: set[Fact] = {
    ("index", table, f"{table}_{'_'.join(columns)}_idx", columns, False)
    for table, columns in [
        ("enhanced_images", ("isPublic", "createdAt", "id")),
        ("enhanced_images", ("userId", "createdAt", "id")),
        ("token_transactions", ("userId", "createdAt", "id")),
        ("image_enhancement_jobs", ("imageId", "status", "createdAt", "id")),
    ]
}

# 0008: the admin user list, newest first and by role, and its search (GIN trigram indexes on
# email and name, with the pg_trgm extension, whose own functions are not ours).
USER_LIST_INDEXES: set[Fact] = {
    ("index", "users", "users_createdAt_id_idx", ("createdAt", "id"), False),
    ("index", "users", "users_role_createdAt_id_idx", ("role", "createdAt", "id"), False),
    ("index", "users", "users_email_trgm_idx", ("email",), False),
    ("index", "users", "users_name_trgm_idx", ("name",), False),
}

# 0009: the job runner's queue of merch fulfilment work (submissions, provider events).
_FJ = "merch_fulfilment_jobs"
FULFILMENT_JOBS: set[Fact] = {
    ("table", _FJ),
    ("column", _FJ, "id", "text", False, None),
    ("column", _FJ, "kind", "text", False, None),
    ("column", _FJ, "orderId", "text", True, None),
    ("column", _FJ, "eventId", "text", True, None),
    ("column", _FJ, "status", '"JobStatus"', False, "'PENDING'::\"JobStatus\""),
    ("column", _FJ, "errorMessage", "text", True, None),
    ("column", _FJ, "retryCount", "integer", False, "0"),
    ("column", _FJ, "maxRetries", "integer", False, "5"),
    ("column", _FJ, "runAfter", TIMESTAMP, True, None),
    ("column", _FJ, "processingStartedAt", TIMESTAMP, True, None),
    ("column", _FJ, "processingCompletedAt", TIMESTAMP, True, None),
    ("column", _FJ, "createdAt", TIMESTAMP, False, "CURRENT_TIMESTAMP"),
    ("column", _FJ, "updatedAt", TIMESTAMP, False, None),
    ("primary key", _FJ, f"{_FJ}_pkey", ("id",)),
    ("index", _FJ, f"{_FJ}_eventId_key", ("eventId",), True),
    ("index", _FJ, f"{_FJ}_orderId_idx", ("orderId",), False),
    ("index", _FJ, f"{_FJ}_status_updatedAt_idx", ("status", "updatedAt"), False),
    ("foreign key", _FJ, f"{_FJ}_orderId_fkey", ("orderId",), "merch_orders", ("id",), "CASCADE", "CASCADE"),
    (
        "foreign key",
        _FJ,
        f"{_FJ}_eventId_fkey",
        ("eventId",),
        "merch_webhook_events",
        ("id",),
        "CASCADE",
        "CASCADE",
    ),
}

# 0010: the ad platforms' campaigns and their daily spend, as the marketing sync finds them.
_AC, _AS = "ad_campaigns", "ad_campaign_spend"
AD_CAMPAIGNS: set[Fact] = {
    ("table", _AC),
    ("column", _AC, "id", "text", False, None),
    ("column", _AC, "accountId", "text", False, None),
    ("column", _AC, "platform", '"MarketingPlatform"', False, None),
    ("column", _AC, "externalCampaignId", "text", False, None),
    ("column", _AC, "name", "text", False, None),
    ("column", _AC, "status", "text", True, None),
    ("column", _AC, "trackingTemplate", "text", True, None),
    ("column", _AC, "currency", "text", True, None),
    ("column", _AC, "syncedAt", TIMESTAMP, False, None),
    ("column", _AC, "createdAt", TIMESTAMP, False, "CURRENT_TIMESTAMP"),
    ("column", _AC, "updatedAt", TIMESTAMP, False, None),
    ("primary key", _AC, f"{_AC}_pkey", ("id",)),
    ("index", _AC, f"{_AC}_platform_externalCampaignId_key", ("platform", "externalCampaignId"), True),
    ("index", _AC, f"{_AC}_platform_accountId_idx", ("platform", "accountId"), False),
    ("table", _AS),
    ("column", _AS, "campaignId", "text", False, None),
    ("column", _AS, "day", "date", False, None),
    ("column", _AS, "spend", "numeric(18,6)", False, None),
    ("column", _AS, "impressions", "bigint", False, "0"),
    ("column", _AS, "clicks", "bigint", False, "0"),
    ("column", _AS, "updatedAt", TIMESTAMP, False, None),
    ("primary key", _AS, f"{_AS}_pkey", ("campaignId", "day")),
    ("foreign key", _AS, f"{_AS}_campaignId_fkey", ("campaignId",), _AC, ("id",), "CASCADE", "CASCADE"),
}

# 0011: admin actions without a spec AuditAction label.
_AE = "admin_audit_events"
ADMIN_AUDIT_EVENTS: set[Fact] = {
    ("table", _AE),
    ("column", _AE, "id", "text", False, None),
    ("column", _AE, "userId", "text", False, None),
    ("column", _AE, "action", "text", False, None),
    ("column", _AE, "targetId", "text", True, None),
    ("column", _AE, "metadata", "jsonb", True, None),
    ("column", _AE, "ipAddress", "text", True, None),
    ("column", _AE, "createdAt", TIMESTAMP, False, "CURRENT_TIMESTAMP"),
    ("primary key", _AE, f"{_AE}_pkey", ("id",)),
    ("foreign key", _AE, f"{_AE}_userId_fkey", ("userId",), "users", ("id",), "CASCADE", "CASCADE"),
    *(
        ("index", _AE, f"{_AE}_{column}_idx", (column,), False)
        for column in ("userId", "action", "targetId", "createdAt")
    ),
}

# 0012: renders of mixer projects, as jobs of the runner.
_AM = "audio_mixdowns"
AUDIO_MIXDOWNS: set[Fact] = {
    ("table", _AM),
    ("column", _AM, "id", "text", False, None),
    ("column", _AM, "projectId", "text", False, None),
    ("column", _AM, "userId", "text", False, None),
    ("column", _AM, "status", '"JobStatus"', False, "'PENDING'::\"JobStatus\""),
    ("column", _AM, "stage", "text", True, None),
    ("column", _AM, "progress", "integer", False, "0"),
    ("column", _AM, "tracks", "jsonb", False, None),
    ("column", _AM, "sampleRate", "integer", True, None),
    ("column", _AM, "duration", "double precision", True, None),
    ("column", _AM, "wavR2Key", "text", True, None),
    ("column", _AM, "wavSizeBytes", "bigint", True, None),
    ("column", _AM, "mp3R2Key", "text", True, None),
    ("column", _AM, "mp3SizeBytes", "bigint", True, None),
    ("column", _AM, "errorMessage", "text", True, None),
    ("column", _AM, "retryCount", "integer", False, "0"),
    ("column", _AM, "maxRetries", "integer", False, "3"),
    ("column", _AM, "runAfter", TIMESTAMP, True, None),
    ("column", _AM, "processingStartedAt", TIMESTAMP, True, None),
    ("column", _AM, "processingCompletedAt", TIMESTAMP, True, None),
    ("column", _AM, "createdAt", TIMESTAMP, False, "CURRENT_TIMESTAMP"),
    ("column", _AM, "updatedAt", TIMESTAMP, False, None),
    ("primary key", _AM, f"{_AM}_pkey", ("id",)),
    (
        "foreign key",
        _AM,
        f"{_AM}_projectId_fkey",
        ("projectId",),
        "audio_mixer_projects",
        ("id",),
        "CASCADE",
        "CASCADE",
    ),
    ("foreign key", _AM, f"{_AM}_userId_fkey", ("userId",), "users", ("id",), "CASCADE", "CASCADE"),
    ("index", _AM, f"{_AM}_projectId_createdAt_idx", ("projectId", "createdAt"), False),
    ("index", _AM, f"{_AM}_userId_idx", ("userId",), False),
    ("index", _AM, f"{_AM}_status_updatedAt_idx", ("status", "updatedAt"), False),
}

# 0013: every image and every job newest first (the console's and the admin API's lists).
CONSOLE_LIST_INDEXES: set[Fact] = {
    ("index", table, f"{table}_createdAt_id_idx", ("createdAt", "id"), False)
    for table in ("enhanced_images", "image_enhancement_jobs", "mcp_generation_jobs", "merch_orders")
} | {("index", "merch_orders", "merch_orders_customerEmail_idx", ("customerEmail",), False)}

# 0014: box actions and agent tasks as jobs of the runner; hourly metering; per-box agent tokens.
BOX_RUNTIME: set[Fact] = {
    *(
        fact
        for table in ("box_actions", "agent_tasks")
        for fact in (
            ("column", table, "retryCount", "integer", False, "0"),
            ("column", table, "maxRetries", "integer", False, "3"),
            ("column", table, "runAfter", TIMESTAMP, True, None),
            ("column", table, "processingStartedAt", TIMESTAMP, True, None),
            ("column", table, "processingCompletedAt", TIMESTAMP, True, None),
            ("index", table, f"{table}_status_updatedAt_idx", ("status", "updatedAt"), False),
        )
    ),
    ("column", "boxes", "runStartedAt", TIMESTAMP, True, None),
    ("column", "boxes", "hoursCharged", "integer", False, "0"),
    ("column", "boxes", "tokenHash", "text", True, None),
}

# 0015: agent sessions read back from their provider: each activity stored once, the last read.
AGENT_SYNC: set[Fact] = {
    ("column", "external_agent_sessions", "syncedAt", TIMESTAMP, True, None),
    (
        "index",
        "agent_session_activities",
        "agent_session_activities_sessionId_externalId_key",
        ("sessionId", "externalId"),
        True,
    ),
}

EXTENSIONS: set[Fact] = (
    ALEMBIC
    | FK_INDEXES
    | JOB_COLUMNS
    | API_KEY_NOTIFY
    | KEYSET_INDEXES
    | USER_LIST_INDEXES
    | FULFILMENT_JOBS
    | AD_CAMPAIGNS
    | ADMIN_AUDIT_EVENTS
    | AUDIO_MIXDOWNS
    | CONSOLE_LIST_INDEXES
    | BOX_RUNTIME
    | AGENT_SYNC
)

# What a database migrated to head holds, fact by fact.
EXPECTED: set[Fact] = contract_facts(load()) | EXTENSIONS
