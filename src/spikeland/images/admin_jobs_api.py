"""Enhancement jobs for admins, under ``/admin/jobs/enhancements`` (``images.admin_jobs`` has the
rules: cancel with refund, rerun free after a failure or charged after a cancel, stuck and slow)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from spikeland.core.deps import SettingsDep
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.core.schemas import Schema
from spikeland.db.enums import EnhancementTier, JobStatus
from spikeland.db.session import DbSession
from spikeland.identity.deps import AdminUser
from spikeland.images import admin_jobs
from spikeland.images.job_schemas import Job

router = APIRouter(route_class=Route, prefix="/admin/jobs/enhancements", tags=["admin"])


class AdminJob(Job):
    user_id: str


class AdminJobPage(Schema):
    items: list[AdminJob]
    next_cursor: str | None


class AdminJobDetail(Schema):
    job: AdminJob
    timings: dict[str, float | None]


class Rerun(Schema):
    job: AdminJob
    free: bool


class QueueHealth(Schema):
    pending: int
    processing: int
    oldest_pending_seconds: float
    lease_seconds: float
    slow_after_seconds: float
    stuck: list[AdminJob]
    slow: list[AdminJob]


@router.get("", response_model=AdminJobPage)
async def list_jobs(
    actor: AdminUser,
    session: DbSession,
    status: Annotated[JobStatus | None, Query()] = None,
    tier: Annotated[EnhancementTier | None, Query()] = None,
    user_id: Annotated[str | None, Query(alias="userId", max_length=64)] = None,
    created_before: Annotated[datetime | None, Query(alias="createdBefore")] = None,
    created_after: Annotated[datetime | None, Query(alias="createdAfter")] = None,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> AdminJobPage:
    """Every user's enhancement jobs, newest first, by status, tier, user and age."""
    found = admin_jobs.JobFilter(status, tier, user_id, created_before, created_after)
    page = await admin_jobs.list_jobs(session, found, cursor=cursor, limit=limit)
    return AdminJobPage(items=[AdminJob.model_validate(j) for j in page.items], next_cursor=page.next_cursor)


@router.get("/health", response_model=QueueHealth)
async def queue_health(actor: AdminUser, session: DbSession, settings: SettingsDep) -> QueueHealth:
    """Waiting and running jobs, the oldest waiting one's age (the queue's lag), stuck and slow jobs."""
    found: dict[str, Any] = await admin_jobs.health(
        session,
        lease_seconds=settings.job_lease_seconds,
        slow_after=timedelta(seconds=settings.job_slow_seconds),
    )
    return QueueHealth(
        pending=found["pending"],
        processing=found["processing"],
        oldest_pending_seconds=found["oldestPendingSeconds"],
        lease_seconds=settings.job_lease_seconds,
        slow_after_seconds=settings.job_slow_seconds,
        stuck=[AdminJob.model_validate(j) for j in found["stuck"]],
        slow=[AdminJob.model_validate(j) for j in found["slow"]],
    )


@router.get("/{job_id}", response_model=AdminJobDetail, openapi_extra=errors(job_not_found=404))
async def job_detail(job_id: str, actor: AdminUser, session: DbSession) -> AdminJobDetail:
    """One job with how long it waited and worked."""
    job = await admin_jobs.get(session, job_id)
    return AdminJobDetail(job=AdminJob.model_validate(job), timings=admin_jobs.timings(job))


@router.post(
    "/{job_id}/cancel",
    response_model=AdminJob,
    openapi_extra=errors(job_not_found=404, job_not_cancellable=409),
)
async def cancel_job(job_id: str, actor: AdminUser, session: DbSession) -> AdminJob:
    """Cancel a waiting or running job and refund its owner."""
    return AdminJob.model_validate(await admin_jobs.cancel(session, job_id))


@router.post(
    "/{job_id}/rerun",
    response_model=Rerun,
    status_code=201,
    openapi_extra=errors(job_not_found=404, job_not_rerunnable=409, insufficient_tokens=402),
)
async def rerun_job(job_id: str, actor: AdminUser, session: DbSession) -> Rerun:
    """Run a failed job again for free, or a cancelled one again at its owner's cost."""
    job, free = await admin_jobs.rerun(session, job_id)
    return Rerun(job=AdminJob.model_validate(job), free=free)
