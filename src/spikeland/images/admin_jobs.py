"""Enhancement jobs for admins: every user's, filtered; cancel with refund; rerun; stuck and slow ones.

Rules:

- **Cancel**: a PENDING job is cancelled as its owner would (``jobs.cancel``); a PROCESSING one too
  — its row becomes CANCELLED for the attempt in hand, so the worker's late writes are refused by
  the runner's fence (``worker.table_queue``) and its result is thrown away. Either way the tokens
  go back once (``end_paid_job``). An ended job → 409 ``job_not_cancellable``.
- **Rerun** makes a new job for the same image, tier, pipeline and blend source, owned by the same
  user. Who pays: a job that **failed** (FAILED or REFUNDED: the platform could not do it, and the
  owner was refunded) is rerun **free** (``tokensCost`` 0: no ledger movement); a **cancelled** one is
  charged to the owner as a new enhancement (402 when short), since the refund already went back. A
  COMPLETED job is not rerun (409 ``job_not_rerunnable``): the owner enhances again if they want.
- **Stuck**: PROCESSING jobs whose heartbeat (``updatedAt``) is older than the lease — the worker
  holding them stopped; the runner's recovery takes them back. **Slow**: PROCESSING longer than
  ``slow_after`` though still heartbeating.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.core.errors import Conflict
from spikeland.core.pagination import Page, newest_first
from spikeland.db.enums import EnhancementTier, JobStatus
from spikeland.images import jobs
from spikeland.images.models import ImageEnhancementJob
from spikeland.images.queue import end_with_refund, notify_new_jobs

FAILED = frozenset({JobStatus.FAILED, JobStatus.REFUNDED})


@dataclass(frozen=True)
class JobFilter:
    status: JobStatus | None = None
    tier: EnhancementTier | None = None
    user_id: str | None = None
    created_before: datetime | None = None  # "older than": created before this time
    created_after: datetime | None = None


async def list_jobs(session: AsyncSession, found: JobFilter, *, cursor: str | None, limit: int) -> Page[Any]:
    table = ImageEnhancementJob
    statement = select(table)
    for column, value in (
        (table.status, found.status),
        (table.tier, found.tier),
        (table.user_id, found.user_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if found.created_before is not None:
        statement = statement.where(table.created_at < found.created_before)
    if found.created_after is not None:
        statement = statement.where(table.created_at >= found.created_after)
    return await newest_first(session, statement, table.created_at, table.id, limit=limit, cursor=cursor)


async def get(session: AsyncSession, job_id: str) -> ImageEnhancementJob:
    job = await session.get(ImageEnhancementJob, job_id)
    if job is None:
        raise jobs.JobNotFound()
    return job


def timings(job: ImageEnhancementJob) -> dict[str, float | None]:
    """Seconds waiting (created → started), working (started → ended) and in all."""

    def between(a: datetime | None, b: datetime | None) -> float | None:
        return round((b - a).total_seconds(), 3) if a is not None and b is not None else None

    return {
        "waitedSeconds": between(job.created_at, job.processing_started_at),
        "workedSeconds": between(job.processing_started_at, job.processing_completed_at),
        "totalSeconds": between(job.created_at, job.processing_completed_at),
    }


async def cancel(session: AsyncSession, job_id: str) -> ImageEnhancementJob:
    job = await get(session, job_id)
    ended = None
    if job.status == JobStatus.PENDING:
        ended = await end_with_refund(session, job.id, None, cancel=True)
    elif job.status == JobStatus.PROCESSING:
        ended = await end_with_refund(
            session, job.id, "Cancelled by an admin.", fence=job.retry_count, cancel=True
        )
    if ended is None:
        await session.refresh(job)
        raise Conflict(
            f"Only a waiting or running job can be cancelled; this one is {job.status.value}.",
            code="job_not_cancellable",
            details={"status": job.status.value},
        )
    return ended


async def rerun(session: AsyncSession, job_id: str) -> tuple[ImageEnhancementJob, bool]:
    """The new job, and whether it is free (the rule at the top)."""
    job = await get(session, job_id)
    if job.status in FAILED:
        free = ImageEnhancementJob(
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
        queued = await jobs.enhance(session, job.user_id, request)
        return queued.job, False
    raise Conflict(
        f"A {job.status.value} job is not rerun.",
        code="job_not_rerunnable",
        details={"status": job.status.value},
    )


async def health(session: AsyncSession, *, lease_seconds: float, slow_after: timedelta) -> dict[str, Any]:
    """Waiting and running jobs, the oldest waiting one's age, and the stuck and slow ones."""
    table = ImageEnhancementJob
    now = utcnow()
    counts = dict(
        (status.value, count)
        for status, count in await session.execute(
            select(table.status, func.count())
            .where(table.status.in_([JobStatus.PENDING, JobStatus.PROCESSING]))
            .group_by(table.status)
        )
    )
    oldest = await session.scalar(
        select(func.min(func.coalesce(table.run_after, table.created_at))).where(
            table.status == JobStatus.PENDING
        )
    )
    running = select(table).where(table.status == JobStatus.PROCESSING)
    stuck = await session.scalars(
        running.where(table.updated_at < now - timedelta(seconds=lease_seconds))
        .order_by(table.updated_at)
        .limit(100)
    )
    slow = await session.scalars(
        running.where(
            table.updated_at >= now - timedelta(seconds=lease_seconds),
            table.processing_started_at < now - slow_after,
        )
        .order_by(table.processing_started_at)
        .limit(100)
    )
    return {
        "pending": counts.get("PENDING", 0),
        "processing": counts.get("PROCESSING", 0),
        "oldestPendingSeconds": round((now - oldest).total_seconds(), 1) if oldest else 0.0,
        "stuck": list(stuck),
        "slow": list(slow),
    }
