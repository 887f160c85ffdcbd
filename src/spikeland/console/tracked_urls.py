"""Tracked URLs: the site's paths an admin follows (and lists in the sitemap) — the list (all,
active or inactive; keyset pages), adding one, editing its path, label and whether it is active,
removing it; through ``analytics.tracked_urls`` as the admin API does, each with the API's audit
action (TRACKED_URL_CREATE/UPDATE/DELETE)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from spikeland.analytics import tracked_urls
from spikeland.console.forms import schema_of
from spikeland.console.web import ConsoleAction, ConsoleAdmin, ConsoleRoute, audited, done, page_url, render
from spikeland.core.errors import ValidationFailed
from spikeland.db.session import DbSession
from spikeland.ops_api.tracked_urls_api import TrackedUrlChange, TrackedUrlIn

router = APIRouter(prefix="/admin/tracked-urls", route_class=ConsoleRoute, include_in_schema=False)
SHOWN = {"": None, "yes": True, "no": False}


@router.get("", response_class=HTMLResponse)
async def urls(
    request: Request,
    admin: ConsoleAdmin,
    session: DbSession,
    active: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    if (active or "") not in SHOWN:
        raise ValidationFailed("Active is yes, no or empty.", code="validation_error")
    page = await tracked_urls.list_urls(session, active=SHOWN[active or ""], cursor=cursor, limit=50)
    return render(
        request,
        "tracked_urls.html",
        urls=page.items,
        values={"active": active},
        next_url=page_url(request, page.next_cursor),
    )


@router.get("/{url_id}", response_class=HTMLResponse)
async def url(request: Request, url_id: str, admin: ConsoleAdmin, session: DbSession) -> HTMLResponse:
    return render(request, "tracked_url.html", url=await tracked_urls.get(session, url_id))


@router.post("")
async def create(
    request: Request,
    admin: ConsoleAction,
    session: DbSession,
    path: Annotated[str, Form(max_length=2100)],
    label: Annotated[str, Form(max_length=300)] = "",
) -> RedirectResponse:
    body = schema_of(TrackedUrlIn, path=path, label=label or None)
    row = await tracked_urls.create(session, path=body.path, label=body.label, admin_id=admin.user.id)
    await audited(session, request, admin, "TRACKED_URL_CREATE", row.id, path=row.path)
    return done("/admin/tracked-urls", f"{row.path} is tracked.")


@router.post("/{url_id}")
async def edit(
    request: Request,
    url_id: str,
    admin: ConsoleAction,
    session: DbSession,
    path: Annotated[str, Form(max_length=2100)],
    label: Annotated[str, Form(max_length=300)] = "",
    is_active: Annotated[bool, Form()] = False,  # an unticked box is not sent
) -> RedirectResponse:
    body = schema_of(TrackedUrlChange, path=path, label=label, is_active=is_active)
    row = await tracked_urls.update(
        session,
        url_id,
        path=body.path,
        label=body.label or None,
        clear_label=body.label == "",  # an emptied label clears it, as in the API
        active=body.is_active,
    )
    await audited(session, request, admin, "TRACKED_URL_UPDATE", url_id, path=row.path, active=row.is_active)
    return done(f"/admin/tracked-urls/{url_id}", f"{row.path} saved.")


@router.post("/{url_id}/delete")
async def delete(request: Request, url_id: str, admin: ConsoleAction, session: DbSession) -> RedirectResponse:
    row = await tracked_urls.remove(session, url_id)
    await audited(session, request, admin, "TRACKED_URL_DELETE", url_id, path=row.path)
    return done("/admin/tracked-urls", f"{row.path} is no longer tracked.")
