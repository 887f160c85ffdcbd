"""Every image on the platform, newest first in keyset pages, filtered by owner and visibility: the
list that must stay fast at millions of rows (each filter has its ``(…, "createdAt", id)`` index)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import or_, select

from spikeland.console.web import ConsoleAdmin, ConsoleRoute, page_url, render
from spikeland.core.errors import ValidationFailed
from spikeland.core.pagination import newest_first
from spikeland.db.session import DbSession
from spikeland.identity.models import User
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
    owner_row = None
    if owner and owner.strip():
        wanted = owner.strip()
        owner_row = await session.scalar(
            select(User).where(or_(User.id == wanted, User.email == wanted.lower()))
        )
        if owner_row is None:
            raise ValidationFailed(f"No user with the id or email {wanted[:80]}.", code="user_not_found")
        statement = statement.where(EnhancedImage.user_id == owner_row.id)
    if visibility:
        if visibility not in dict(VISIBILITY):
            raise ValidationFailed("Visibility is public or private.", code="validation_error")
        statement = statement.where(EnhancedImage.is_public.is_(visibility == "public"))
    page = await newest_first(
        session, statement, EnhancedImage.created_at, EnhancedImage.id, limit=50, cursor=cursor
    )
    owners = {owner_row.id: owner_row.email} if owner_row else {}
    missing = {image.user_id for image in page.items} - owners.keys()
    if missing:
        owners |= dict((await session.execute(select(User.id, User.email).where(User.id.in_(missing)))).all())
    return render(
        request,
        "images.html",
        images=page.items,
        owners=owners,
        values={"owner": owner, "visibility": visibility},
        visibilities=VISIBILITY,
        next_url=page_url(request, page.next_cursor),
    )
