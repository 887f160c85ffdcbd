"""The featured gallery: the items in display order with before/after previews, dragged (or moved
with Alt+Arrow keys) into a new order; a new item picked from the completed enhancement jobs; an
item's edit, activation and deletion. Every change goes through ``gallery.featured`` as the admin
API's does (``gallery/featured_api.py``): the API's request schemas check the fields, the public
listing's cache is invalidated when the change commits, and the audit trail gets the API's names
(``FEATURED_CREATE``, ``FEATURED_UPDATE``, ``FEATURED_DELETE``, ``FEATURED_REORDER``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.console.forms import schema_of
from spikeland.console.lookups import emails_of, user_filter
from spikeland.console.web import (
    Admin,
    ConsoleAction,
    ConsoleAdmin,
    ConsoleRoute,
    audited,
    choice,
    done,
    page_url,
    render,
)
from spikeland.core.deps import SettingsDep
from spikeland.core.errors import ValidationFailed
from spikeland.db.enums import JobStatus
from spikeland.db.session import DbSession
from spikeland.gallery import featured
from spikeland.gallery.featured import FeaturedCache
from spikeland.gallery.featured_api import Cache
from spikeland.gallery.featured_schemas import (
    MAX_REORDER,
    FeaturedItemCreate,
    FeaturedItemUpdate,
    FeaturedOrder,
)
from spikeland.gallery.models import FeaturedGalleryItem, GalleryCategory
from spikeland.images import admin_jobs as enhancement_jobs
from spikeland.worker import job_admin

router = APIRouter(prefix="/admin/gallery", route_class=ConsoleRoute, include_in_schema=False)
CATEGORIES = [(c.value, c.value.title()) for c in GalleryCategory]
PICKS = 12  # completed jobs a page on the "new item" page (two previews each)


@router.get("", response_class=HTMLResponse)
async def gallery(
    request: Request, admin: ConsoleAdmin, session: DbSession, cursor: str | None = None
) -> HTMLResponse:
    # A curated showcase: the reorder form covers one page of up to MAX_REORDER items (the API's
    # bound), so the first page holds them all in practice and is the one offered for reordering.
    page = await featured.list_items(session, limit=MAX_REORDER, cursor=cursor)
    return render(
        request,
        "gallery.html",
        items=page.items,
        reorderable=cursor is None and len(page.items) > 1,
        next_url=page_url(request, page.next_cursor),
    )


@router.post("/order")
async def reorder(
    request: Request,
    admin: ConsoleAction,
    session: DbSession,
    cache: Cache,
    order: Annotated[str, Form(max_length=MAX_REORDER * 65)],
) -> RedirectResponse:
    body = schema_of(FeaturedOrder, item_ids=[item_id for item_id in order.split(",") if item_id])
    await featured.reorder(session, admin.user, body.item_ids)
    await audited(session, request, admin, "FEATURED_REORDER", None, item_ids=body.item_ids)
    cache.invalidate_after_commit(session)
    return done("/admin/gallery", f"The new order of {len(body.item_ids)} items is saved.")


@router.get("/new", response_class=HTMLResponse)
async def new_item(
    request: Request,
    admin: ConsoleAdmin,
    session: DbSession,
    user: str | None = None,
    job: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    """Completed enhancement jobs to pick from, newest first (or the one ``job`` named)."""
    next_url = None
    if job:
        chosen = await enhancement_jobs.get(session, job)
        jobs: list[Any] = [chosen] if chosen.status == JobStatus.COMPLETED else []
    else:
        wanted = job_admin.JobFilter(JobStatus.COMPLETED, user_id=await user_filter(session, user))
        page = await job_admin.list_jobs(session, enhancement_jobs.MODEL, wanted, cursor=cursor, limit=PICKS)
        jobs, next_url = page.items, page_url(request, page.next_cursor)
    ids = [j.id for j in jobs]
    featured_ids = (
        set(
            await session.scalars(
                select(FeaturedGalleryItem.source_job_id).where(FeaturedGalleryItem.source_job_id.in_(ids))
            )
        )
        if ids
        else set()
    )
    return render(
        request,
        "gallery_new.html",
        jobs=jobs,
        chosen=job,
        featured_ids=featured_ids,
        emails=await emails_of(session, (j.user_id for j in jobs)),
        values={"user": user},
        categories=CATEGORIES,
        next_url=next_url,
    )


@router.post("")
async def create_item(
    request: Request,
    admin: ConsoleAction,
    session: DbSession,
    cache: Cache,
    settings: SettingsDep,
    title: Annotated[str, Form()],
    category: Annotated[str, Form()],
    source_job_id: Annotated[str | None, Form()] = None,
    description: Annotated[str, Form()] = "",
    is_active: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    if not source_job_id:
        raise ValidationFailed("Pick a completed job to feature.", code="validation_error")
    body = schema_of(
        FeaturedItemCreate,
        title=title,
        description=description.strip() or None,
        category=choice(GalleryCategory, category),
        source_job_id=source_job_id,
        is_active=is_active,
    )
    item = await featured.create_item(session, admin.user, body, public_url=settings.public_url)
    await audited(session, request, admin, "FEATURED_CREATE", item.id, source_job_id=source_job_id)
    cache.invalidate_after_commit(session)
    shown = "shown" if item.is_active else "hidden until activated"
    return done("/admin/gallery", f"“{item.title}” was added to the gallery ({shown}).")


@router.get("/{item_id}", response_class=HTMLResponse)
async def item_page(request: Request, item_id: str, admin: ConsoleAdmin, session: DbSession) -> HTMLResponse:
    item = await featured.get_item(session, item_id)
    return render(request, "gallery_item.html", item=item, categories=CATEGORIES)


async def _update(
    request: Request, admin: Admin, session: AsyncSession, cache: FeaturedCache, item_id: str, **fields: Any
) -> FeaturedGalleryItem:
    body = schema_of(FeaturedItemUpdate, **fields)
    item = await featured.update_item(session, admin.user, item_id, body)
    await audited(session, request, admin, "FEATURED_UPDATE", item_id, fields=sorted(body.model_fields_set))
    cache.invalidate_after_commit(session)
    return item


@router.post("/{item_id}")
async def edit_item(
    request: Request,
    item_id: str,
    admin: ConsoleAction,
    session: DbSession,
    cache: Cache,
    title: Annotated[str, Form()],
    category: Annotated[str, Form()],
    description: Annotated[str, Form()] = "",
    is_active: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    item = await _update(
        request,
        admin,
        session,
        cache,
        item_id,
        title=title,
        description=description.strip() or None,  # empty clears it
        category=choice(GalleryCategory, category),
        is_active=is_active,
    )
    return done(f"/admin/gallery/{item_id}", f"“{item.title}” was saved.")


@router.post("/{item_id}/active")
async def set_active(
    request: Request,
    item_id: str,
    admin: ConsoleAction,
    session: DbSession,
    cache: Cache,
    active: Annotated[bool, Form()],
) -> RedirectResponse:
    item = await _update(request, admin, session, cache, item_id, is_active=active)
    state = "is shown in the gallery" if item.is_active else "is hidden from the gallery"
    return done("/admin/gallery", f"“{item.title}” {state}.")


@router.post("/{item_id}/delete")
async def delete_item(
    request: Request, item_id: str, admin: ConsoleAction, session: DbSession, cache: Cache
) -> RedirectResponse:
    item = await featured.get_item(session, item_id)
    await featured.delete_item(session, admin.user, item_id)
    await audited(session, request, admin, "FEATURED_DELETE", item_id, title=item.title)
    cache.invalidate_after_commit(session)
    return done("/admin/gallery", f"“{item.title}” was deleted from the gallery.")
