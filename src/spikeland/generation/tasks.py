"""``generation.run``: one generation job — render a prompt (GENERATE) or change an image by a
prompt (MODIFY) through the imaging adapter, store the output, complete the job. Failures raise:
the runner retries them with backoff, or — ``PermanentFailure`` — ends the job with its refund."""

from __future__ import annotations

from typing import Any

from spikeland.db.enums import EnhancementTier
from spikeland.generation.models import McpGenerationJob, McpJobType
from spikeland.generation.queue import GenerationQueue
from spikeland.integrations.imaging import Imaging, ImagingFatal
from spikeland.integrations.storage import ObjectNotFound, Storage
from spikeland.settings import Settings
from spikeland.worker.runner import Claimed, LeaseLost, PermanentFailure


def output_key(user_id: str, job_id: str) -> str:
    return f"users/{user_id}/generated/{job_id}.jpg"


def output_url(public_url: str, job_id: str) -> str:
    return f"{public_url.rstrip('/')}/api/v1/generation/jobs/{job_id}/image"


def generation_processor(storage: Storage, imaging: Imaging, settings: Settings) -> Any:
    async def run(queue: GenerationQueue, claimed: Claimed) -> None:
        async with queue.sessionmaker() as session:
            job = await session.get(McpGenerationJob, claimed.id)
        if job is None:
            raise LeaseLost(claimed.id)  # deleted with its user meanwhile
        tier = EnhancementTier(job.tier)
        try:
            if job.type == McpJobType.MODIFY:
                if job.input_image_r2_key is None:
                    raise PermanentFailure("The job has no input image.")
                try:
                    source = await storage.get(job.input_image_r2_key)
                except ObjectNotFound as exc:
                    raise PermanentFailure("The input image file is missing.") from exc
                result = await imaging.modify(source, job.prompt, tier)
            else:
                result = await imaging.render(job.prompt, tier)
        except ImagingFatal as exc:
            raise PermanentFailure(str(exc)) from exc
        key = output_key(job.user_id, job.id)
        await storage.put(key, result.image, "image/jpeg")
        await queue.complete(
            claimed,
            outputImageUrl=output_url(settings.public_url, job.id),
            outputImageR2Key=key,
            outputWidth=result.width,
            outputHeight=result.height,
            outputSizeBytes=len(result.image),
            geminiModel=result.model,
        )

    return run


def generation_queues(
    engine: Any, sessionmaker: Any, storage: Storage, imaging: Imaging, settings: Settings
) -> list[GenerationQueue]:
    processor = generation_processor(storage, imaging, settings)
    return [GenerationQueue(engine, sessionmaker, processor, retry_base=settings.job_retry_base_seconds)]
