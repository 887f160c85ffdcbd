"""Generation over HTTP (session or API key): generate, modify, history, status, the output file."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from fastapi import APIRouter, Response, status

from spikeland.core.deps import SettingsDep, rate_limit
from spikeland.core.errors import NotFound, ValidationFailed
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.db.cuid import cuid
from spikeland.db.session import DbSession
from spikeland.generation import service
from spikeland.generation.models import McpJobType
from spikeland.generation.schemas import GenerateRequest, GenerationJob, GenerationPage, ModifyRequest, Queued
from spikeland.identity.deps import CurrentPrincipal, by_user
from spikeland.images.files import inspect_upload
from spikeland.images.service import content_type_of_key, read_file
from spikeland.integrations.deps import StorageDep

router = APIRouter(route_class=Route, prefix="/generation", tags=["generation"])
REQUESTS_PER_MINUTE = 10  # generate and modify, per user (as the original's mcpGenerate/mcpModify)


def _limit(action: str) -> Any:
    return rate_limit(
        f"generation-{action}",
        per=REQUESTS_PER_MINUTE,
        by=by_user,
        message="Too many generation requests; wait a minute.",
    )


def _queued(queued: service.Queued) -> Queued:
    return Queued(job=GenerationJob.model_validate(queued.job), balance=queued.balance)


@router.post(
    "/generate",
    openapi_extra=errors(insufficient_tokens=402, too_many_generation_jobs=429),
    response_model=Queued,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[_limit("generate")],
)
async def generate(
    body: GenerateRequest,
    principal: CurrentPrincipal,
    session: DbSession,
    storage: StorageDep,
) -> Queued:
    """Text to image: pay the tier's cost and queue the job (402 short, 429 with 3 unfinished)."""
    queued = await service.create_job(
        session,
        storage,
        principal.user.id,
        type_=McpJobType.GENERATE,
        prompt=body.prompt,
        tier=body.tier,
        api_key_id=principal.api_key_id,
    )
    return _queued(queued)


@router.post(
    "/modify",
    openapi_extra=errors(image_not_found=404, insufficient_tokens=402, too_many_generation_jobs=429),
    response_model=Queued,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[_limit("modify")],
)
async def modify(
    body: ModifyRequest,
    principal: CurrentPrincipal,
    session: DbSession,
    storage: StorageDep,
    settings: SettingsDep,
) -> Queued:
    """Image to image: change one of the caller's images, or an image sent inline, by the prompt."""
    user_id = principal.user.id
    job_id = cuid()
    if body.image_id is not None:
        source = await service.stored_input(session, user_id, body.image_id)
    else:
        try:
            data = base64.b64decode(body.image_base64 or "", validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValidationFailed("imageBase64 is not valid base64.", code="invalid_base64") from exc
        upload = await inspect_upload(
            data, "input", max_bytes=settings.upload_max_bytes, max_pixels=settings.upload_max_pixels
        )
        key = service.input_key(user_id, job_id, upload.ext)
        url = f"{settings.public_url.rstrip('/')}/api/v1/generation/jobs/{job_id}/input"
        source = service.InputImage(key, url, upload)
    queued = await service.create_job(
        session,
        storage,
        user_id,
        type_=McpJobType.MODIFY,
        prompt=body.prompt,
        tier=body.tier,
        api_key_id=principal.api_key_id,
        source=source,
        job_id=job_id,
    )
    return _queued(queued)


@router.get("/jobs", response_model=GenerationPage)
async def history(
    principal: CurrentPrincipal,
    session: DbSession,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> GenerationPage:
    page = await service.list_jobs(session, principal.user.id, limit=limit, cursor=cursor)
    return GenerationPage(
        items=[GenerationJob.model_validate(j) for j in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/jobs/{generation_id}", openapi_extra=errors(generation_job_not_found=404), response_model=GenerationJob
)
async def job_status(generation_id: str, principal: CurrentPrincipal, session: DbSession) -> GenerationJob:
    return GenerationJob.model_validate(await service.get_job(session, principal.user.id, generation_id))


@router.get(
    "/jobs/{generation_id}/image",
    openapi_extra=errors(generation_job_not_found=404, output_not_ready=404, file_not_found=404),
    response_class=Response,
)
async def output(
    generation_id: str, principal: CurrentPrincipal, session: DbSession, storage: StorageDep
) -> Response:
    """The generated image (JPEG) of a completed job."""
    job = await service.get_job(session, principal.user.id, generation_id)
    if job.output_image_r2_key is None:
        raise NotFound("This job has no output yet.", code="output_not_ready")
    data = await read_file(storage, job.output_image_r2_key)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})


@router.get(
    "/jobs/{generation_id}/input",
    openapi_extra=errors(generation_job_not_found=404, file_not_found=404),
    response_class=Response,
)
async def input_image(
    generation_id: str, principal: CurrentPrincipal, session: DbSession, storage: StorageDep
) -> Response:
    """The image a MODIFY job was given."""
    job = await service.get_job(session, principal.user.id, generation_id)
    if job.input_image_r2_key is None:
        raise NotFound("This job has no input image.", code="file_not_found")
    data = await read_file(storage, job.input_image_r2_key)
    return Response(data, media_type=content_type_of_key(job.input_image_r2_key))
