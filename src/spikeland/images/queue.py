"""``image_enhancement_jobs`` as a queue of the job runner (``worker.table_queue``): the four
stages' progress, and ending a job without success — REFUNDED with its REFUND ledger row (or FAILED
when it cost nothing), or CANCELLED by its owner while it waits.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.db.enums import JobStatus
from spikeland.images.models import ImageEnhancementJob, PipelineStage
from spikeland.tokens import service as tokens
from spikeland.worker.runner import Claimed
from spikeland.worker.table_queue import (
    EVENTS_CHANNEL,
    LOST_LEASE,
    TableQueue,
    TableSpec,
    end_paid_job,
    failed_status,
)

__all__ = ["EVENTS_CHANNEL", "LOST_LEASE", "EnhancementQueue", "end_with_refund", "refund"]

JOBS_CHANNEL = "spikeland_image_jobs"  # a job became claimable
REFUND_SOURCE = "enhancement_failed"
# The job runner ends a job through ``worker.table_queue``, which knows no domain: the refund
# of what the job cost is this domain's to name.
refund = functools.partial(tokens.refund_job, source=REFUND_SOURCE)


async def notify_new_jobs(session: AsyncSession) -> None:
    """Wake the workers when the session's transaction commits (new PENDING jobs)."""
    await session.execute(select(func.pg_notify(JOBS_CHANNEL, "")))


class EnhancementQueue(TableQueue):
    name = "images.enhance"
    spec = TableSpec(
        table="image_enhancement_jobs",
        jobs_channel=JOBS_CHANNEL,
        stage_column="currentStage",
        columns={
            "currentStage": '::"PipelineStage"',
            "analysisResult": "::jsonb",
            "analysisSource": "",
            "wasCropped": "",
            "cropDimensions": "::jsonb",
            "geminiPrompt": "",
            "geminiModel": "",
            "geminiTemp": "",
            "enhancedUrl": "",
            "enhancedR2Key": "",
            "enhancedWidth": "",
            "enhancedHeight": "",
            "enhancedSizeBytes": "",
            "processingCompletedAt": "",
            "errorMessage": "",
        },
    )

    async def stage(self, job: Claimed, stage: PipelineStage, **columns: Any) -> None:
        await self.record(job, currentStage=stage.value, **columns)

    async def end(self, session: AsyncSession, job_id: str, error: str, *, fence: int) -> bool:
        return await end_with_refund(session, job_id, error, fence=fence) is not None


async def end_with_refund(
    session: AsyncSession,
    job_id: str,
    error: str | None,
    *,
    fence: int | None = None,
    cancel: bool = False,
) -> ImageEnhancementJob | None:
    """End a job that will not complete, refunding its tokens once; None when it was not endable.

    ``cancel``: a PENDING job the owner cancels (CANCELLED). Otherwise a PROCESSING job on attempt
    ``fence`` that failed for good (REFUNDED, or FAILED when it cost nothing).
    """
    table = ImageEnhancementJob
    values: dict[str, Any] = {"current_stage": None}
    if cancel:
        values["status"] = JobStatus.CANCELLED
    else:
        values |= {
            "status": failed_status(table),
            "error_message": error,
            "processing_completed_at": utcnow(),
        }
    job: ImageEnhancementJob | None = await end_paid_job(
        session,
        table,
        job_id,
        fence=None if cancel else fence,
        values=values,
        on_end=refund,
        reason="cancelled" if cancel else (error or "failed"),
    )
    return job
