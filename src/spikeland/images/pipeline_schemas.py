"""Wire schemas of enhancement pipelines: create, update, fork, and what a viewer sees."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, ConfigDict, StringConstraints, model_validator

from spikeland.core.schemas import RequestSchema, Schema
from spikeland.db.enums import EnhancementTier
from spikeland.images.models import EnhancementPipeline, PipelineVisibility
from spikeland.integrations.imaging.config import (
    AnalysisConfig,
    AutoCropConfig,
    GenerationConfig,
    PromptConfig,
)

NAME_MAX = 100
DESCRIPTION_MAX = 1000


def _paid(tier: EnhancementTier) -> EnhancementTier:
    if tier == EnhancementTier.FREE:
        raise ValueError("A pipeline's tier is TIER_1K, TIER_2K or TIER_4K.")
    return tier


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=DESCRIPTION_MAX)]
PaidTier = Annotated[EnhancementTier, AfterValidator(_paid)]


class _Body(RequestSchema):
    model_config = ConfigDict(extra="forbid")


class PipelineCreate(_Body):
    """A missing config means the system default, resolved when a job runs."""

    name: Name
    description: Description | None = None
    tier: PaidTier = EnhancementTier.TIER_1K
    visibility: PipelineVisibility = PipelineVisibility.PRIVATE
    analysis_config: AnalysisConfig | None = None
    auto_crop_config: AutoCropConfig | None = None
    prompt_config: PromptConfig | None = None
    generation_config: GenerationConfig | None = None


class PipelineUpdate(_Body):
    """Only the fields sent change. ``null`` clears the description or resets a config to the default."""

    name: Name | None = None
    description: Description | None = None
    tier: PaidTier | None = None
    visibility: PipelineVisibility | None = None
    analysis_config: AnalysisConfig | None = None
    auto_crop_config: AutoCropConfig | None = None
    prompt_config: PromptConfig | None = None
    generation_config: GenerationConfig | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> PipelineUpdate:
        for field in ("name", "tier", "visibility"):
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null.")
        return self


class PipelineFork(_Body):
    name: Name | None = None  # default: "<source name> (copy)"


class PipelineOut(Schema):
    id: str
    name: str
    description: str | None
    visibility: PipelineVisibility
    share_token: str | None  # the owner's only; null for everyone else
    tier: EnhancementTier
    analysis_config: dict[str, Any] | None
    auto_crop_config: dict[str, Any] | None
    prompt_config: dict[str, Any] | None
    generation_config: dict[str, Any] | None
    usage_count: int
    created_at: datetime
    updated_at: datetime
    is_owner: bool
    is_system: bool

    @classmethod
    def of(cls, pipeline: EnhancementPipeline, viewer_id: str | None) -> PipelineOut:
        is_owner = viewer_id is not None and pipeline.user_id == viewer_id
        return cls(
            id=pipeline.id,
            name=pipeline.name,
            description=pipeline.description,
            visibility=pipeline.visibility,
            share_token=pipeline.share_token if is_owner else None,
            tier=pipeline.tier,
            analysis_config=pipeline.analysis_config,
            auto_crop_config=pipeline.auto_crop_config,
            prompt_config=pipeline.prompt_config,
            generation_config=pipeline.generation_config,
            usage_count=pipeline.usage_count,
            created_at=pipeline.created_at,
            updated_at=pipeline.updated_at,
            is_owner=is_owner,
            is_system=pipeline.user_id is None,
        )


class PipelinePage(Schema):
    items: list[PipelineOut]
    next_cursor: str | None
