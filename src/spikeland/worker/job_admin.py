"""What admins do with any paid job table of the runner (enhancements, generations): list across
users, time, cancel with refund, and find the stuck and slow jobs. Each domain adds its own rerun
rule (``images.admin_jobs``, ``generation.admin_jobs``).

- **Cancel**: a PENDING job, or a PROCESSING one for the attempt in hand — the worker's late writes
  are then refused by the runner's fence — ends CANCELLED and its tokens go back once
  (``end_paid_job``); an ended job → None (the caller answers 409).
- **Stuck**: PROCESSING with no heartbeat (``updatedAt``) within the lease: its worker stopped, and
  recovery will take it back. **Slow**: PROCESSING longer than ``slow_after`` though heartbeating.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.core.errors import Conflict
from spikeland.core.pagination import Page, newest_first
from spikeland.db.enums import EnhancementTier, JobStatus
from spikeland.worker.table_queue import OnEnd, end_paid_job

FAILED = frozenset({JobStatus.FAILED, JobStatus.REFUNDED})


class NotCancellable(Conflict):
    code = "job_not_cancellable"


class NotRerunnable(Conflict):
    code = "job_not_rerunnable"

    def __init__(self, status: JobStatus) -> None:
        super().__init__(f"A {status.value} job is not rerun.", details={"status": status.value})


@dataclass(frozen=True)
class JobFilter:
    status: JobStatus | None = None
    tier: EnhancementTier | None = None
    user_id: str | None = None
    created_before: datetime | None = None  # "older than": created before this time
    created_after: datetime | None = None


async def list_jobs(
    session: AsyncSession, model: Any, found: JobFilter, *, cursor: str | None, limit: int
) -> Page[Any]:
    statement = select(model)
    for column, value in (
        (model.status, found.status),
        (model.tier, found.tier),
        (model.user_id, found.user_id),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if found.created_before is not None:
        statement = statement.where(model.created_at < found.created_before)
    if found.created_after is not None:
        statement = statement.where(model.created_at >= found.created_after)
    return await newest_first(session, statement, model.created_at, model.id, limit=limit, cursor=cursor)


def timings(job: Any) -> dict[str, float | None]:
    """Seconds waiting (created → started), working (started → ended) and in all."""

    def between(a: datetime | None, b: datetime | None) -> float | None:
        return round((b - a).total_seconds(), 3) if a is not None and b is not None else None

    return {
        "waitedSeconds": between(job.created_at, job.processing_started_at),
        "workedSeconds": between(job.processing_started_at, job.processing_completed_at),
        "totalSeconds": between(job.created_at, job.processing_completed_at),
    }


async def cancel(session: AsyncSession, model: Any, job: Any, refund: OnEnd) -> Any:
    """The cancelled row; 409 ``job_not_cancellable`` when the job had already ended."""
    values: dict[str, Any] = {"status": JobStatus.CANCELLED}
    if hasattr(model, "current_stage"):
        values["current_stage"] = None
    fence = None  # a PENDING job
    if job.status == JobStatus.PROCESSING:
        fence = job.retry_count
        values |= {"error_message": "Cancelled by an admin.", "processing_completed_at": utcnow()}
    ended = None
    if job.status in (JobStatus.PENDING, JobStatus.PROCESSING):
        ended = await end_paid_job(
            session, model, job.id, fence=fence, values=values, on_end=refund, reason="cancelled by an admin"
        )
    if ended is None:  # ended already, or just now by its worker
        await session.refresh(job)
        raise NotCancellable(
            f"Only a waiting or running job can be cancelled; this one is {job.status.value}.",
            details={"status": job.status.value},
        )
    return ended


async def health(
    session: AsyncSession, model: Any, *, lease_seconds: float, slow_after: timedelta
) -> dict[str, Any]:
    """Waiting and running jobs, the oldest waiting one's age (the lag), the stuck and slow ones."""
    now = utcnow()
    counts = {
        status.value: count
        for status, count in await session.execute(
            select(model.status, func.count())
            .where(model.status.in_([JobStatus.PENDING, JobStatus.PROCESSING]))
            .group_by(model.status)
        )
    }
    waiting_since = func.min(func.coalesce(model.run_after, model.created_at))
    oldest = await session.scalar(select(waiting_since).where(model.status == JobStatus.PENDING))
    running = select(model).where(model.status == JobStatus.PROCESSING)
    lease = now - timedelta(seconds=lease_seconds)
    stuck = await session.scalars(
        running.where(model.updated_at < lease).order_by(model.updated_at).limit(100)
    )
    slow = await session.scalars(
        running.where(model.updated_at >= lease, model.processing_started_at < now - slow_after)
        .order_by(model.processing_started_at)
        .limit(100)
    )
    return {
        "pending": counts.get("PENDING", 0),
        "processing": counts.get("PROCESSING", 0),
        "oldestPendingSeconds": round((now - oldest).total_seconds(), 1) if oldest else 0.0,
        "stuck": list(stuck),
        "slow": list(slow),
    }


def rerun_id(job_id: str) -> str:
    """The id of ``job_id``'s rerun, the same every time: a job is rerun once, however often the
    rerun is asked for (a double click, a retried request, two admins) — the second finds the first.
    CUID-shaped (``c`` + 24 base-36 digits of a SHA-256), so it sits among the ids it joins."""
    digest = int.from_bytes(hashlib.sha256(f"rerun:{job_id}".encode()).digest()[:16], "big")
    digits = []
    for _ in range(24):
        digest, rest = divmod(digest, 36)
        digits.append("0123456789abcdefghijklmnopqrstuvwxyz"[rest])
    return "c" + "".join(digits)


async def locked(session: AsyncSession, model: Any, job_id: str) -> Any | None:
    """The job, locked: one rerun of it at a time."""
    return await session.scalar(select(model).where(model.id == job_id).with_for_update())
