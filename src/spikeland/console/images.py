"""Every image on the platform, newest first in keyset pages, filtered by owner and visibility: the
list that must stay fast at millions of rows (each filter has its ``(…, "createdAt", id)`` index)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from spikeland.console.lookups import emails_of, owner_id
from spikeland.console.web import ConsoleAdmin, ConsoleRoute, page_url, render
from spikeland.core.errors import ValidationFailed
from spikeland.core.pagination import newest_first
from spikeland.db.session import DbSession
from spikeland.images.models import EnhancedImage

router = APIRouter(prefix="/admin/images", route_class=ConsoleRoute, include_in_schema=False)
VISIBILITY = [("public", "Public"), ("private", "Private")]


@router.get("", response_class=HTMLResponse)
async def images(
    request: Request,
    admin: ConsoleAdmin,
    session: DbSession,
    owner: str | None = None,
    visibility: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    statement = select(EnhancedImage)
    if owner and owner.strip():
        statement = statement.where(EnhancedImage.user_id == await owner_id(session, owner))
    if visibility:
        if visibility not in dict(VISIBILITY):
            raise ValidationFailed("Visibility is public or private.", code="validation_error")
        statement = statement.where(EnhancedImage.is_public.is_(visibility == "public"))
    page = await newest_first(
        session, statement, EnhancedImage.created_at, EnhancedImage.id, limit=50, cursor=cursor
    )
    owners = await emails_of(session, (image.user_id for image in page.items))
    return render(
        request,
        "images.html",
        images=page.items,
        owners=owners,
        values={"owner": owner, "visibility": visibility},
        visibilities=VISIBILITY,
        next_url=page_url(request, page.next_cursor),
    )
