"""Uploaded images: upload, list, read, edit, delete, share links and file downloads.

``GET /share/{token}`` itself (an image's or an album's link) is served above both domains, by
``spikeland.share_api``; the shared image's downloads stay here."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Response, UploadFile, status

from spikeland.core.deps import SettingsDep
from spikeland.core.errors import NotFound
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.core.wire import Rows
from spikeland.db.session import DbSession, DbUnit
from spikeland.identity.deps import (
    CurrentCaller,
    OptionalCaller,
    OptionalPrincipal,
    caller_id,
    user_id_of,
)
from spikeland.images import reads, service
from spikeland.images.deps import LimitPublic, LimitUploads, read_upload
from spikeland.images.schemas import ImageOut, ImagePage, ImageUpdate, ShareOut, image_out
from spikeland.integrations.deps import StorageDep

router = APIRouter(route_class=Route, tags=["images"])

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_TIER_LABELS = {"FREE": "free", "TIER_1K": "1k", "TIER_2K": "2k", "TIER_4K": "4k"}


def _file(data: bytes, content_type: str, filename: str) -> Response:
    return Response(
        content=data,
        media_type=content_type,
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            "Cache-Control": "private",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _filename(name: str, ext: str, suffix: str = "") -> str:
    """An ASCII-only file name from the display name (no quoting or header tricks possible)."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = _UNSAFE.sub("_", stem).strip("_")[:100] or "image"
    return f"{stem}{suffix}.{ext}"


@router.post(
    "/images",
    openapi_extra=errors(unsupported_image_type=415, file_too_large=413),
    response_model=ImageOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[LimitUploads],
)
async def upload_image(
    caller: CurrentCaller,
    session: DbSession,
    storage: StorageDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="A JPEG, PNG or WebP image.")],
) -> ImageOut:
    upload = await read_upload(settings, file)
    public_url = settings.public_url
    view = await service.create_image(session, storage, caller.user_id, upload, public_url=public_url)
    return image_out(view, caller.user_id)


@router.get("/images", response_model=ImagePage)
async def list_images(
    caller: CurrentCaller,
    db: DbUnit,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> Rows:
    return Rows(await reads.list_images(db, caller.user_id, limit=limit, cursor=cursor))


@router.get("/images/{image_id}", openapi_extra=errors(image_not_found=404), response_model=ImageOut)
async def get_image(image_id: str, db: DbUnit, caller: OptionalCaller) -> Rows:
    """The owner's image, or anyone's public image (signed in or not; a view is counted)."""
    return Rows(await reads.read_image(db, image_id, caller_id(caller)))


@router.patch("/images/{image_id}", openapi_extra=errors(image_not_found=404), response_model=ImageOut)
async def update_image(
    image_id: str, body: ImageUpdate, caller: CurrentCaller, session: DbSession
) -> ImageOut:
    changes = body.model_dump(include=body.model_fields_set)
    view = await service.update_image(session, caller.user_id, image_id, **changes)
    return image_out(view, caller.user_id)


@router.delete(
    "/images/{image_id}", openapi_extra=errors(image_not_found=404), status_code=status.HTTP_204_NO_CONTENT
)
async def delete_image(
    image_id: str, caller: CurrentCaller, session: DbSession, storage: StorageDep, background: BackgroundTasks
) -> Response:
    keys = await service.delete_image(session, caller.user_id, image_id)
    # Background tasks run after the response, so after the request's transaction committed.
    background.add_task(service.remove_files, storage, keys)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/images/{image_id}/share", openapi_extra=errors(image_not_found=404), response_model=ShareOut)
async def share_image(
    image_id: str, caller: CurrentCaller, session: DbSession, settings: SettingsDep
) -> ShareOut:
    token = await service.share_image(session, caller.user_id, image_id)
    return ShareOut(share_token=token, share_url=service.share_url(settings.public_url, token))


@router.delete(
    "/images/{image_id}/share",
    openapi_extra=errors(image_not_found=404),
    status_code=status.HTTP_204_NO_CONTENT,
)
async def revoke_share(image_id: str, caller: CurrentCaller, session: DbSession) -> Response:
    await service.revoke_share(session, caller.user_id, image_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/images/{image_id}/original",
    openapi_extra=errors(image_not_found=404),
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
)
async def download_original(
    image_id: str, session: DbSession, storage: StorageDep, principal: OptionalPrincipal
) -> Response:
    image = await service.image_readable_by(session, image_id, user_id_of(principal))
    data = await service.read_file(storage, image.original_r2_key)
    ext = image.original_r2_key.rsplit(".", 1)[-1]
    return _file(data, service.content_type_of(image), _filename(image.name, ext))


@router.get(
    "/share/{token}/original",
    openapi_extra=errors(share_not_found=404),
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
    dependencies=[LimitPublic],
)
async def download_shared_original(token: str, session: DbSession, storage: StorageDep) -> Response:
    image = (await service.resolve_share(session, token)).image
    data = await service.read_file(storage, image.original_r2_key)
    ext = image.original_r2_key.rsplit(".", 1)[-1]
    return _file(data, service.content_type_of(image), _filename(image.name, ext, "_original"))


@router.get(
    "/share/{token}/enhanced",
    openapi_extra=errors(share_not_found=404),
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
    dependencies=[LimitPublic],
)
async def download_shared_enhanced(token: str, session: DbSession, storage: StorageDep) -> Response:
    shared = await service.resolve_share(session, token)
    latest = shared.enhancement
    if latest is None:
        raise NotFound("This image has no finished enhancement.", code="enhancement_not_found")
    data = await service.read_file(storage, latest.key)
    suffix = f"_enhanced_{_TIER_LABELS.get(latest.tier.value, 'x')}"
    return _file(data, "image/jpeg", _filename(shared.image.name, "jpg", suffix))
