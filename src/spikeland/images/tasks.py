"""``images.enhance``: the four stages of one enhancement job, run by the job runner.

ANALYZING → CROPPING (when the pipeline's autoCropConfig asks) → PROMPTING → GENERATING, each
recorded in ``currentStage`` (with what the stage produced) before it runs; then the output is
stored and the job COMPLETED with its size. The pipeline's four configs are applied as stored on
the job's pipeline (the system defaults when it has none, or it was deleted). Failures raise: the
runner retries them with backoff, or — for ``PermanentFailure`` — ends the job (refunding it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from spikeland.db.enums import EnhancementTier
from spikeland.images.models import EnhancedImage, EnhancementPipeline, ImageEnhancementJob, PipelineStage
from spikeland.images.queue import EnhancementQueue
from spikeland.integrations.imaging import Imaging, ImagingFatal
from spikeland.integrations.imaging.config import (
    AnalysisConfig,
    AutoCropConfig,
    GenerationConfig,
    PromptConfig,
)
from spikeland.integrations.storage import ObjectNotFound, Storage, enhanced_key
from spikeland.settings import Settings
from spikeland.worker.runner import Claimed, LeaseLost, PermanentFailure, Queue


@dataclass(frozen=True)
class Configs:
    analysis: AnalysisConfig
    auto_crop: AutoCropConfig
    prompt: PromptConfig
    generation: GenerationConfig


def configs_of(pipeline: EnhancementPipeline | None) -> Configs:
    """A pipeline's configs, defaults for what it leaves out (or for no pipeline)."""

    def load(model: type[Any], stored: Any) -> Any:
        return model.model_validate(stored or {})

    try:
        return Configs(
            analysis=load(AnalysisConfig, pipeline and pipeline.analysis_config),
            auto_crop=load(AutoCropConfig, pipeline and pipeline.auto_crop_config),
            prompt=load(PromptConfig, pipeline and pipeline.prompt_config),
            generation=load(GenerationConfig, pipeline and pipeline.generation_config),
        )
    except ValidationError as exc:  # written before validation existed (an adopted database)
        raise PermanentFailure(
            f"The pipeline's configuration is not valid: {exc.error_count()} errors"
        ) from exc


@dataclass(frozen=True)
class _Work:
    job: ImageEnhancementJob
    image: EnhancedImage
    blend_key: str | None
    configs: Configs


async def _load(queue: EnhancementQueue, job_id: str) -> _Work:
    async with queue.sessionmaker() as session:
        row = (
            await session.execute(
                select(ImageEnhancementJob, EnhancedImage)
                .join(EnhancedImage, EnhancedImage.id == ImageEnhancementJob.image_id)
                .where(ImageEnhancementJob.id == job_id)
            )
        ).one_or_none()
        if row is None:
            raise LeaseLost(job_id)  # deleted with its image meanwhile
        job, image = row
        pipeline = await session.get(EnhancementPipeline, job.pipeline_id) if job.pipeline_id else None
        blend_key = None
        if job.source_image_id is not None:
            blend_key = await session.scalar(
                select(EnhancedImage.original_r2_key).where(EnhancedImage.id == job.source_image_id)
            )
    return _Work(job, image, blend_key, configs_of(pipeline))


async def _read(storage: Storage, key: str) -> bytes:
    try:
        return await storage.get(key)
    except ObjectNotFound as exc:
        raise PermanentFailure("The original image file is missing.") from exc


def enhancement_processor(storage: Storage, imaging: Imaging, settings: Settings) -> Any:
    """The runner's processor for image enhancement jobs, with its adapters bound."""

    async def enhance(queue: EnhancementQueue, claimed: Claimed) -> None:
        try:
            await _enhance(queue, claimed, storage, imaging, settings)
        except ImagingFatal as exc:
            raise PermanentFailure(str(exc)) from exc

    return enhance


async def _enhance(
    queue: EnhancementQueue, claimed: Claimed, storage: Storage, imaging: Imaging, settings: Settings
) -> None:
    work = await _load(queue, claimed.id)
    job, configs = work.job, work.configs
    original = await _read(storage, work.image.original_r2_key)
    blend = await _read(storage, work.blend_key) if work.blend_key else None

    await queue.stage(claimed, PipelineStage.ANALYZING)
    analysis = await imaging.analyse(original, configs.analysis)
    recorded: dict[str, Any] = {"analysisResult": analysis.as_json(), "analysisSource": analysis.source}

    source = original
    if configs.auto_crop.enabled:
        await queue.stage(claimed, PipelineStage.CROPPING, **recorded)
        recorded = {}
        cropped = await imaging.crop(original, analysis, configs.auto_crop)
        if cropped is not None:
            source = cropped.image
            recorded = {"wasCropped": True, "cropDimensions": cropped.box.as_json()}

    await queue.stage(claimed, PipelineStage.PROMPTING, **recorded)
    prompt = imaging.prompt(analysis, configs.prompt, blend=blend is not None)

    await queue.stage(claimed, PipelineStage.GENERATING, geminiPrompt=prompt)
    generated = await imaging.generate(
        source, prompt, EnhancementTier(job.tier), configs.generation, analysis, blend_source=blend
    )
    key = enhanced_key(job.user_id, job.id)
    await storage.put(key, generated.image, "image/jpeg")
    await queue.complete(
        claimed,
        enhancedUrl=f"{settings.public_url.rstrip('/')}/api/v1/jobs/{job.id}/download",
        enhancedR2Key=key,
        enhancedWidth=generated.width,
        enhancedHeight=generated.height,
        enhancedSizeBytes=len(generated.image),
        geminiModel=generated.model,
        geminiTemp=generated.temperature,
    )


def image_queues(
    engine: Any, sessionmaker: Any, storage: Storage, imaging: Imaging, settings: Settings
) -> list[Queue]:
    """The queues of this domain, for the runner."""
    processor = enhancement_processor(storage, imaging, settings)
    return [EnhancementQueue(engine, sessionmaker, processor, retry_base=settings.job_retry_base_seconds)]
