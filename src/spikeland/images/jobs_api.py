"""Enhancement jobs over HTTP: enhance (one, batch), read, cancel, download, progress stream."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.core.deps import IdempotencyKey, Sessions
from spikeland.core.errors import NotFound
from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.db.session import DbSession
from spikeland.identity.deps import CurrentCaller, OptionalPrincipal, user_id_of
from spikeland.images import jobs
from spikeland.images.deps import LimitEnhancements
from spikeland.images.job_schemas import (
    BatchEnhancement,
    BatchEnhanceRequest,
    Enhancement,
    EnhanceRequest,
    Job,
    JobList,
)
from spikeland.images.models import ImageEnhancementJob
from spikeland.integrations.deps import StorageDep
from spikeland.integrations.storage import ObjectNotFound
from spikeland.worker.events import JobEventsDep, job_stream

router = APIRouter(route_class=Route, tags=["jobs"])


@router.post(
    "/images/{image_id}/enhance",
    openapi_extra=errors(image_not_found=404, insufficient_tokens=402),
    response_model=Enhancement,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[LimitEnhancements],
)
async def enhance(
    image_id: str,
    body: EnhanceRequest,
    caller: CurrentCaller,
    session: DbSession,
    key: IdempotencyKey = None,
) -> Enhancement:
    """Pay the tier's cost and queue the enhancement (402 ``insufficient_tokens`` when short)."""
    queued = await jobs.enhance(
        session,
        caller.user_id,
        jobs.Request(image_id, body.tier, body.pipeline_id, body.source_image_id),
        idempotency_key=key,
    )
    return Enhancement(job=Job.model_validate(queued.job), balance=queued.balance)


@router.post(
    "/images/batch-enhance",
    openapi_extra=errors(image_not_found=404, insufficient_tokens=402),
    response_model=BatchEnhancement,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[LimitEnhancements],
)
async def batch_enhance(
    body: BatchEnhanceRequest, caller: CurrentCaller, session: DbSession
) -> BatchEnhancement:
    """Up to 20 of the caller's images at one tier: all queued and paid, or none."""
    queued = await jobs.enhance_many(
        session, caller.user_id, [jobs.Request(i, body.tier, body.pipeline_id) for i in body.image_ids]
    )
    return BatchEnhancement(
        jobs=[Job.model_validate(q.job) for q in queued],
        total_cost=sum(q.job.tokens_cost for q in queued),
        balance=queued[-1].balance,
    )


@router.get("/images/{image_id}/jobs", openapi_extra=errors(image_not_found=404), response_model=JobList)
async def image_jobs(image_id: str, caller: CurrentCaller, session: DbSession) -> JobList:
    return JobList(
        items=[Job.model_validate(j) for j in await jobs.list_jobs(session, caller.user_id, image_id)]
    )


@router.get("/jobs/{job_id}", openapi_extra=errors(job_not_found=404), response_model=Job)
async def get_job(job_id: str, principal: OptionalPrincipal, session: DbSession) -> Job:
    """The job for its owner (visitors' anonymous jobs: for anyone with the id)."""
    return Job.model_validate(await jobs.get_job(session, job_id, user_id_of(principal)))


@router.post(
    "/jobs/{job_id}/cancel",
    openapi_extra=errors(job_not_found=404, job_not_cancellable=409),
    response_model=Job,
)
async def cancel_job(job_id: str, caller: CurrentCaller, session: DbSession) -> Job:
    """Cancel a waiting job and refund it (409 ``job_not_cancellable`` once it started)."""
    return Job.model_validate(await jobs.cancel(session, caller.user_id, job_id))


@router.get(
    "/jobs/{job_id}/download",
    openapi_extra=errors(job_not_found=404, output_not_ready=404, file_not_found=404),
    response_class=Response,
)
async def download(
    job_id: str, principal: OptionalPrincipal, session: DbSession, storage: StorageDep
) -> Response:
    """The enhanced image (JPEG) of a completed job."""
    job = await jobs.get_job(session, job_id, user_id_of(principal))
    if job.enhanced_r2_key is None:
        raise NotFound("This job has no output yet.", code="output_not_ready")
    try:
        data = await storage.get(job.enhanced_r2_key)
    except ObjectNotFound as exc:
        raise NotFound("The output file is missing.", code="file_not_found") from exc
    headers = {
        "Content-Disposition": f'inline; filename="{job.id}.jpg"',
        "Cache-Control": "public, max-age=86400" if job.is_anonymous else "private, max-age=86400",
    }
    return Response(data, media_type="image/jpeg", headers=headers)


@router.get(
    "/jobs/{job_id}/events",
    openapi_extra=errors(job_not_found=404),
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def job_events(
    job_id: str,
    request: Request,  # to stop streaming when the client goes (is_disconnected)
    principal: OptionalPrincipal,
    session: DbSession,
    hub: JobEventsDep,
    sessionmaker: Sessions,
) -> StreamingResponse:
    """Server-sent events: a ``stage`` event for every stage the job enters, a ``status`` event with
    the whole job on each change, the last one when it ends (then the stream closes)."""
    job = await jobs.get_job(session, job_id, user_id_of(principal))
    return StreamingResponse(
        job_stream(job.id, hub, functools.partial(_snapshot, sessionmaker, job.id), request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _snapshot(sessionmaker: async_sessionmaker[AsyncSession], job_id: str) -> dict[str, Any] | None:
    async with sessionmaker() as session:
        job = await session.get(ImageEnhancementJob, job_id)
        return Job.model_validate(job).model_dump(mode="json", by_alias=True) if job else None
