"""Wire schemas of generation jobs."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, model_validator

from spikeland.core.schemas import RequestSchema, Schema
from spikeland.db.enums import EnhancementTier, JobStatus
from spikeland.generation.models import McpJobType

Prompt = Field(min_length=1, max_length=4000, description="What to make (or change).")


class GenerateRequest(RequestSchema):
    prompt: str = Prompt
    tier: EnhancementTier = EnhancementTier.TIER_1K


class ModifyRequest(RequestSchema):
    """The image to change: one of the caller's images (``imageId``) or one sent inline (base64)."""

    prompt: str = Prompt
    tier: EnhancementTier = EnhancementTier.TIER_1K
    image_id: str | None = Field(default=None, max_length=64)
    image_base64: str | None = Field(default=None, description="A JPEG, PNG or WebP file, base64-encoded.")

    @model_validator(mode="after")
    def _one_image(self) -> ModifyRequest:
        if (self.image_id is None) == (self.image_base64 is None):
            raise ValueError("give exactly one of imageId and imageBase64")
        return self


class GenerationJob(Schema):
    id: str
    type: McpJobType
    tier: EnhancementTier
    tokens_cost: int
    status: JobStatus
    prompt: str
    input_image_url: str | None
    output_image_url: str | None
    output_width: int | None
    output_height: int | None
    output_size_bytes: int | None
    error_message: str | None
    gemini_model: str | None
    retry_count: int
    max_retries: int
    api_key_id: str | None
    processing_started_at: datetime | None
    processing_completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Queued(Schema):
    job: GenerationJob
    balance: int


class GenerationPage(Schema):
    items: list[GenerationJob]
    next_cursor: str | None
