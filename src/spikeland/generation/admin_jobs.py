"""Generation jobs for admins: listing, timings, cancel and stuck/slow jobs are the runner's
(``worker.job_admin``); this module adds the rerun rule, the enhancements' one (``images.admin_jobs``):
**free** after a failure (FAILED or REFUNDED), **charged to the owner** after a cancel (402 when
short; the three-unfinished limit applies), never for a COMPLETED job (409). The new job keeps the
type, tier, prompt and input image (the same stored file).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.db.enums import JobStatus
from spikeland.generation.models import McpGenerationJob
from spikeland.generation.queue import notify_new_jobs, refund
from spikeland.generation.service import GenerationJobNotFound, InputImage, create_job
from spikeland.integrations.storage import Storage
from spikeland.worker import job_admin

MODEL = McpGenerationJob


async def get(session: AsyncSession, job_id: str) -> McpGenerationJob:
    job = await session.get(McpGenerationJob, job_id)
    if job is None:
        raise GenerationJobNotFound()
    return job


async def cancel(session: AsyncSession, job_id: str) -> McpGenerationJob:
    ended: McpGenerationJob = await job_admin.cancel(session, MODEL, await get(session, job_id), refund)
    return ended


async def rerun(session: AsyncSession, storage: Storage, job_id: str) -> tuple[McpGenerationJob, bool]:
    """The new job and whether it is free; asked again, the same job (``job_admin.rerun_id``)."""
    job = await job_admin.locked(session, MODEL, job_id)
    if job is None:
        raise GenerationJobNotFound()
    made: McpGenerationJob | None = await session.get(MODEL, job_admin.rerun_id(job.id))
    if made is not None:
        return made, made.tokens_cost == 0
    if job.status in job_admin.FAILED:
        free = McpGenerationJob(
            id=job_admin.rerun_id(job.id),
            user_id=job.user_id,
            api_key_id=job.api_key_id,
            type=job.type,
            tier=job.tier,
            tokens_cost=0,
            status=JobStatus.PENDING,
            prompt=job.prompt,
            input_image_url=job.input_image_url,
            input_image_r2_key=job.input_image_r2_key,
            max_retries=job.max_retries,
        )
        session.add(free)
        await session.flush()
        await notify_new_jobs(session)
        return free, True
    if job.status == JobStatus.CANCELLED:
        source = (
            InputImage(key=job.input_image_r2_key, url=job.input_image_url or "", upload=None)
            if job.input_image_r2_key
            else None
        )
        queued = await create_job(
            session,
            storage,
            job.user_id,
            type_=job.type,
            prompt=job.prompt,
            tier=job.tier,
            api_key_id=job.api_key_id,
            source=source,
            job_id=job_admin.rerun_id(job.id),
        )
        return queued.job, False
    raise job_admin.NotRerunnable(job.status)
