"""``image_enhancement_jobs`` as a queue of the job runner (``worker.table_queue``): the four
stages' progress, and ending a job without success — REFUNDED with its REFUND ledger row (or FAILED
when it cost nothing), or CANCELLED by its owner while it waits.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.db.enums import JobStatus
from spikeland.images.models import ImageEnhancementJob, PipelineStage
from spikeland.tokens import service as tokens
from spikeland.worker.runner import Claimed
from spikeland.worker.table_queue import EVENTS_CHANNEL, LOST_LEASE, TableQueue, TableSpec

__all__ = ["EVENTS_CHANNEL", "LOST_LEASE", "EnhancementQueue", "end_with_refund"]

JOBS_CHANNEL = "spikeland_image_jobs"  # a job became claimable
REFUND_SOURCE = "enhancement_failed"


async def notify_job(session: AsyncSession, job: ImageEnhancementJob) -> None:
    """NOTIFY the progress stream from a session's transaction (sent when it commits)."""
    payload = f"{job.id} {job.status.value} {job.current_stage.value if job.current_stage else ''}"
    await session.execute(select(func.pg_notify(EVENTS_CHANNEL, payload)))


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
    ``fence`` that failed for good (REFUNDED, or FAILED when it cost nothing). The status change
    and the refund commit together; the refund is keyed by the job id, so it happens once whichever
    path ends the job.
    """
    table = ImageEnhancementJob
    now = utcnow()
    if cancel:
        condition = table.status == JobStatus.PENDING
        values: dict[str, Any] = {"status": JobStatus.CANCELLED}
    else:
        condition = (table.status == JobStatus.PROCESSING) & (table.retry_count == fence)
        ended = case(
            (table.tokens_cost > 0, literal(JobStatus.REFUNDED, table.status.type)),
            else_=literal(JobStatus.FAILED, table.status.type),
        )
        values = {"status": ended, "error_message": error, "processing_completed_at": now}
    statement = (
        update(table)
        .where(table.id == job_id, condition)
        .values(current_stage=None, run_after=None, updated_at=now, **values)
        .returning(table)
    )
    job = (await session.execute(statement)).scalar_one_or_none()
    if job is None:
        return None
    if job.tokens_cost > 0:
        await tokens.refund(
            session,
            job.user_id,
            job.tokens_cost,
            source=REFUND_SOURCE,
            source_id=job.id,
            metadata={"jobId": job.id, "reason": "cancelled" if cancel else (error or "failed")[:500]},
        )
    await notify_job(session, job)
    return job
