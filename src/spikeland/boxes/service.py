"""Boxes: tiers, the owner's boxes, and their lifecycle as requested actions.

A box moves through CREATING → RUNNING → STOPPING → STOPPED → STARTING → RUNNING … → TERMINATED
(ERROR when an action fails for good). A request checks the transition under the box's row lock,
sets the in-between status, records the action (PENDING) and, when the box starts, pays its first
hour (``billing``); the runner then does the provider work (``tasks``). An action the current
status does not allow is 409 ``box_transition``. Another user's box, or a deleted one, is 404.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.boxes import billing
from spikeland.boxes.models import (
    Box,
    BoxAction,
    BoxActionType,
    BoxMessage,
    BoxMessageRole,
    BoxStatus,
    BoxTier,
)
from spikeland.boxes.queue import notify_actions
from spikeland.core.clock import utcnow
from spikeland.core.errors import Conflict, NotFound, ValidationFailed
from spikeland.core.security import digest, new_secret

# The statuses each requested action may start from, and the status it sets at once.
TRANSITIONS: dict[BoxActionType, tuple[frozenset[BoxStatus], BoxStatus]] = {
    BoxActionType.START: (frozenset({BoxStatus.STOPPED, BoxStatus.ERROR}), BoxStatus.STARTING),
    BoxActionType.STOP: (frozenset({BoxStatus.RUNNING, BoxStatus.ERROR}), BoxStatus.STOPPING),
    BoxActionType.RESTART: (frozenset({BoxStatus.RUNNING}), BoxStatus.STARTING),
    BoxActionType.DELETE: (frozenset(BoxStatus) - {BoxStatus.TERMINATED}, BoxStatus.STOPPING),
    BoxActionType.CLONE: (frozenset({BoxStatus.RUNNING, BoxStatus.STOPPED}), BoxStatus.CREATING),
}


class BoxNotFound(NotFound):
    code = "box_not_found"


class BoxTransition(Conflict):
    code = "box_transition"


async def active_tiers(session: AsyncSession) -> Sequence[BoxTier]:
    statement = select(BoxTier).where(BoxTier.is_active).order_by(BoxTier.sort_order, BoxTier.price_per_hour)
    return (await session.scalars(statement)).all()


async def get_box(session: AsyncSession, user_id: str, box_id: str, *, lock: bool = False) -> Box:
    """The user's box (not deleted); 404 otherwise."""
    statement = select(Box).where(Box.id == box_id, Box.user_id == user_id, Box.deleted_at.is_(None))
    if lock:
        statement = statement.with_for_update()
    box = (await session.execute(statement)).scalar_one_or_none()
    if box is None:
        raise BoxNotFound("No such box.")
    return box


async def list_boxes(session: AsyncSession, user_id: str) -> Sequence[Box]:
    statement = (
        select(Box)
        .where(Box.user_id == user_id, Box.deleted_at.is_(None))
        .order_by(Box.created_at.desc(), Box.id.desc())
        .limit(200)
    )
    return (await session.scalars(statement)).all()


async def actions(session: AsyncSession, box: Box) -> Sequence[BoxAction]:
    statement = (
        select(BoxAction).where(BoxAction.box_id == box.id).order_by(BoxAction.created_at, BoxAction.id)
    )
    return (await session.scalars(statement)).all()


def system_message(session: AsyncSession, box_id: str, content: str) -> None:
    session.add(BoxMessage(box_id=box_id, role=BoxMessageRole.SYSTEM, content=content))


async def _tier(session: AsyncSession, tier_id: str) -> BoxTier:
    tier = await session.get(BoxTier, tier_id)
    if tier is None or not tier.is_active:
        raise ValidationFailed("No such tier (or it is no longer offered).", code="invalid_tier")
    return tier


async def _new_box(session: AsyncSession, user_id: str, name: str, tier: BoxTier) -> tuple[Box, str]:
    token = new_secret()
    box = Box(
        name=name,
        user_id=user_id,
        tier_id=tier.id,
        status=BoxStatus.CREATING,
        hours_charged=0,
        token_hash=digest(token),
    )
    session.add(box)
    await session.flush()
    return box, token


async def create_box(session: AsyncSession, user_id: str, name: str, tier_id: str) -> tuple[Box, str]:
    """A new box, its first hour paid (402 when short), its CREATE action queued; the box and its
    agent token (only its digest is kept)."""
    tier = await _tier(session, tier_id)
    box, token = await _new_box(session, user_id, name, tier)
    await billing.start_run(session, box, tier.price_per_hour)
    await _queue(session, box, BoxActionType.CREATE, {"tierId": tier.id, "pricePerHour": tier.price_per_hour})
    system_message(
        session, box.id, f"Box created on the {tier.name} tier ({tier.price_per_hour} tokens/hour)."
    )
    return box, token


async def clone_box(session: AsyncSession, user_id: str, box_id: str, name: str | None) -> tuple[Box, str]:
    """A new box with a copy of the source's profile, started (first hour paid). A running
    source is copied as its browser has written it so far (a stopped one, completely)."""
    source = await get_box(session, user_id, box_id, lock=True)
    allowed, _ = TRANSITIONS[BoxActionType.CLONE]
    if source.status not in allowed or source.tier_id is None:
        raise BoxTransition(
            f"A {source.status.value} box cannot be cloned.", details={"status": source.status}
        )
    tier = await session.get(BoxTier, source.tier_id)
    assert tier is not None  # tierId is a foreign key
    box, token = await _new_box(session, user_id, name or f"Clone of {source.name}"[:50], tier)
    await billing.start_run(session, box, tier.price_per_hour)
    await _queue(session, box, BoxActionType.CLONE, {"sourceBoxId": source.id})
    system_message(session, box.id, f"Box cloned from {source.name}.")
    system_message(session, source.id, f"Cloned as {box.name}.")
    return box, token


async def request_action(
    session: AsyncSession, user_id: str, box_id: str, action: BoxActionType
) -> BoxAction:
    """START, STOP, RESTART or DELETE: checked, the in-between status set, the action queued."""
    box = await get_box(session, user_id, box_id, lock=True)
    allowed, next_status = TRANSITIONS[action]
    if box.status not in allowed:
        raise BoxTransition(
            f"A {box.status.value} box cannot {action.value.lower()}.",
            details={"status": box.status, "action": action},
        )
    if action is BoxActionType.START:
        await billing.start_run(session, box, await billing.price_of(session, box))
    if action is BoxActionType.DELETE:
        box.deleted_at = utcnow()
    box.status = next_status
    queued = await _queue(session, box, action, None)
    system_message(session, box.id, f"{action.value.capitalize()} requested.")
    return queued


async def _queue(session: AsyncSession, box: Box, action: BoxActionType, metadata: object) -> BoxAction:
    queued = BoxAction(box_id=box.id, action=action, metadata_=metadata)
    session.add(queued)
    await session.flush()
    await notify_actions(session)
    return queued
