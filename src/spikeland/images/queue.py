"""``image_enhancement_jobs`` as a queue of the job runner: claim, heartbeat, stage updates,
completion, retry, giving up (with its refund) and lease recovery.

Every write after the claim is fenced by (status PROCESSING, retryCount = the attempt claimed):
a worker whose lease expired and whose job was taken again finds its writes match no row and
stops (``LeaseLost``), so one job is finished — and refunded — once. Each change NOTIFYs
``EVENTS_CHANNEL`` with the job id, in the change's own transaction, for the progress stream.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from spikeland.core.clock import utcnow
from spikeland.db.engine import transaction
from spikeland.db.enums import JobStatus
from spikeland.images.models import ImageEnhancementJob, PipelineStage
from spikeland.tokens import service as tokens
from spikeland.worker.runner import Claimed, LeaseLost, backoff, driver

JOBS_CHANNEL = "spikeland_image_jobs"  # a job became claimable
EVENTS_CHANNEL = "spikeland_job_events"  # a job changed (payload: its id)
REFUND_SOURCE = "enhancement_failed"
LOST_LEASE = "The worker processing this job stopped answering (lease expired)."

# Times in the queue's statements are the database's: one clock for every worker's leases.
NOW = "(now() AT TIME ZONE 'UTC')::timestamp(3)"
SERVER_NOW = object()  # as a column value to ``record``: the database's time

# ``id = ANY(ARRAY(...))`` rather than a join with the subquery: the generic plan of a join hashes a
# sequential scan of the whole table (8 ms at 40k jobs instead of 0.3). The LIMIT is written into the
# text: as a parameter it makes the generic plan look costly, so PostgreSQL would plan the statement
# afresh on every call (~0.2 ms, as much as running it).
_CLAIM = """
UPDATE image_enhancement_jobs
SET status = 'PROCESSING', "updatedAt" = {now}, "runAfter" = NULL,
    "processingStartedAt" = coalesce("processingStartedAt", {now})
WHERE id = ANY(ARRAY(
    SELECT id FROM image_enhancement_jobs
    WHERE status = 'PENDING' AND ("runAfter" IS NULL OR "runAfter" <= {now})
    ORDER BY "updatedAt"
    LIMIT {limit}
    FOR UPDATE SKIP LOCKED
))
RETURNING id, "retryCount", "maxRetries"
"""


def claim_sql(limit: int) -> str:
    return _CLAIM.format(now=NOW, limit=int(limit))


# What a change tells the progress stream: "jobId status stage" (stage empty when none).
_PAYLOAD = """id || ' ' || status || ' ' || coalesce("currentStage"::text, '')"""
_FENCE = """WHERE id = $1 AND status = 'PROCESSING' AND "retryCount" = $2"""
_HEARTBEAT = f"""UPDATE image_enhancement_jobs SET "updatedAt" = {NOW} {_FENCE}"""
_RETRY = f"""
WITH changed AS (
    UPDATE image_enhancement_jobs
    SET status = 'PENDING', "retryCount" = "retryCount" + 1, "errorMessage" = $4, "currentStage" = NULL,
        "runAfter" = {NOW} + make_interval(secs => $3), "updatedAt" = {NOW}
    {_FENCE}
    RETURNING id, status, "currentStage"
)
SELECT pg_notify('{EVENTS_CHANNEL}', {_PAYLOAD}) FROM changed
"""
_STALE = f"""
SELECT id, "retryCount", "maxRetries" FROM image_enhancement_jobs
WHERE status = 'PROCESSING' AND "updatedAt" < {NOW} - make_interval(secs => $1)
ORDER BY "updatedAt"
LIMIT $2
"""

# Columns a stage may record (name → SQL cast of its parameter); the SQL is built from these only.
_COLUMNS = {
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
}


def _value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


@functools.cache
def _update_sql(columns: tuple[str, ...], now_columns: tuple[str, ...], status: str | None) -> str:
    """The fenced UPDATE (+ NOTIFY) writing ``columns`` as parameters $3... and ``now_columns`` as now."""
    sets = [f'"{name}" = ${i + 3}{_COLUMNS[name]}' for i, name in enumerate(columns)]
    sets += [f'"{name}" = {NOW}' for name in now_columns if name in _COLUMNS]
    if status is not None:
        sets.append(f"status = '{status}'")
    sets.append(f'"updatedAt" = {NOW}')
    return f"""
WITH changed AS (
    UPDATE image_enhancement_jobs SET {", ".join(sets)}
    {_FENCE}
    RETURNING id, status, "currentStage"
)
SELECT pg_notify('{EVENTS_CHANNEL}', {_PAYLOAD}) FROM changed
"""


async def notify_job(session: AsyncSession, job: ImageEnhancementJob) -> None:
    """NOTIFY the progress stream from a session's transaction (sent when it commits)."""
    payload = f"{job.id} {job.status.value} {job.current_stage.value if job.current_stage else ''}"
    await session.execute(select(func.pg_notify(EVENTS_CHANNEL, payload)))


async def notify_new_jobs(session: AsyncSession) -> None:
    """Wake the workers when the session's transaction commits (new PENDING jobs)."""
    await session.execute(select(func.pg_notify(JOBS_CHANNEL, "")))


Processor = Callable[["EnhancementQueue", Claimed], Awaitable[None]]


class EnhancementQueue:
    name = "images.enhance"
    channel = JOBS_CHANNEL

    def __init__(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        processor: Processor,
        *,
        retry_base: float,
    ) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker
        self.processor = processor
        self.retry_base = retry_base

    async def claim(self, limit: int) -> list[Claimed]:
        async with driver(self.engine) as connection:
            rows = await connection.fetch(claim_sql(limit))
        return [Claimed(row["id"], row["retryCount"], row["maxRetries"]) for row in rows]

    async def process(self, job: Claimed) -> None:
        await self.processor(self, job)

    async def record(self, job: Claimed, *, status: JobStatus | None = None, **columns: Any) -> None:
        """Write stage results (``currentStage=...``, ``analysisResult=...``) fenced by the attempt."""
        names = tuple(n for n, v in columns.items() if v is not SERVER_NOW)
        now_names = tuple(n for n, v in columns.items() if v is SERVER_NOW)
        sql = _update_sql(names, now_names, status.value if status else None)
        async with driver(self.engine) as connection:
            row = await connection.fetchrow(sql, job.id, job.attempt, *(_value(columns[n]) for n in names))
        if row is None:
            raise LeaseLost(job.id)

    async def stage(self, job: Claimed, stage: PipelineStage, **columns: Any) -> None:
        await self.record(job, currentStage=stage.value, **columns)

    async def complete(self, job: Claimed, **columns: Any) -> None:
        await self.record(
            job,
            status=JobStatus.COMPLETED,
            currentStage=None,
            processingCompletedAt=SERVER_NOW,
            errorMessage=None,
            **columns,
        )

    async def heartbeat(self, job: Claimed) -> bool:
        async with driver(self.engine) as connection:
            result = await connection.execute(_HEARTBEAT, job.id, job.attempt)
        return bool(result.endswith(" 1"))

    async def retry(self, job: Claimed, error: str, delay: float) -> None:
        async with driver(self.engine) as connection:
            row = await connection.fetchrow(_RETRY, job.id, job.attempt, float(delay), error)
        if row is None:
            raise LeaseLost(job.id)

    async def give_up(self, job: Claimed, error: str) -> None:
        """FAILED, or REFUNDED with its REFUND ledger row when it cost tokens — in one transaction."""
        async with transaction(self.sessionmaker) as session:
            await end_with_refund(session, job.id, error, fence=job.attempt)

    async def recover(self, lease: float) -> int:
        """Jobs whose lease expired: a failed attempt each (retried, or given up after the last)."""
        async with driver(self.engine) as connection:
            rows = await connection.fetch(_STALE, float(lease), 100)
        for row in rows:
            job = Claimed(row["id"], row["retryCount"], row["maxRetries"])
            try:
                if job.retries_left:
                    await self.retry(job, LOST_LEASE, backoff(job.attempt, self.retry_base))
                else:
                    await self.give_up(job, LOST_LEASE)
            except LeaseLost:
                pass  # its worker answered after all, or another recoverer was first
        return len(rows)


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
