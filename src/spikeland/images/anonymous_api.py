"""Visitors without an account: upload a picture and enhance it at the FREE tier.

The image belongs to the system "anonymous" user and is private; the visitor gets its share token,
which opens it (``/share/{token}``) and allows enhancing it. Their jobs are readable by id
(``GET /jobs/{id}``, ``/download``, ``/events``). Both calls are limited per IP.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile, status

from spikeland.core.deps import SettingsDep, rate_limit
from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.core.schemas import Schema
from spikeland.db.session import DbSession
from spikeland.images import jobs, service
from spikeland.images.deps import read_upload
from spikeland.images.job_schemas import AnonymousEnhanceRequest, Job
from spikeland.integrations.deps import StorageDep

router = APIRouter(route_class=Route, prefix="/anonymous", tags=["anonymous"])


class AnonymousUpload(Schema):
    image_id: str
    share_token: str
    share_url: str
    width: int
    height: int
    format: str


def _limit(action: str) -> Any:
    """Per IP, one window per action (uploading does not use up enhancing)."""
    return rate_limit(
        f"anonymous-{action}",
        per=lambda s: s.anonymous_enhancements_per_minute,
        message="Too many requests; sign up or wait.",
    )


@router.post(
    "/images",
    openapi_extra=errors(unsupported_image_type=415, file_too_large=413),
    response_model=AnonymousUpload,
    status_code=status.HTTP_201_CREATED,
    dependencies=[_limit("upload")],
)
async def upload(
    session: DbSession,
    storage: StorageDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="A JPEG, PNG or WebP image.")],
) -> AnonymousUpload:
    checked = await read_upload(settings, file)
    owner = await jobs.anonymous_user(session)
    view = await service.create_image(session, storage, owner, checked, public_url=settings.public_url)
    token = await service.share_image(session, owner, view.image.id)
    return AnonymousUpload(
        image_id=view.image.id,
        share_token=token,
        share_url=service.share_url(settings.public_url, token),
        width=view.image.original_width,
        height=view.image.original_height,
        format=view.image.original_format,
    )


@router.post(
    "/images/{image_id}/enhance",
    openapi_extra=errors(image_not_found=404),
    response_model=Job,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[_limit("enhance")],
)
async def enhance(image_id: str, body: AnonymousEnhanceRequest, session: DbSession) -> Job:
    """Queue a FREE enhancement of an anonymous upload (404 without its share token)."""
    queued = await jobs.enhance_anonymous(session, image_id, body.share_token)
    return Job.model_validate(queued.job)
