"""Job control for admins: ``/admin/jobs/enhancements`` and ``/admin/jobs/generations``, the same
routes for both kinds (``worker.job_admin`` for what they share; each domain's ``admin_jobs`` for
its rerun rule: free after a failure, charged after a cancel, never for a completed job)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import create_model

from spikeland.core.deps import SettingsDep
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.core.schemas import Schema
from spikeland.db.enums import EnhancementTier, JobStatus
from spikeland.db.session import DbSession
from spikeland.generation import admin_jobs as generation_jobs
from spikeland.generation.schemas import GenerationJob
from spikeland.identity.deps import AdminUser, audited
from spikeland.images import admin_jobs as enhancement_jobs
from spikeland.images.job_schemas import Job
from spikeland.integrations.deps import StorageDep
from spikeland.worker import job_admin

Rerun = Callable[[Any, Any, str], Awaitable[tuple[Any, bool]]]


def _router(kind: str, module: Any, schema: type[Schema], not_found: str, rerun: Rerun) -> APIRouter:
    router = APIRouter(route_class=Route, prefix=f"/admin/jobs/{kind}", tags=["admin"])
    # Each kind's job as its owner sees it, plus whose it is.
    out: Any = create_model(f"Admin{schema.__name__}", __base__=schema, user_id=(str, ...))
    page: Any = create_model(
        f"Admin{schema.__name__}Page", __base__=Schema, items=(list[out], ...), next_cursor=(str | None, ...)
    )
    detail: Any = create_model(
        f"Admin{schema.__name__}Detail",
        __base__=Schema,
        job=(out, ...),
        timings=(dict[str, float | None], ...),
    )
    rerun_out: Any = create_model(
        f"Admin{schema.__name__}Rerun", __base__=Schema, job=(out, ...), free=(bool, ...)
    )
    health_out: Any = create_model(
        f"Admin{schema.__name__}Health",
        __base__=Schema,
        pending=(int, ...),
        processing=(int, ...),
        oldest_pending_seconds=(float, ...),
        lease_seconds=(float, ...),
        slow_after_seconds=(float, ...),
        stuck=(list[out], ...),
        slow=(list[out], ...),
    )

    @router.get("", response_model=page, name=f"admin_{kind}_list")
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
    ) -> Any:
        """Every user's jobs, newest first, by status, tier, user and age."""
        found = job_admin.JobFilter(status, tier, user_id, created_before, created_after)
        listed = await job_admin.list_jobs(session, module.MODEL, found, cursor=cursor, limit=limit)
        return page(items=[out.model_validate(j) for j in listed.items], next_cursor=listed.next_cursor)

    @router.get("/health", response_model=health_out, name=f"admin_{kind}_health")
    async def queue_health(actor: AdminUser, session: DbSession, settings: SettingsDep) -> Any:
        """Waiting and running jobs, the oldest waiting one's age (the lag), stuck and slow jobs."""
        lease, slow = settings.job_lease_seconds, settings.job_slow_seconds
        found = await job_admin.health(
            session, module.MODEL, lease_seconds=lease, slow_after=timedelta(seconds=slow)
        )
        return health_out(
            pending=found["pending"],
            processing=found["processing"],
            oldest_pending_seconds=found["oldestPendingSeconds"],
            lease_seconds=lease,
            slow_after_seconds=slow,
            stuck=[out.model_validate(j) for j in found["stuck"]],
            slow=[out.model_validate(j) for j in found["slow"]],
        )

    @router.get(
        "/{job_id}",
        response_model=detail,
        openapi_extra=errors(**{not_found: 404}),
        name=f"admin_{kind}_detail",
    )
    async def job_detail(job_id: str, actor: AdminUser, session: DbSession) -> Any:
        """One job with how long it waited and worked."""
        job = await module.get(session, job_id)
        return detail(job=out.model_validate(job), timings=job_admin.timings(job))

    @router.post(
        "/{job_id}/cancel",
        response_model=out,
        openapi_extra=errors(**{not_found: 404, "job_not_cancellable": 409}),
        name=f"admin_{kind}_cancel",
        dependencies=[audited("JOB_CANCEL")],
    )
    async def cancel_job(job_id: str, actor: AdminUser, session: DbSession) -> Any:
        """Cancel a waiting or running job and refund its owner."""
        return out.model_validate(await module.cancel(session, job_id))

    @router.post(
        "/{job_id}/rerun",
        response_model=rerun_out,
        status_code=201,
        openapi_extra=errors(**{not_found: 404, "job_not_rerunnable": 409, "insufficient_tokens": 402}),
        name=f"admin_{kind}_rerun",
        dependencies=[audited("JOB_RERUN")],
    )
    async def rerun_job(job_id: str, actor: AdminUser, session: DbSession, storage: StorageDep) -> Any:
        """Run a failed job again for free, or a cancelled one again at its owner's cost."""
        job, free = await rerun(session, storage, job_id)
        return rerun_out(job=out.model_validate(job), free=free)

    return router


async def _rerun_enhancement(session: Any, storage: Any, job_id: str) -> tuple[Any, bool]:
    return await enhancement_jobs.rerun(session, job_id)


enhancements_router = _router("enhancements", enhancement_jobs, Job, "job_not_found", _rerun_enhancement)
generations_router = _router(
    "generations", generation_jobs, GenerationJob, "generation_job_not_found", generation_jobs.rerun
)
