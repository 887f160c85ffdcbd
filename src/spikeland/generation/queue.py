"""``mcp_generation_jobs`` as a queue of the job runner (``worker.table_queue``), and ending a job
without success: REFUNDED with its REFUND ledger row (FAILED when it cost nothing), once."""

from __future__ import annotations

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.db.enums import JobStatus
from spikeland.generation.models import McpGenerationJob
from spikeland.tokens import service as tokens
from spikeland.worker.table_queue import EVENTS_CHANNEL, TableQueue, TableSpec

JOBS_CHANNEL = "spikeland_generation_jobs"
REFUND_SOURCE = "generation_failed"


async def notify_new_jobs(session: AsyncSession) -> None:
    """Wake the workers when the session's transaction commits (new PENDING jobs)."""
    await session.execute(select(func.pg_notify(JOBS_CHANNEL, "")))


class GenerationQueue(TableQueue):
    name = "generation.run"
    spec = TableSpec(
        table="mcp_generation_jobs",
        jobs_channel=JOBS_CHANNEL,
        columns={
            "outputImageUrl": "",
            "outputImageR2Key": "",
            "outputWidth": "",
            "outputHeight": "",
            "outputSizeBytes": "",
            "geminiModel": "",
            "processingCompletedAt": "",
            "errorMessage": "",
        },
    )

    async def end(self, session: AsyncSession, job_id: str, error: str, *, fence: int) -> bool:
        return await end_with_refund(session, job_id, error, fence=fence) is not None


async def end_with_refund(
    session: AsyncSession, job_id: str, error: str, *, fence: int
) -> McpGenerationJob | None:
    """End a PROCESSING job on attempt ``fence`` that failed for good, refunding it in the same
    transaction (keyed by the job id, so once); None when it is not in that state."""
    table = McpGenerationJob
    ended = case(
        (table.tokens_cost > 0, literal(JobStatus.REFUNDED, table.status.type)),
        else_=literal(JobStatus.FAILED, table.status.type),
    )
    now = utcnow()
    statement = (
        update(table)
        .where(table.id == job_id, table.status == JobStatus.PROCESSING, table.retry_count == fence)
        .values(
            status=ended, error_message=error, processing_completed_at=now, run_after=None, updated_at=now
        )
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
            metadata={"jobId": job.id, "reason": error[:500]},
        )
    await session.execute(select(func.pg_notify(EVENTS_CHANNEL, f"{job.id} {job.status.value} ")))
    return job
