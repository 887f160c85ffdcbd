"""Boxes: every user's browser boxes (by status and owner, keyset pages), a box's actions, chat and
metering history (its hourly charges in the ledger), and stopping a box — through the boxes service
as its owner would (the same checks and transitions), audited BOX_STOP."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from spikeland.boxes import billing, messages, service
from spikeland.boxes.models import Box, BoxActionType, BoxStatus, BoxTier
from spikeland.console.lookups import emails_of, owner_id
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
from spikeland.core.errors import NotFound
from spikeland.core.pagination import newest_first
from spikeland.db.session import DbSession
from spikeland.tokens.models import TokenTransaction

router = APIRouter(prefix="/admin/boxes", route_class=ConsoleRoute, include_in_schema=False)
STATUSES = [(status.value, status.value) for status in BoxStatus]


@router.get("", response_class=HTMLResponse)
async def boxes(
    request: Request,
    admin: ConsoleAdmin,
    session: DbSession,
    status: str | None = None,
    owner: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    statement = select(Box).where(Box.deleted_at.is_(None))
    if (wanted := choice(BoxStatus, status)) is not None:
        statement = statement.where(Box.status == wanted)
    if owner and owner.strip():
        statement = statement.where(Box.user_id == await owner_id(session, owner))
    page = await newest_first(session, statement, Box.created_at, Box.id, limit=50, cursor=cursor)
    tiers = {tier.id: tier for tier in await session.scalars(select(BoxTier))}
    return render(
        request,
        "boxes.html",
        boxes=page.items,
        tiers=tiers,
        owners=await emails_of(session, (box.user_id for box in page.items)),
        values={"status": status, "owner": owner},
        statuses=STATUSES,
        next_url=page_url(request, page.next_cursor),
    )


async def _box(session: DbSession, box_id: str, *, lock: bool = False) -> Box:
    statement = select(Box).where(Box.id == box_id)
    found = await session.scalar(statement.with_for_update() if lock else statement)
    if found is None:
        raise NotFound("No such box.", code="box_not_found")
    return found


@router.get("/{box_id}", response_class=HTMLResponse)
async def box(request: Request, box_id: str, admin: ConsoleAdmin, session: DbSession) -> HTMLResponse:
    found = await _box(session, box_id)
    charges = await session.scalars(
        select(TokenTransaction)
        .where(
            TokenTransaction.user_id == found.user_id,
            TokenTransaction.source == billing.SOURCE,
            TokenTransaction.source_id.startswith(f"box-hour:{found.id}:", autoescape=True),
        )
        .order_by(TokenTransaction.created_at.desc(), TokenTransaction.id.desc())
        .limit(100)
    )
    return render(
        request,
        "box.html",
        box=found,
        tier=await session.get(BoxTier, found.tier_id) if found.tier_id else None,
        owner=(await emails_of(session, [found.user_id])).get(found.user_id),
        actions=await service.actions(session, found),
        messages=await messages.list_messages(session, found),
        charges=list(charges),
        can_stop=found.deleted_at is None and found.status in service.TRANSITIONS[BoxActionType.STOP][0],
    )


@router.post("/{box_id}/stop")
async def stop(request: Request, box_id: str, admin: ConsoleAction, session: DbSession) -> RedirectResponse:
    found = await _box(session, box_id)
    await service.request_action(session, found.user_id, found.id, BoxActionType.STOP)
    await audited(session, request, admin, "BOX_STOP", found.id, owner=found.user_id)
    return done(f"/admin/boxes/{found.id}", f"Stopping {found.name}.")
