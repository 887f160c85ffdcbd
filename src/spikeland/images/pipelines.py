"""Enhancement pipelines: who may see and use one, the per-user limit, forks, and what a job runs with.

A pipeline is seen (and used) by its owner; system pipelines (no owner) and PUBLIC ones by everyone;
LINK ones by whoever has the share token. Anyone else gets 404, not 403, so an id reveals nothing.
Only the owner changes or deletes a pipeline; system pipelines are the operator's (seeded).

Configs are stored as sent (camelCase, validated by the config models); what a config leaves out,
or a config left out entirely (NULL), follows the system default when a job runs.
"""

from __future__ import annotations

import copy
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import ColumnElement, false, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.errors import Conflict, NotFound, TooManyRequests, ValidationFailed
from spikeland.core.pagination import Page, newest_first
from spikeland.db.enums import EnhancementTier
from spikeland.db.locks import SEED_LOCK_KEY
from spikeland.identity.models import User
from spikeland.images import hooks
from spikeland.images.models import EnhancementPipeline, PipelineVisibility
from spikeland.images.pipeline_schemas import NAME_MAX, PipelineCreate, PipelineUpdate
from spikeland.images.presets import SYSTEM_PIPELINES
from spikeland.integrations.imaging.config import (
    DEFAULT_ANALYSIS,
    DEFAULT_AUTO_CROP,
    DEFAULT_GENERATION,
    DEFAULT_PROMPT,
    AnalysisConfig,
    AutoCropConfig,
    GenerationConfig,
    PromptConfig,
)

MAX_PER_USER = 50
COPY_SUFFIX = " (copy)"
CONFIG_FIELDS = ("analysis_config", "auto_crop_config", "prompt_config", "generation_config")


class PipelineNotFound(NotFound):
    code = "pipeline_not_found"


class PipelineLimit(TooManyRequests):
    code = "pipeline_limit"


class PipelineInUse(Conflict):
    code = "pipeline_in_use"


@dataclass(frozen=True)
class ResolvedPipeline:
    """What a job runs with: the four configs with the defaults filled in, and the default tier."""

    pipeline_id: str | None
    tier: EnhancementTier
    analysis: AnalysisConfig
    auto_crop: AutoCropConfig
    prompt: PromptConfig
    generation: GenerationConfig


def _stored(config: BaseModel | None) -> dict[str, Any] | None:
    return None if config is None else config.model_dump(mode="json", by_alias=True, exclude_unset=True)


def _new_token() -> str:
    return secrets.token_urlsafe(16)


def _token_matches(pipeline: EnhancementPipeline, token: str | None) -> bool:
    if not token or not pipeline.share_token:
        return False
    return hmac.compare_digest(token.encode(), pipeline.share_token.encode())


def can_use(pipeline: EnhancementPipeline, user_id: str | None, token: str | None = None) -> bool:
    """May this user (None: anonymous) see, fork and run the pipeline?"""
    if pipeline.user_id is None or pipeline.visibility == PipelineVisibility.PUBLIC:
        return True
    if user_id is not None and pipeline.user_id == user_id:
        return True
    return pipeline.visibility == PipelineVisibility.LINK and _token_matches(pipeline, token)


def _listed(user_id: str | None) -> ColumnElement[bool]:
    owned = EnhancementPipeline.user_id == user_id if user_id is not None else false()
    return or_(
        owned,
        EnhancementPipeline.user_id.is_(None),
        EnhancementPipeline.visibility == PipelineVisibility.PUBLIC,
    )


async def list_pipelines(
    session: AsyncSession, user_id: str | None, *, limit: int = 50, cursor: str | None = None
) -> Page[EnhancementPipeline]:
    """The user's own, the PUBLIC and the system pipelines, newest first (LINK ones only to owners)."""
    statement = select(EnhancementPipeline).where(_listed(user_id))
    return await newest_first(
        session, statement, EnhancementPipeline.created_at, EnhancementPipeline.id, limit=limit, cursor=cursor
    )


async def get_pipeline(
    session: AsyncSession, pipeline_id: str, user_id: str | None, token: str | None = None
) -> EnhancementPipeline:
    pipeline = await session.get(EnhancementPipeline, pipeline_id)
    if pipeline is None or not can_use(pipeline, user_id, token):
        raise PipelineNotFound("No such pipeline.")
    return pipeline


async def _owned(session: AsyncSession, pipeline_id: str, user_id: str) -> EnhancementPipeline:
    """The user's own pipeline, locked for the change (system and others' pipelines: 404)."""
    statement = (
        select(EnhancementPipeline)
        .where(EnhancementPipeline.id == pipeline_id, EnhancementPipeline.user_id == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    pipeline = (await session.scalars(statement)).one_or_none()
    if pipeline is None:
        raise PipelineNotFound("No such pipeline.")
    return pipeline


async def _reserve_slot(session: AsyncSession, user_id: str) -> None:
    """Refuse the 51st pipeline. The user row's lock makes concurrent creates count one at a time."""
    locked = await session.scalar(select(User.id).where(User.id == user_id).with_for_update())
    if locked is None:
        raise NotFound("No such user.", code="user_not_found")
    owned = (
        select(func.count()).select_from(EnhancementPipeline).where(EnhancementPipeline.user_id == user_id)
    )
    if (await session.scalar(owned) or 0) >= MAX_PER_USER:
        raise PipelineLimit(
            f"Pipeline limit reached: at most {MAX_PER_USER} pipelines per user.",
            details={"limit": MAX_PER_USER},
        )


async def create_pipeline(session: AsyncSession, user_id: str, data: PipelineCreate) -> EnhancementPipeline:
    await _reserve_slot(session, user_id)
    pipeline = EnhancementPipeline(
        name=data.name,
        description=data.description or None,
        user_id=user_id,
        visibility=data.visibility,
        share_token=_new_token() if data.visibility == PipelineVisibility.LINK else None,
        tier=data.tier,
        analysis_config=_stored(data.analysis_config),
        auto_crop_config=_stored(data.auto_crop_config),
        prompt_config=_stored(data.prompt_config),
        generation_config=_stored(data.generation_config),
    )
    session.add(pipeline)
    await session.flush()
    await session.refresh(pipeline)  # server defaults: usageCount, createdAt
    return pipeline


async def update_pipeline(
    session: AsyncSession, pipeline_id: str, user_id: str, data: PipelineUpdate
) -> EnhancementPipeline:
    """Change what was sent. Switching to LINK makes a token if there is none; switching away keeps it
    (it grants nothing unless the pipeline is LINK again)."""
    pipeline = await _owned(session, pipeline_id, user_id)
    sent = data.model_fields_set
    if "name" in sent and data.name is not None:
        pipeline.name = data.name
    if "description" in sent:
        pipeline.description = data.description or None
    if "tier" in sent and data.tier is not None:
        pipeline.tier = data.tier
    if "visibility" in sent and data.visibility is not None:
        pipeline.visibility = data.visibility
        if data.visibility == PipelineVisibility.LINK and pipeline.share_token is None:
            pipeline.share_token = _new_token()
    for field in CONFIG_FIELDS:
        if field in sent:
            setattr(pipeline, field, _stored(getattr(data, field)))
    await session.flush()
    await session.refresh(pipeline)
    return pipeline


async def delete_pipeline(session: AsyncSession, pipeline_id: str, user_id: str) -> None:
    """Delete, unless an album uses it (its jobs keep their history: pipelineId becomes NULL)."""
    pipeline = await _owned(session, pipeline_id, user_id)
    # The row lock above conflicts with the key-share lock an album update pointing here takes, so
    # an album cannot start using the pipeline between this check and the delete. Asked through a
    # hook: the gallery (which builds on images) registers the album check.
    if await hooks.pipeline_in_use(session, pipeline.id):
        raise PipelineInUse("An album uses this pipeline; change the album's pipeline first.")
    await session.delete(pipeline)
    await session.flush()


def _copy_name(name: str) -> str:
    return name[: NAME_MAX - len(COPY_SUFFIX)].rstrip() + COPY_SUFFIX


async def fork_pipeline(
    session: AsyncSession,
    pipeline_id: str,
    user_id: str,
    *,
    name: str | None = None,
    token: str | None = None,
) -> EnhancementPipeline:
    """A PRIVATE copy (configs, tier, description) owned by the user; counts toward their limit."""
    source = await get_pipeline(session, pipeline_id, user_id, token)
    await _reserve_slot(session, user_id)
    fork = EnhancementPipeline(
        name=name or _copy_name(source.name),
        description=source.description,
        user_id=user_id,
        visibility=PipelineVisibility.PRIVATE,
        share_token=None,
        tier=source.tier,
        analysis_config=source.analysis_config,
        auto_crop_config=source.auto_crop_config,
        prompt_config=source.prompt_config,
        generation_config=source.generation_config,
    )
    session.add(fork)
    await session.flush()
    await session.refresh(fork)
    return fork


async def resolve_for_job(
    session: AsyncSession, pipeline_id: str | None, user_id: str, token: str | None = None
) -> ResolvedPipeline:
    """The configs a job of this user runs with (no pipeline: the system defaults at TIER_1K).

    NotFound when the user may not use the pipeline; ValidationFailed when its stored configs are
    not valid (written outside the API, e.g. an adopted database).
    """
    if pipeline_id is None:
        return ResolvedPipeline(
            None,
            EnhancementTier.TIER_1K,
            DEFAULT_ANALYSIS,
            DEFAULT_AUTO_CROP,
            DEFAULT_PROMPT,
            DEFAULT_GENERATION,
        )
    pipeline = await get_pipeline(session, pipeline_id, user_id, token)
    try:
        return ResolvedPipeline(
            pipeline.id,
            pipeline.tier,
            AnalysisConfig.model_validate(pipeline.analysis_config or {}),
            AutoCropConfig.model_validate(pipeline.auto_crop_config or {}),
            PromptConfig.model_validate(pipeline.prompt_config or {}),
            GenerationConfig.model_validate(pipeline.generation_config or {}),
        )
    except ValidationError as exc:
        raise ValidationFailed(
            "The pipeline's stored configuration is not valid.",
            code="invalid_pipeline_config",
            details={"errors": exc.error_count()},
        ) from None


async def count_use(session: AsyncSession, pipeline_id: str) -> None:
    """One more use, as a single atomic UPDATE (concurrent jobs never lose a count)."""
    statement = (
        update(EnhancementPipeline)
        .where(EnhancementPipeline.id == pipeline_id)
        # updatedAt stays: it dates the last edit of the pipeline, and a use is not an edit.
        .values(usage_count=EnhancementPipeline.usage_count + 1, updated_at=EnhancementPipeline.updated_at)
        .execution_options(synchronize_session=False)
    )
    await session.execute(statement)


# ----------------------------------------------------------------------------- system pipelines


def system_pipelines() -> list[dict[str, Any]]:
    """The system presets as ``EnhancementPipeline`` fields, each config checked by its model.

    The presets are images' reference data, which ``spikeland.seed`` seeds (one list, so the two
    cannot drift).
    """
    rows = []
    for preset in SYSTEM_PIPELINES:
        for model, config in (
            (AnalysisConfig, preset.analysis_config),
            (AutoCropConfig, preset.auto_crop_config),
            (PromptConfig, preset.prompt_config),
            (GenerationConfig, preset.generation_config),
        ):
            model.model_validate(config)
        fields = copy.deepcopy(preset._asdict())  # presets share config dicts; rows must not
        rows.append({**fields, "user_id": None, "visibility": PipelineVisibility.PUBLIC})
    return rows


async def seed_system_pipelines(session: AsyncSession) -> int:
    """Insert the system presets missing by name; returns how many were inserted. Flushes only."""
    # The seed's lock: names are not unique, so two seeders at once must take turns.
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEED_LOCK_KEY})
    existing = set(
        await session.scalars(select(EnhancementPipeline.name).where(EnhancementPipeline.user_id.is_(None)))
    )
    missing = [row for row in system_pipelines() if row["name"] not in existing]
    session.add_all(EnhancementPipeline(**row) for row in missing)
    await session.flush()
    return len(missing)
