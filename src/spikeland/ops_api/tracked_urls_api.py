"""Tracked URLs for admins (``/admin/tracked-urls``) and the public ``/sitemap.xml``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from xml.sax.saxutils import escape

from fastapi import APIRouter, Query, Response, status
from pydantic import StringConstraints

from spikeland.analytics import tracked_urls
from spikeland.core import http_cache
from spikeland.core.deps import SettingsDep
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.core.schemas import RequestSchema, Schema
from spikeland.db.session import DbSession
from spikeland.gallery import service as gallery
from spikeland.identity.deps import AdminUser, audited

admin_router = APIRouter(route_class=Route, prefix="/admin/tracked-urls", tags=["admin"])
sitemap_router = APIRouter(route_class=Route, tags=["ops"])

SITEMAP_LIMIT = 50_000  # URLs in one sitemap file (the protocol's limit)
Path = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class TrackedUrlOut(Schema):
    id: str
    path: str
    label: str | None
    is_active: bool
    created_by_id: str
    created_at: datetime
    updated_at: datetime


class TrackedUrlPage(Schema):
    items: list[TrackedUrlOut]
    next_cursor: str | None


class TrackedUrlIn(RequestSchema):
    path: Path
    label: Label | None = None


class TrackedUrlChange(RequestSchema):
    path: Path | None = None
    label: Label | None = None
    is_active: bool | None = None


_WRITE_ERRORS = errors(invalid_path=422, tracked_url_exists=409)


@admin_router.get("", response_model=TrackedUrlPage)
async def list_urls(
    actor: AdminUser,
    session: DbSession,
    active: Annotated[bool | None, Query()] = None,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> TrackedUrlPage:
    page = await tracked_urls.list_urls(session, active=active, cursor=cursor, limit=limit)
    return TrackedUrlPage(
        items=[TrackedUrlOut.model_validate(row) for row in page.items], next_cursor=page.next_cursor
    )


@admin_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TrackedUrlOut,
    openapi_extra=_WRITE_ERRORS,
    dependencies=[audited("TRACKED_URL_CREATE")],
)
async def create_url(body: TrackedUrlIn, actor: AdminUser, session: DbSession) -> TrackedUrlOut:
    """Track a path of the site ("/pricing"): no scheme or host, unique."""
    row = await tracked_urls.create(session, path=body.path, label=body.label, admin_id=actor.id)
    return TrackedUrlOut.model_validate(row)


@admin_router.patch(
    "/{url_id}",
    response_model=TrackedUrlOut,
    openapi_extra=errors(invalid_path=422, tracked_url_exists=409, tracked_url_not_found=404),
    dependencies=[audited("TRACKED_URL_UPDATE")],
)
async def update_url(
    url_id: str, body: TrackedUrlChange, actor: AdminUser, session: DbSession
) -> TrackedUrlOut:
    """Change the path, the label (an empty one clears it) or whether it is active."""
    row = await tracked_urls.update(
        session,
        url_id,
        path=body.path,
        label=body.label or None,
        clear_label=body.label == "",
        active=body.is_active,
    )
    return TrackedUrlOut.model_validate(row)


@admin_router.delete(
    "/{url_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    openapi_extra=errors(tracked_url_not_found=404),
    dependencies=[audited("TRACKED_URL_DELETE")],
)
async def delete_url(url_id: str, actor: AdminUser, session: DbSession) -> None:
    await tracked_urls.remove(session, url_id)


@sitemap_router.get("/sitemap.xml", response_class=Response)
async def sitemap(session: DbSession, settings: SettingsDep) -> Response:
    """The site's pages for search engines: the home page, the public gallery, every active tracked
    path and every public album's page (up to 50,000 URLs; clients may keep it 30 seconds)."""
    base = settings.public_url.rstrip("/")
    paths = ["/", "/gallery", *await tracked_urls.active_paths(session, SITEMAP_LIMIT)]
    cursor: str | None = None
    while len(paths) < SITEMAP_LIMIT:
        page = await gallery.public_albums(session, limit=100, cursor=cursor)
        paths += [f"/share/{view.album.share_token}" for view in page.items if view.album.share_token]
        cursor = page.next_cursor
        if cursor is None:
            break
    unique = list(dict.fromkeys(paths))[:SITEMAP_LIMIT]
    body = "".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>\n',
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n',
            *(f"  <url><loc>{escape(base + path)}</loc></url>\n" for path in unique),
            "</urlset>\n",
        ]
    )
    return Response(body, media_type="application/xml", headers={"Cache-Control": http_cache.PUBLIC_SHORT})
