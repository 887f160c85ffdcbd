"""Enhancement jobs for admins: listing, timings, cancel and stuck/slow jobs are the runner's
(``worker.job_admin``); this module adds the rerun rule.

**Rerun** makes a new job for the same image, tier, pipeline and blend source, owned by the same
user. Who pays: a job that **failed** (FAILED or REFUNDED: the platform could not do it, and the
owner was refunded) is rerun **free** (``tokensCost`` 0: no ledger movement); a **cancelled** one is
charged to the owner as a new enhancement (402 when short), since its refund already went back. A
COMPLETED job is not rerun (409 ``job_not_rerunnable``): the owner enhances again if they want.
A job is rerun **once**: its rerun has an id made from its own (``job_admin.rerun_id``), so asking
again — a double click, a retried request — answers that job, never a second one or charge.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.db.enums import JobStatus
from spikeland.images import jobs
from spikeland.images.models import ImageEnhancementJob
from spikeland.images.queue import notify_new_jobs, refund
from spikeland.worker import job_admin

MODEL = ImageEnhancementJob


async def get(session: AsyncSession, job_id: str) -> ImageEnhancementJob:
    job = await session.get(ImageEnhancementJob, job_id)
    if job is None:
        raise jobs.JobNotFound()
    return job


async def cancel(session: AsyncSession, job_id: str) -> ImageEnhancementJob:
    ended: ImageEnhancementJob = await job_admin.cancel(session, MODEL, await get(session, job_id), refund)
    return ended


async def rerun(session: AsyncSession, job_id: str) -> tuple[ImageEnhancementJob, bool]:
    """The new job, and whether it is free (the rule at the top); asked again, the same job."""
    job = await job_admin.locked(session, MODEL, job_id)
    if job is None:
        raise jobs.JobNotFound()
    made: ImageEnhancementJob | None = await session.get(MODEL, job_admin.rerun_id(job.id))
    if made is not None:
        return made, made.tokens_cost == 0
    if job.status in job_admin.FAILED:
        free = ImageEnhancementJob(
            id=job_admin.rerun_id(job.id),
            image_id=job.image_id,
            user_id=job.user_id,
            tier=job.tier,
            tokens_cost=0,
            status=JobStatus.PENDING,
            pipeline_id=job.pipeline_id,
            source_image_id=job.source_image_id,
            is_blend=job.is_blend,
            is_anonymous=job.is_anonymous,
            max_retries=job.max_retries,
        )
        session.add(free)
        await session.flush()
        await notify_new_jobs(session)
        return free, True
    if job.status == JobStatus.CANCELLED:
        request = jobs.Request(job.image_id, job.tier, job.pipeline_id, job.source_image_id)
        queued = await jobs.enhance(session, job.user_id, request, job_id=job_admin.rerun_id(job.id))
        return queued.job, False
    raise job_admin.NotRerunnable(job.status)
