"""Images tables of the specification: enhanced_images, image_enhancement_jobs, enhancement_pipelines."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index
from sqlalchemy.orm import Mapped, mapped_column

from spikeland.db.base import (
    Base,
    Json,
    enum_default,
    fk,
    id_column,
    now_default,
    pg_enum,
    server_default,
    updated_at,
)
from spikeland.db.enums import EnhancementTier, JobStatus


class PipelineStage(StrEnum):
    ANALYZING = "ANALYZING"  # Image analysis with vision model
    CROPPING = "CROPPING"  # Auto-crop based on analysis
    PROMPTING = "PROMPTING"  # Build dynamic enhancement prompt
    GENERATING = "GENERATING"  # Gemini API image generation


class PipelineVisibility(StrEnum):
    PRIVATE = "PRIVATE"  # Only owner can use
    PUBLIC = "PUBLIC"  # Anyone can use/fork
    LINK = "LINK"  # Accessible via share token


class EnhancedImage(Base):
    __tablename__ = "enhanced_images"
    __table_args__ = (
        Index(None, "shareToken", unique=True),
        Index(None, "userId", "createdAt"),
        Index(None, "isPublic", "createdAt"),
        Index(None, "shareToken"),
        Index(None, "isPublic", "createdAt", "id"),  # keyset order, migration 0007
        Index(None, "userId", "createdAt", "id"),  # keyset order, migration 0007
        Index(None, "createdAt", "id"),  # every image newest first (the console), migration 0013
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    name: Mapped[str] = mapped_column("name")
    description: Mapped[str | None] = mapped_column("description")
    original_url: Mapped[str] = mapped_column("originalUrl")
    original_r2_key: Mapped[str] = mapped_column("originalR2Key")
    original_width: Mapped[int] = mapped_column("originalWidth")
    original_height: Mapped[int] = mapped_column("originalHeight")
    original_size_bytes: Mapped[int] = mapped_column("originalSizeBytes")
    original_format: Mapped[str] = mapped_column("originalFormat")
    is_public: Mapped[bool] = mapped_column("isPublic", server_default=server_default(False))
    view_count: Mapped[int] = mapped_column("viewCount", server_default=server_default(0))
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
    share_token: Mapped[str | None] = mapped_column("shareToken")


class ImageEnhancementJob(Base):
    __tablename__ = "image_enhancement_jobs"
    __table_args__ = (
        Index(None, "userId", "status", "createdAt"),
        Index(None, "imageId"),
        Index(None, "status", "updatedAt"),
        Index(None, "workflowRunId"),
        Index(None, "pipelineId"),
        Index(None, "status", "currentStage"),
        Index(None, "sourceImageId"),  # FK index, migration 0002
        Index(None, "imageId", "status", "createdAt", "id"),  # latest enhancement, migration 0007
        Index(None, "createdAt", "id"),  # every job newest first (admin lists), migration 0013
    )

    id: Mapped[str] = id_column()
    image_id: Mapped[str] = mapped_column("imageId", fk("enhanced_images.id", "CASCADE"))
    user_id: Mapped[str] = mapped_column("userId", fk("users.id", "CASCADE"))
    tier: Mapped[EnhancementTier] = mapped_column("tier", pg_enum(EnhancementTier))
    tokens_cost: Mapped[int] = mapped_column("tokensCost")
    status: Mapped[JobStatus] = mapped_column("status", pg_enum(JobStatus))
    current_stage: Mapped[PipelineStage | None] = mapped_column("currentStage", pg_enum(PipelineStage))
    enhanced_url: Mapped[str | None] = mapped_column("enhancedUrl")
    enhanced_r2_key: Mapped[str | None] = mapped_column("enhancedR2Key")
    enhanced_width: Mapped[int | None] = mapped_column("enhancedWidth")
    enhanced_height: Mapped[int | None] = mapped_column("enhancedHeight")
    enhanced_size_bytes: Mapped[int | None] = mapped_column("enhancedSizeBytes")
    error_message: Mapped[str | None] = mapped_column("errorMessage")
    retry_count: Mapped[int] = mapped_column("retryCount", server_default=server_default(0))
    max_retries: Mapped[int] = mapped_column("maxRetries", server_default=server_default(3))
    gemini_prompt: Mapped[str | None] = mapped_column("geminiPrompt")
    gemini_model: Mapped[str | None] = mapped_column("geminiModel")
    gemini_temp: Mapped[float | None] = mapped_column("geminiTemp")
    processing_started_at: Mapped[datetime | None] = mapped_column("processingStartedAt")
    processing_completed_at: Mapped[datetime | None] = mapped_column("processingCompletedAt")
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
    workflow_run_id: Mapped[str | None] = mapped_column("workflowRunId")
    analysis_result: Mapped[Any] = mapped_column("analysisResult", Json, nullable=True)
    analysis_source: Mapped[str | None] = mapped_column("analysisSource")
    was_cropped: Mapped[bool] = mapped_column("wasCropped", server_default=server_default(False))
    crop_dimensions: Mapped[Any] = mapped_column("cropDimensions", Json, nullable=True)
    pipeline_id: Mapped[str | None] = mapped_column(
        "pipelineId",
        fk("enhancement_pipelines.id", "SET NULL"),
    )
    source_image_id: Mapped[str | None] = mapped_column(
        "sourceImageId",
        fk("enhanced_images.id", "SET NULL"),
    )
    is_blend: Mapped[bool] = mapped_column("isBlend", server_default=server_default(False))
    is_anonymous: Mapped[bool] = mapped_column("isAnonymous", server_default=server_default(False))
    # Beyond the spec (migration 0003): a PENDING job is not claimed before this (retry backoff).
    run_after: Mapped[datetime | None] = mapped_column("runAfter")


class EnhancementPipeline(Base):
    __tablename__ = "enhancement_pipelines"
    __table_args__ = (
        Index(None, "shareToken", unique=True),
        Index(None, "userId"),
        Index(None, "visibility"),
    )

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column("name")
    description: Mapped[str | None] = mapped_column("description")
    user_id: Mapped[str | None] = mapped_column("userId", fk("users.id", "CASCADE"))
    visibility: Mapped[PipelineVisibility] = mapped_column(
        "visibility",
        pg_enum(PipelineVisibility),
        server_default=enum_default(PipelineVisibility.PRIVATE),
    )
    share_token: Mapped[str | None] = mapped_column("shareToken")
    tier: Mapped[EnhancementTier] = mapped_column(
        "tier",
        pg_enum(EnhancementTier),
        server_default=enum_default(EnhancementTier.TIER_1K),
    )
    analysis_config: Mapped[Any] = mapped_column("analysisConfig", Json, nullable=True)
    auto_crop_config: Mapped[Any] = mapped_column("autoCropConfig", Json, nullable=True)
    prompt_config: Mapped[Any] = mapped_column("promptConfig", Json, nullable=True)
    generation_config: Mapped[Any] = mapped_column("generationConfig", Json, nullable=True)
    usage_count: Mapped[int] = mapped_column("usageCount", server_default=server_default(0))
    created_at: Mapped[datetime] = now_default()
    updated_at: Mapped[datetime] = updated_at()
