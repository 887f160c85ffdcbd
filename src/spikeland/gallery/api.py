"""Albums over HTTP (CRUD, share link, images, order, uploads, batch enhance, file downloads) and
the public gallery (public images, public albums).

An album is read by its owner, or by anyone when PUBLIC; everything else is the owner's, and
anyone else gets 404. An UNLISTED album opens through ``GET /share/{token}`` (``spikeland.share_api``,
above images and gallery).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, File, Request, Response, UploadFile, status

from spikeland.core import http_cache, wire
from spikeland.core.deps import IdempotencyKey, SettingsDep
from spikeland.core.errors import NotFound
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.core.wire import Rows
from spikeland.db.session import DbSession, DbUnit
from spikeland.gallery import reads, service
from spikeland.gallery.schemas import (
    AlbumCreate,
    AlbumEnhancement,
    AlbumEnhanceRequest,
    AlbumImages,
    AlbumOut,
    AlbumPage,
    AlbumUpdate,
    AlbumUpload,
    ImageIds,
    ImageOrder,
    album_image_out,
    album_out,
)
from spikeland.identity.deps import CurrentCaller, CurrentUser, OptionalPrincipal, user_id_of
from spikeland.images import reads as image_reads
from spikeland.images import service as images
from spikeland.images.deps import LimitEnhancements, LimitPublic, LimitUploads, read_upload
from spikeland.images.job_schemas import Job
from spikeland.images.schemas import ImagePage, ShareOut, image_out
from spikeland.integrations.deps import StorageDep
from spikeland.settings import Settings

router = APIRouter(route_class=Route, tags=["gallery"])

# The gallery's first page as sent, per limit: the most read page, and one anyone may see a few
# seconds late (a shared cache keeps it longer: PUBLIC_SHORT).
FIRST_PAGE_SECONDS = 10


async def first_page_cache(request: Request) -> http_cache.TtlCache[int, http_cache.Rendered]:
    """The application's cache, made on first use (async: see ``featured_api.featured_cache``)."""
    state = request.app.state
    cache: http_cache.TtlCache[int, http_cache.Rendered] | None = getattr(state, "gallery_first_page", None)
    if cache is None:
        cache = state.gallery_first_page = http_cache.TtlCache(FIRST_PAGE_SECONDS)
    return cache


FirstPageCache = Annotated[http_cache.TtlCache[int, http_cache.Rendered], Depends(first_page_cache)]

# A public album reads the same for everyone signed out, so shared caches may keep it; the owner
# (and anyone signed in) is answered privately, and ``Vary`` keeps the two apart in a cache.
_BY_VIEWER = "Authorization, Cookie"


def _album_cache_control(viewer_id: str | None) -> str:
    return http_cache.PUBLIC_SHORT if viewer_id is None else http_cache.PRIVATE


class Variant(StrEnum):
    ORIGINAL = "original"
    ENHANCED = "enhanced"


def _api_url(settings: Settings, path: str) -> str:
    return f"{settings.public_url.rstrip('/')}/api/v1{path}"


def _items(
    settings: Settings, items: list[service.AlbumItem], viewer_id: str | None, files: str
) -> AlbumImages:
    """``files``: the path of the images' file route, up to the image id."""
    return AlbumImages(
        items=[
            album_image_out(
                item,
                image_out(item.view, viewer_id),
                _api_url(settings, f"{files}/{item.view.image.id}/file"),
            )
            for item in items
        ]
    )


async def _download(storage: StorageDep, view: images.ImageView, variant: Variant) -> Response:
    image = view.image
    if variant == Variant.ENHANCED:
        if view.enhancement is None:
            raise NotFound("This image has no finished enhancement.", code="enhancement_not_found")
        data = await images.read_file(storage, view.enhancement.key)
        media_type, name = "image/jpeg", f"{image.id}_enhanced.jpg"
    else:
        data = await images.read_file(storage, image.original_r2_key)
        media_type = images.content_type_of(image)
        name = f"{image.id}.{image.original_r2_key.rsplit('.', 1)[-1]}"
    return Response(
        content=data,
        media_type=media_type,
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            "Cache-Control": "private",
            "X-Content-Type-Options": "nosniff",
        },
    )


_FILE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}
}

# ----------------------------------------------------------------------------- albums


@router.post(
    "/albums",
    openapi_extra=errors(album_exists=409),
    response_model=AlbumOut,
    status_code=status.HTTP_201_CREATED,
)
async def create_album(
    body: AlbumCreate, user: CurrentUser, session: DbSession, settings: SettingsDep
) -> AlbumOut:
    """409 ``album_exists`` when the user has an album of this name and privacy already."""
    view = await service.create_album(session, user.id, body)
    return album_out(view, user.id, settings.public_url)


@router.get("/albums", response_model=AlbumPage)
async def list_albums(
    caller: CurrentCaller,
    settings: SettingsDep,
    db: DbUnit,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> Rows:
    """The caller's albums by ``sortOrder`` (then oldest first)."""
    return Rows(await reads.list_albums(db, caller.user_id, settings.public_url, limit=limit, cursor=cursor))


@router.get("/albums/{album_id}", openapi_extra=errors(album_not_found=404), response_model=AlbumOut)
async def get_album(
    album_id: str,
    session: DbSession,
    principal: OptionalPrincipal,
    settings: SettingsDep,
    if_none_match: http_cache.IfNoneMatch = None,
) -> Response:
    """The owner's album, or anyone's PUBLIC album (an UNLISTED one only through its share link)."""
    viewer_id = user_id_of(principal)
    view = await service.read_album(session, album_id, viewer_id)
    body = album_out(view, viewer_id, settings.public_url)
    return http_cache.respond(if_none_match, body, _album_cache_control(viewer_id), vary=_BY_VIEWER)


@router.patch(
    "/albums/{album_id}", openapi_extra=errors(album_not_found=404, album_exists=409), response_model=AlbumOut
)
async def update_album(
    album_id: str, body: AlbumUpdate, caller: CurrentCaller, session: DbSession, settings: SettingsDep
) -> AlbumOut:
    """Making an album PRIVATE revokes its share link; UNLISTED or PUBLIC draws one if missing."""
    changes = body.model_dump(include=body.model_fields_set)
    view = await service.update_album(session, caller.user_id, album_id, changes)
    return album_out(view, caller.user_id, settings.public_url)


@router.delete(
    "/albums/{album_id}", openapi_extra=errors(album_not_found=404), status_code=status.HTTP_204_NO_CONTENT
)
async def delete_album(album_id: str, caller: CurrentCaller, session: DbSession) -> Response:
    """The album goes; its images stay."""
    await service.delete_album(session, caller.user_id, album_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/albums/{album_id}/share",
    openapi_extra=errors(album_not_found=404, album_private=409),
    response_model=ShareOut,
)
async def share_album(
    album_id: str, caller: CurrentCaller, session: DbSession, settings: SettingsDep
) -> ShareOut:
    """The share link of an UNLISTED or PUBLIC album (409 ``album_private`` for a PRIVATE one)."""
    token = await service.share_album(session, caller.user_id, album_id)
    return ShareOut(share_token=token, share_url=images.share_url(settings.public_url, token))


# ----------------------------------------------------------------------------- an album's images


@router.get(
    "/albums/{album_id}/images", openapi_extra=errors(album_not_found=404), response_model=AlbumImages
)
async def album_images(
    album_id: str,
    session: DbSession,
    principal: OptionalPrincipal,
    settings: SettingsDep,
    if_none_match: http_cache.IfNoneMatch = None,
) -> Response:
    """All the album's images in its order (owner, or anyone for a PUBLIC album)."""
    viewer_id = user_id_of(principal)
    album, items = await service.readable_items(session, album_id, viewer_id)
    body = _items(settings, items, viewer_id, f"/albums/{album.id}/images")
    return http_cache.respond(if_none_match, body, _album_cache_control(viewer_id), vary=_BY_VIEWER)


@router.post(
    "/albums/{album_id}/images",
    openapi_extra=errors(album_not_found=404, image_not_found=404, image_in_album=409),
    response_model=AlbumImages,
    status_code=status.HTTP_201_CREATED,
)
async def add_images(
    album_id: str, body: ImageIds, caller: CurrentCaller, session: DbSession, settings: SettingsDep
) -> AlbumImages:
    """Append the caller's images (all or none): 404 for an image not theirs, 409 ``image_in_album``."""
    items = await service.add_images(session, caller.user_id, album_id, body.image_ids)
    return _items(settings, items, caller.user_id, f"/albums/{album_id}/images")


@router.delete(
    "/albums/{album_id}/images/{image_id}",
    openapi_extra=errors(album_not_found=404, image_not_found=404),
    status_code=status.HTTP_204_NO_CONTENT,
)
async def remove_image(album_id: str, image_id: str, caller: CurrentCaller, session: DbSession) -> Response:
    await service.remove_image(session, caller.user_id, album_id, image_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/albums/{album_id}/order", openapi_extra=errors(album_not_found=404), response_model=AlbumImages)
async def reorder(
    album_id: str, body: ImageOrder, caller: CurrentCaller, session: DbSession, settings: SettingsDep
) -> AlbumImages:
    """Every image of the album, once each, in the new order (422 ``invalid_order`` otherwise)."""
    items = await service.reorder(session, caller.user_id, album_id, body.image_ids)
    return _items(settings, items, caller.user_id, f"/albums/{album_id}/images")


@router.get(
    "/albums/{album_id}/images/{image_id}/file",
    openapi_extra=errors(album_not_found=404, image_not_found=404),
    response_class=Response,
    responses=_FILE_RESPONSES,
)
async def album_image_file(
    album_id: str,
    image_id: str,
    session: DbSession,
    storage: StorageDep,
    principal: OptionalPrincipal,
    variant: Variant = Variant.ORIGINAL,
) -> Response:
    """An image's original or latest enhanced file, for whoever may read the album."""
    view = await service.readable_image(session, album_id, image_id, user_id_of(principal))
    return await _download(storage, view, variant)


@router.get(
    "/share/{token}/images/{image_id}/file",
    openapi_extra=errors(share_not_found=404, image_not_found=404),
    response_class=Response,
    responses=_FILE_RESPONSES,
    dependencies=[LimitPublic],
)
async def shared_image_file(
    token: str,
    image_id: str,
    session: DbSession,
    storage: StorageDep,
    variant: Variant = Variant.ORIGINAL,
) -> Response:
    """An image of a shared album, for whoever holds the album's share link."""
    view = await service.shared_image(session, token, image_id)
    return await _download(storage, view, variant)


# ----------------------------------------------------------------------------- uploads and enhancement


@router.post(
    "/albums/{album_id}/upload",
    openapi_extra=errors(album_not_found=404, unsupported_image_type=415, file_too_large=413),
    response_model=AlbumUpload,
    status_code=status.HTTP_201_CREATED,
    dependencies=[LimitUploads],
)
async def upload_to_album(
    album_id: str,
    caller: CurrentCaller,
    session: DbSession,
    storage: StorageDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="A JPEG, PNG or WebP image.")],
) -> AlbumUpload:
    """Upload into the album and queue its enhancement at the album's tier with its pipeline
    (402 ``insufficient_tokens`` when short: then nothing is kept)."""
    upload = await read_upload(settings, file)
    view, queued = await service.upload_to_album(
        session, storage, caller.user_id, album_id, upload, public_url=settings.public_url
    )
    return AlbumUpload(
        image=image_out(view, caller.user_id), job=Job.model_validate(queued.job), balance=queued.balance
    )


@router.post(
    "/albums/{album_id}/enhance",
    openapi_extra=errors(album_not_found=404, insufficient_tokens=402),
    response_model=AlbumEnhancement,
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[LimitEnhancements],
)
async def enhance_album(
    album_id: str,
    caller: CurrentCaller,
    session: DbSession,
    body: AlbumEnhanceRequest | None = None,
    key: IdempotencyKey = None,
) -> AlbumEnhancement:
    """One paid job per image (≤ 100) at the tier (default the album's) with the album's pipeline;
    all or none (402 ``insufficient_tokens``)."""
    tier = body.tier if body else None
    queued = await service.enhance_album(session, caller.user_id, album_id, tier, idempotency_key=key)
    return AlbumEnhancement(
        jobs=[Job.model_validate(q.job) for q in queued],
        total_cost=sum(q.job.tokens_cost for q in queued),
        balance=queued[-1].balance,
    )


# ----------------------------------------------------------------------------- public gallery


@router.get("/gallery/images", response_model=ImagePage)
async def public_images(
    db: DbUnit,
    first_pages: FirstPageCache,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
    if_none_match: http_cache.IfNoneMatch = None,
) -> Response:
    """Everyone's public images, newest first (no sign-in needed; the first page may be seconds old)."""
    rendered = first_pages.get(limit) if cursor is None else None
    if rendered is None:
        payload = await image_reads.list_public_images(db, limit=limit, cursor=cursor)
        rendered = http_cache.rendered(wire.render(ImagePage, payload))
        if cursor is None:
            first_pages.put(limit, rendered)
    return http_cache.respond(if_none_match, rendered, http_cache.PUBLIC_SHORT)


@router.get("/gallery/albums", response_model=AlbumPage)
async def public_albums(
    session: DbSession,
    settings: SettingsDep,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
    if_none_match: http_cache.IfNoneMatch = None,
) -> Response:
    """PUBLIC albums with at least one image, newest first (no sign-in needed)."""
    page = await service.public_albums(session, limit=limit, cursor=cursor)
    public_url = settings.public_url
    body = AlbumPage(items=[album_out(v, None, public_url) for v in page.items], next_cursor=page.next_cursor)
    return http_cache.respond(if_none_match, body, http_cache.PUBLIC_SHORT)
