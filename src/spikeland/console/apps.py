"""Apps: the directory's moderation — every app in any status (filters, keyset pages), archive an
ACTIVE app or restore an ARCHIVED one, release a custom domain (``apps.moderation``; audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from spikeland.apps import moderation
from spikeland.apps.models import AppStatus
from spikeland.console.lookups import emails_of
from spikeland.console.web import (
    ConsoleAction,
    ConsoleAdmin,
    ConsoleRoute,
    audited,
    choice,
    done,
    page_url,
    render,
)
from spikeland.db.session import DbSession

router = APIRouter(prefix="/admin/apps", route_class=ConsoleRoute, include_in_schema=False)
STATUSES = [(status.value, status.value) for status in AppStatus]
ACTIONS = {"archive": (AppStatus.ARCHIVED, "APP_ARCHIVE"), "restore": (AppStatus.ACTIVE, "APP_RESTORE")}


@router.get("", response_class=HTMLResponse)
async def apps(
    request: Request,
    admin: ConsoleAdmin,
    session: DbSession,
    status: str | None = None,
    q: str | None = None,
    domains: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    page = await moderation.list_apps(
        session,
        status=choice(AppStatus, status),
        query=q,
        with_domain=domains == "yes",
        cursor=cursor,
        limit=50,
    )
    owners = await emails_of(session, (app.user_id for app in page.items))
    return render(
        request,
        "apps.html",
        apps=page.items,
        owners=owners,
        values={"status": status, "q": q, "domains": domains},
        statuses=STATUSES,
        next_url=page_url(request, page.next_cursor),
    )


@router.post("/{app_id}/status")
async def moderate(
    request: Request,
    app_id: str,
    admin: ConsoleAction,
    session: DbSession,
    action: Annotated[str, Form(pattern="^(archive|restore)$")],
) -> RedirectResponse:
    status, audit_action = ACTIONS[action]
    app, before = await moderation.set_status(session, app_id, status)
    await audited(
        session,
        request,
        admin,
        audit_action,
        app.id,
        name=app.name,
        **{"from": before.value, "to": status.value},
    )
    return done("/admin/apps", f"{app.name} is now {app.status.value}.")


@router.post("/{app_id}/domain/release")
async def release_domain(
    request: Request, app_id: str, admin: ConsoleAction, session: DbSession
) -> RedirectResponse:
    app, domain = await moderation.release_domain(session, app_id)
    await audited(session, request, admin, "APP_DOMAIN_RELEASE", app.id, domain=domain)
    return done("/admin/apps", f"{domain or 'No domain'} released from {app.name}.")
