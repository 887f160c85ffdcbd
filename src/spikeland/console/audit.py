"""The audit trail: both tables (``audit_logs`` and ``admin_audit_events``) as one list, newest
first, by action, actor (an email or an id), target and days, in keyset pages; and the same
entries as the admin API's CSV export (``identity.admin.audit_csv``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.console.lookups import emails_of
from spikeland.console.web import ConsoleAdmin, ConsoleRoute, day_range, page_url, render
from spikeland.db.session import DbSession
from spikeland.identity import admin as identity_admin
from spikeland.identity.service import find_user_by_email

router = APIRouter(prefix="/admin/audit", route_class=ConsoleRoute, include_in_schema=False)
NOBODY = "-"  # an actor id no user has: an email nobody signs in with matches no entry


def _values(**given: str | None) -> dict[str, str]:
    return {name: value.strip()[:320] for name, value in given.items() if value and value.strip()}


async def _filters(session: AsyncSession, values: dict[str, str]) -> dict[str, Any]:
    """The list functions' filters from the form's: an actor's email becomes their id."""
    since, until = day_range(values.get("start"), values.get("end"))
    actor = values.get("actor")
    if actor is not None and "@" in actor:
        user = await find_user_by_email(session, actor)
        actor = user.id if user is not None else NOBODY
    action = values.get("action")
    return {
        "action": action.upper()[:64] if action else None,
        "actor_id": actor,
        "target_id": values.get("target"),
        "since": since,
        "until": until,
    }


@router.get("", response_class=HTMLResponse)
async def audit_log(
    request: Request,
    admin: ConsoleAdmin,
    session: DbSession,
    action: str | None = None,
    actor: str | None = None,
    target: str | None = None,
    start: str | None = None,
    end: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    values = _values(action=action, actor=actor, target=target, start=start, end=end)
    page = await identity_admin.list_audit_entries(
        session, admin.user, **await _filters(session, values), limit=50, cursor=cursor
    )
    emails = await emails_of(session, (entry.user_id for entry in page.items))
    return render(
        request,
        "audit.html",
        entries=page.items,
        emails=emails,
        values=values,
        export_url="/admin/audit/export" + (f"?{urlencode(values)}" if values else ""),
        next_url=page_url(request, page.next_cursor),
    )


@router.get("/export")
async def export(
    admin: ConsoleAdmin,
    session: DbSession,
    action: str | None = None,
    actor: str | None = None,
    target: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Response:
    values = _values(action=action, actor=actor, target=target, start=start, end=end)
    found = await identity_admin.audit_csv(session, admin.user, **await _filters(session, values))
    headers = {"Content-Disposition": 'attachment; filename="audit-log.csv"'}  # as the API names it
    return Response(found, media_type="text/csv", headers=headers)
