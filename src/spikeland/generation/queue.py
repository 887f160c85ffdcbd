"""``mcp_generation_jobs`` as a queue of the job runner (``worker.table_queue``), and ending a job
without success: REFUNDED with its REFUND ledger row (FAILED when it cost nothing), once."""

from __future__ import annotations

import functools

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.generation.models import McpGenerationJob
from spikeland.tokens import service as tokens
from spikeland.worker.table_queue import TableQueue, TableSpec, end_paid_job, failed_status

JOBS_CHANNEL = "spikeland_generation_jobs"
REFUND_SOURCE = "generation_failed"
# The job runner ends a job through ``worker.table_queue``, which knows no domain: the refund
# of what the job cost is this domain's to name.
refund = functools.partial(tokens.refund_job, source=REFUND_SOURCE)


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
    """End a PROCESSING job on attempt ``fence`` that failed for good, refunding it once; None when
    it is not in that state."""
    values = {
        "status": failed_status(McpGenerationJob),
        "error_message": error,
        "processing_completed_at": utcnow(),
    }
    job: McpGenerationJob | None = await end_paid_job(
        session,
        McpGenerationJob,
        job_id,
        fence=fence,
        values=values,
        on_end=refund,
        reason=error,
    )
    return job
