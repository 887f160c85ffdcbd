"""Jobs: every user's enhancement and generation jobs (filters, keyset pages, a status column that
refreshes itself while jobs wait or run), the stuck and slow ones, a job's detail (stages, error,
cost, timings, its images) and the actions — cancel with its refund, rerun — through each domain's
``admin_jobs`` exactly as the admin API does (``ops_api/jobs_api.py``), audited under the API's
names (``JOB_CANCEL``, ``JOB_RERUN``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.console.lookups import emails_of, user_filter
from spikeland.console.web import (
    ConsoleAction,
    ConsoleAdmin,
    ConsoleRoute,
    audited,
    choice,
    day_range,
    done,
    page_url,
    render,
)
from spikeland.core.clock import utcnow
from spikeland.core.deps import SettingsDep
from spikeland.core.errors import NotFound
from spikeland.db.enums import EnhancementTier, JobStatus
from spikeland.db.session import DbSession
from spikeland.generation import admin_jobs as generation_jobs
from spikeland.identity.models import User
from spikeland.images import admin_jobs as enhancement_jobs
from spikeland.images.models import EnhancedImage, PipelineStage
from spikeland.integrations.deps import StorageDep
from spikeland.integrations.storage import Storage
from spikeland.worker import job_admin

router = APIRouter(prefix="/admin/jobs", route_class=ConsoleRoute, include_in_schema=False)
LIVE = (JobStatus.PENDING, JobStatus.PROCESSING)  # a page showing one refreshes itself
STATUSES = [(s.value, s.value) for s in JobStatus]
TIERS = [(t.value, t.value) for t in EnhancementTier]
PAGE = 50


@dataclass(frozen=True)
class Kind:
    slug: str
    label: str
    module: Any  # images.admin_jobs or generation.admin_jobs: MODEL, get, cancel
    rerun: Callable[[AsyncSession, Storage, str], Awaitable[tuple[Any, bool]]]


async def _rerun_enhancement(session: AsyncSession, storage: Storage, job_id: str) -> tuple[Any, bool]:
    return await enhancement_jobs.rerun(session, job_id)


KINDS = {
    kind.slug: kind
    for kind in (
        Kind("enhancements", "Enhancements", enhancement_jobs, _rerun_enhancement),
        Kind("generations", "Generations", generation_jobs, generation_jobs.rerun),
    )
}


def _kind(slug: str) -> Kind:
    if slug not in KINDS:
        raise NotFound("No such kind of job.", code="not_found")
    return KINDS[slug]


def _tabs(kind: Kind) -> dict[str, Any]:
    return {"kind": kind, "kinds": list(KINDS.values())}


@router.get("")
async def jobs_home(admin: ConsoleAdmin) -> RedirectResponse:
    return RedirectResponse("/admin/jobs/enhancements", status_code=303)


@router.get("/{kind}", response_class=HTMLResponse)
async def jobs(
    request: Request,
    kind: str,
    admin: ConsoleAdmin,
    session: DbSession,
    status: str | None = None,
    tier: str | None = None,
    user: str | None = None,
    created_from: str | None = None,
    created_to: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    found_kind = _kind(kind)
    since, until = day_range(created_from, created_to)
    wanted = job_admin.JobFilter(
        choice(JobStatus, status),
        choice(EnhancementTier, tier),
        await user_filter(session, user),
        created_before=until,
        created_after=since,
    )
    page = await job_admin.list_jobs(session, found_kind.module.MODEL, wanted, cursor=cursor, limit=PAGE)
    listed = page.items
    return render(
        request,
        "jobs.html",
        **_tabs(found_kind),
        view="list",
        jobs=listed,
        emails=await emails_of(session, (job.user_id for job in listed)),
        live=any(job.status in LIVE for job in listed),
        values={
            "status": status,
            "tier": tier,
            "user": user,
            "created_from": created_from,
            "created_to": created_to,
        },
        statuses=STATUSES,
        tiers=TIERS,
        next_url=page_url(request, page.next_cursor),
    )


@router.get("/{kind}/stuck", response_class=HTMLResponse)
async def stuck_jobs(
    request: Request,
    kind: str,
    admin: ConsoleAdmin,
    session: DbSession,
    settings: SettingsDep,
    cursor: str | None = None,
) -> HTMLResponse:
    """The queue's health as the API's ``/health`` gives it, and the jobs waiting longer than a
    running job may take before it counts as slow."""
    found_kind = _kind(kind)
    model = found_kind.module.MODEL
    lease, slow = settings.job_lease_seconds, timedelta(seconds=settings.job_slow_seconds)
    health = await job_admin.health(session, model, lease_seconds=lease, slow_after=slow)
    waiting = await job_admin.list_jobs(
        session,
        model,
        job_admin.JobFilter(JobStatus.PENDING, created_before=utcnow() - slow),
        cursor=cursor,
        limit=PAGE,
    )
    shown = [*health["stuck"], *health["slow"], *waiting.items]
    return render(
        request,
        "jobs_stuck.html",
        **_tabs(found_kind),
        view="stuck",
        health=health,
        lease_seconds=lease,
        slow_seconds=settings.job_slow_seconds,
        waiting=waiting.items,
        emails=await emails_of(session, (job.user_id for job in shown)),
        next_url=page_url(request, waiting.next_cursor),
    )


@router.get("/{kind}/{job_id}", response_class=HTMLResponse)
async def job_detail(
    request: Request, kind: str, job_id: str, admin: ConsoleAdmin, session: DbSession
) -> HTMLResponse:
    found_kind = _kind(kind)
    job = await found_kind.module.get(session, job_id)
    image = await session.get(EnhancedImage, job.image_id) if kind == "enhancements" else None
    return render(
        request,
        "jobs_detail.html",
        **_tabs(found_kind),
        job=job,
        owner=await session.get(User, job.user_id),
        image=image,
        stages=[stage.value for stage in PipelineStage],
        timings=job_admin.timings(job),
        live=job.status in LIVE,
        cancellable=job.status in LIVE,
        rerun_free=job.status in job_admin.FAILED,
        rerun_charged=job.status == JobStatus.CANCELLED,
    )


@router.post("/{kind}/{job_id}/cancel")
async def cancel_job(
    request: Request, kind: str, job_id: str, admin: ConsoleAction, session: DbSession
) -> RedirectResponse:
    found_kind = _kind(kind)
    ended = await found_kind.module.cancel(session, job_id)
    await audited(session, request, admin, "JOB_CANCEL", job_id, kind=kind)
    refunded = f"{ended.tokens_cost} tokens went back to the owner" if ended.tokens_cost else "it was free"
    return done(f"/admin/jobs/{kind}/{job_id}", f"The job was cancelled; {refunded}.")


@router.post("/{kind}/{job_id}/rerun")
async def rerun_job(
    request: Request, kind: str, job_id: str, admin: ConsoleAction, session: DbSession, storage: StorageDep
) -> RedirectResponse:
    found_kind = _kind(kind)
    job, free = await found_kind.rerun(session, storage, job_id)
    await audited(session, request, admin, "JOB_RERUN", job_id, kind=kind, new_job_id=job.id, free=free)
    cost = "free of charge" if free else f"{job.tokens_cost} tokens charged to the owner"
    return done(f"/admin/jobs/{kind}/{job.id}", f"Rerun as this new job, {cost}.")
