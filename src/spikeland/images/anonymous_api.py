"""Visitors without an account: upload a picture and enhance it at the FREE tier.

The image belongs to the system "anonymous" user and is private; the visitor gets its share token,
which opens it (``/share/{token}``) and allows enhancing it. Their jobs are readable by id
(``GET /jobs/{id}``, ``/download``, ``/events``). Both calls are limited per IP.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile, status

from spikeland.core.ratelimit import RateLimiter
from spikeland.core.schemas import Schema
from spikeland.db.session import DbSession
from spikeland.identity.deps import client_ip, settings_of
from spikeland.images import jobs, service
from spikeland.images.deps import (
    LimiterDep,
    StorageDep,
    read_upload,
)
from spikeland.images.job_schemas import AnonymousEnhanceRequest, Job

router = APIRouter(prefix="/anonymous", tags=["anonymous"])


class AnonymousUpload(Schema):
    image_id: str
    share_token: str
    share_url: str
    width: int
    height: int
    format: str


def _limit(request: Request, limiter: RateLimiter, action: str) -> None:
    settings = settings_of(request)
    key = f"anonymous-{action}:{client_ip(request)}"
    limit = settings.anonymous_enhancements_per_minute
    limiter.take(key, limit, 60, "Too many requests; sign up or wait.")


@router.post("/images", response_model=AnonymousUpload, status_code=status.HTTP_201_CREATED)
async def upload(
    request: Request,
    session: DbSession,
    storage: StorageDep,
    limiter: LimiterDep,
    file: Annotated[UploadFile, File(description="A JPEG, PNG or WebP image.")],
) -> AnonymousUpload:
    _limit(request, limiter, "upload")
    settings = settings_of(request)
    checked = await read_upload(request, file)
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


@router.post("/images/{image_id}/enhance", response_model=Job, status_code=status.HTTP_202_ACCEPTED)
async def enhance(
    image_id: str, body: AnonymousEnhanceRequest, request: Request, session: DbSession, limiter: LimiterDep
) -> Job:
    """Queue a FREE enhancement of an anonymous upload (404 without its share token)."""
    _limit(request, limiter, "enhance")
    queued = await jobs.enhance_anonymous(session, image_id, body.share_token)
    return Job.model_validate(queued.job)
