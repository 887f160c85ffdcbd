"""Generation tables of the specification: mcp_generation_jobs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from spikeland.db.base import Base, fk, id_column, now_default, pg_enum, server_default, updated_at
from spikeland.db.enums import EnhancementTier, JobStatus


class McpJobType(StrEnum):
    GENERATE = "GENERATE"  # Text-to-image generation
    MODIFY = "MODIFY"  # Image-to-image modification


class McpGenerationJob(Base):
    __tablename__ = "mcp_generation_jobs"
    __table_args__ = (
        Index(None, "userId", "status", "createdAt"),
        Index(None, "apiKeyId"),
        Index(None, "status", "updatedAt"),
        Index(None, "createdAt", "id"),  # every job newest first (admin lists), migration 0013
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    api_key_id: Mapped[str | None] = mapped_column("apiKeyId", fk("api_keys.id", "SET NULL"))
    type: Mapped[McpJobType] = mapped_column("type", pg_enum(McpJobType))
    tier: Mapped[EnhancementTier] = mapped_column("tier", pg_enum(EnhancementTier))
    tokens_cost: Mapped[int] = mapped_column("tokensCost")
    status: Mapped[JobStatus] = mapped_column("status", pg_enum(JobStatus))
    prompt: Mapped[str] = mapped_column("prompt")
    input_image_url: Mapped[str | None] = mapped_column("inputImageUrl")
    input_image_r2_key: Mapped[str | None] = mapped_column("inputImageR2Key")
    output_image_url: Mapped[str | None] = mapped_column("outputImageUrl")
    output_image_r2_key: Mapped[str | None] = mapped_column("outputImageR2Key")
    output_width: Mapped[int | None] = mapped_column("outputWidth")
    output_height: Mapped[int | None] = mapped_column("outputHeight")
    output_size_bytes: Mapped[int | None] = mapped_column("outputSizeBytes")
    error_message: Mapped[str | None] = mapped_column("errorMessage")
    gemini_model: Mapped[str | None] = mapped_column("geminiModel")
    processing_started_at: Mapped[datetime | None] = mapped_column("processingStartedAt")
    processing_completed_at: Mapped[datetime | None] = mapped_column("processingCompletedAt")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
    # Beyond the spec (migration 0004): the job runner's attempt fence, retry limit and backoff.
    retry_count: Mapped[int] = mapped_column("retryCount", server_default=server_default(0))
    max_retries: Mapped[int] = mapped_column("maxRetries", server_default=server_default(3))
    run_after: Mapped[datetime | None] = mapped_column("runAfter")
