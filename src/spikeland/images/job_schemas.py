"""Wire schemas of enhancement jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from spikeland.core.schemas import RequestSchema, Schema
from spikeland.db.enums import EnhancementTier, JobStatus
from spikeland.images.models import PipelineStage


class EnhanceRequest(RequestSchema):
    tier: EnhancementTier
    pipeline_id: str | None = Field(default=None, max_length=64)
    source_image_id: str | None = Field(default=None, max_length=64, description="Blend with this image.")


class BatchEnhanceRequest(RequestSchema):
    image_ids: list[str] = Field(min_length=1, max_length=20)
    tier: EnhancementTier
    pipeline_id: str | None = Field(default=None, max_length=64)


class AnonymousEnhanceRequest(RequestSchema):
    share_token: str = Field(min_length=1, max_length=200, description="Returned by the anonymous upload.")


class Job(Schema):
    id: str
    image_id: str
    status: JobStatus
    current_stage: PipelineStage | None
    tier: EnhancementTier
    tokens_cost: int
    enhanced_url: str | None
    enhanced_width: int | None
    enhanced_height: int | None
    enhanced_size_bytes: int | None
    error_message: str | None
    retry_count: int
    max_retries: int
    pipeline_id: str | None
    source_image_id: str | None
    is_blend: bool
    is_anonymous: bool
    was_cropped: bool
    crop_dimensions: dict[str, Any] | None
    analysis_result: dict[str, Any] | None
    analysis_source: str | None
    gemini_prompt: str | None
    gemini_model: str | None
    gemini_temp: float | None
    processing_started_at: datetime | None
    processing_completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Enhancement(Schema):
    job: Job
    balance: int


class BatchEnhancement(Schema):
    jobs: list[Job]
    total_cost: int
    balance: int


class JobList(Schema):
    items: list[Job]
