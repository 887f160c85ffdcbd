"""The featured gallery over HTTP: the admin's curation under ``/admin/featured-gallery`` and the
public, cached listing under ``/gallery/featured``.

Every admin change invalidates this process's cache when the request's transaction commits.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status

from spikeland.core import http_cache
from spikeland.core.deps import SettingsDep
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageLimit
from spikeland.core.routing import Route
from spikeland.db.session import DbSession, DbUnit
from spikeland.gallery import featured
from spikeland.gallery.featured_schemas import (
    FeaturedAdminPage,
    FeaturedGallery,
    FeaturedItemCreate,
    FeaturedItemList,
    FeaturedItemOut,
    FeaturedItemUpdate,
    FeaturedOrder,
)
from spikeland.gallery.models import GalleryCategory
from spikeland.identity.deps import AdminUser, audited
from spikeland.images.service import content_type_of_key, read_file
from spikeland.integrations.deps import StorageDep

admin_router = APIRouter(route_class=Route, prefix="/admin/featured-gallery", tags=["admin"])
public_router = APIRouter(route_class=Route, prefix="/gallery/featured", tags=["gallery"])


async def featured_cache(request: Request) -> featured.FeaturedCache:
    """The application's cache, made on first use (one per application, so one per process).

    async: on the event loop two first requests cannot both make one (a sync dependency would
    run in worker threads, and cost a thread hop per request)."""
    state = request.app.state
    cache: featured.FeaturedCache | None = getattr(state, "featured_gallery_cache", None)
    if cache is None:
        cache = featured.FeaturedCache()
        state.featured_gallery_cache = cache
    return cache


Cache = Annotated[featured.FeaturedCache, Depends(featured_cache)]


@public_router.get("", response_model=FeaturedGallery)
async def featured_gallery(
    db: DbUnit,
    cache: Cache,
    category: GalleryCategory | None = None,
    if_none_match: http_cache.IfNoneMatch = None,
) -> Response:
    """Active items, by sortOrder then newest first; anyone may read, shared caches may keep it 60 s."""
    gallery = await featured.public_gallery(db, cache, category)
    return http_cache.respond(if_none_match, gallery, f"public, max-age={featured.CACHE_SECONDS}")


@public_router.get("/{item_id}/{which}", response_class=Response)
async def featured_file(
    item_id: str, which: Literal["original", "enhanced"], session: DbSession, storage: StorageDep
) -> Response:
    """The original or enhanced image of an active item made from a job (anyone may read)."""
    key = await featured.public_file_key(session, item_id, which)
    data = await read_file(storage, key)
    return Response(
        data,
        media_type="image/jpeg" if which == "enhanced" else content_type_of_key(key),
        headers={"Cache-Control": f"public, max-age={featured.CACHE_SECONDS}"},
    )


@admin_router.get("", response_model=FeaturedAdminPage)
async def list_items(
    actor: AdminUser,
    session: DbSession,
    category: GalleryCategory | None = None,
    active: bool | None = None,
    limit: PageLimit = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> FeaturedAdminPage:
    page = await featured.list_items(session, category=category, active=active, limit=limit, cursor=cursor)
    return FeaturedAdminPage(
        items=[FeaturedItemOut.model_validate(item) for item in page.items], next_cursor=page.next_cursor
    )


@admin_router.post(
    "",
    openapi_extra=errors(job_not_completed=409),
    response_model=FeaturedItemOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[audited("FEATURED_CREATE")],
)
async def create_item(
    body: FeaturedItemCreate, actor: AdminUser, session: DbSession, cache: Cache, settings: SettingsDep
) -> FeaturedItemOut:
    item = await featured.create_item(session, actor, body, public_url=settings.public_url)
    cache.invalidate_after_commit(session)
    return FeaturedItemOut.model_validate(item)


@admin_router.put("/order", response_model=FeaturedItemList, dependencies=[audited("FEATURED_REORDER")])
async def reorder(
    body: FeaturedOrder, actor: AdminUser, session: DbSession, cache: Cache
) -> FeaturedItemList:
    items = await featured.reorder(session, actor, body.item_ids)
    cache.invalidate_after_commit(session)
    return FeaturedItemList(items=[FeaturedItemOut.model_validate(item) for item in items])


@admin_router.get(
    "/{item_id}", openapi_extra=errors(featured_item_not_found=404), response_model=FeaturedItemOut
)
async def get_item(item_id: str, actor: AdminUser, session: DbSession) -> FeaturedItemOut:
    return FeaturedItemOut.model_validate(await featured.get_item(session, item_id))


@admin_router.patch(
    "/{item_id}",
    openapi_extra=errors(featured_item_not_found=404),
    response_model=FeaturedItemOut,
    dependencies=[audited("FEATURED_UPDATE")],
)
async def update_item(
    item_id: str, body: FeaturedItemUpdate, actor: AdminUser, session: DbSession, cache: Cache
) -> FeaturedItemOut:
    item = await featured.update_item(session, actor, item_id, body)
    cache.invalidate_after_commit(session)
    return FeaturedItemOut.model_validate(item)


@admin_router.delete(
    "/{item_id}",
    openapi_extra=errors(featured_item_not_found=404),
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[audited("FEATURED_DELETE")],
)
async def delete_item(item_id: str, actor: AdminUser, session: DbSession, cache: Cache) -> None:
    await featured.delete_item(session, actor, item_id)
    cache.invalidate_after_commit(session)
