"""Boxes billed by the hour through the token ledger.

Every started hour of a run costs the tier's ``pricePerHour``, as a ``SPEND_BOX_CREATION`` movement
(the spec's only box spend type) with source ``box_hour`` and sourceId
``box-hour:<boxId>:<runStart ms>:<n>``, hour n = 0, 1, … of the run that began at runStart. The
ledger applies a (user, type, sourceId) once, so a retried or concurrent charge of one box-hour
returns the first one's row instead of charging again.

- Starting (a create, a start, a clone) pays hour 0 up front in the request: 402
  ``insufficient_tokens`` when the balance is short, and nothing is written.
- ``meter`` (every ``box_metering_seconds``) charges each further hour a RUNNING box has started, box
  by box under ``FOR UPDATE SKIP LOCKED`` (two workers never bill one box at once; the box's
  ``hoursCharged`` says how far its run is paid). An owner who cannot pay the next hour has the box
  stopped, with a SYSTEM message saying why.
- A run that never started (its start failed for good) gets hour 0 back: a ``REFUND`` with the
  same sourceId.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

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
from spikeland.core.clock import to_ms, utcnow
from spikeland.db.engine import transaction
from spikeland.db.types import UTCDateTime
from spikeland.tokens import service as tokens
from spikeland.tokens.models import TokenTransactionType

HOUR = timedelta(hours=1)
SOURCE = "box_hour"
SPEND = TokenTransactionType.SPEND_BOX_CREATION


def hour_source_id(box_id: str, run_start: datetime, hour: int) -> str:
    return f"box-hour:{box_id}:{int(run_start.timestamp() * 1000)}:{hour}"


async def price_of(session: AsyncSession, box: Box) -> int:
    tier = await session.get(BoxTier, box.tier_id) if box.tier_id else None
    return tier.price_per_hour if tier is not None else 0


async def start_run(session: AsyncSession, box: Box, price: int, now: datetime | None = None) -> None:
    """Begin a run: pay its first hour (402 when short). The box row must be locked or new."""
    start = to_ms(now or utcnow())
    await _charge(session, box, price, start, 0)
    box.run_started_at, box.hours_charged = start, 1


async def refund_unstarted_run(session: AsyncSession, box: Box, reason: str) -> None:
    """Give back the first hour of a run whose browser never started, and end the run."""
    if box.run_started_at is None:
        return
    price_paid = await tokens.find_movement(
        session, box.user_id, SPEND, hour_source_id(box.id, box.run_started_at, 0)
    )
    if price_paid is not None and price_paid.amount < 0:
        await tokens.refund(
            session,
            box.user_id,
            -price_paid.amount,
            source=SOURCE,
            source_id=hour_source_id(box.id, box.run_started_at, 0),
            metadata={"boxId": box.id, "reason": reason[:300]},
        )
    end_run(box)


def end_run(box: Box) -> None:
    box.run_started_at, box.hours_charged = None, 0


async def _charge(session: AsyncSession, box: Box, price: int, start: datetime, hour: int) -> None:
    metadata: dict[str, Any] = {"boxId": box.id, "hour": hour, "runStartedAt": start.isoformat()}
    await tokens.spend(
        session,
        box.user_id,
        price,
        SPEND,
        source=SOURCE,
        source_id=hour_source_id(box.id, start, hour),
        metadata=metadata,
    )


def hours_started(run_start: datetime, now: datetime) -> int:
    """Hours of the run begun by ``now``: hour 0 at once, hour n at run_start + n hours."""
    if now < run_start:
        return 1
    return int((now - run_start) / HOUR) + 1


async def meter(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> dict[str, int]:
    """Charge every RUNNING box's started, unpaid hours as of ``now``; stop those whose owner
    cannot pay. Each box in its own transaction, so one owner's shortfall holds up no other."""
    moment = now or utcnow()
    charged = stopped = 0
    seen: set[str] = set()
    while True:
        async with transaction(sessionmaker) as session:
            box = await _next_due(session, moment, seen)
            if box is None:
                break
            seen.add(box.id)
            paid, short = await _bill(session, box, moment)
            charged, stopped = charged + paid, stopped + short
    return {"charged": charged, "stopped": stopped}


async def _next_due(session: AsyncSession, now: datetime, seen: set[str]) -> Box | None:
    """One RUNNING box with an unpaid started hour, locked; boxes another worker bills are skipped."""
    statement = (
        select(Box)
        .where(
            Box.status == BoxStatus.RUNNING,
            Box.deleted_at.is_(None),
            Box.run_started_at.is_not(None),
            type_coerce(Box.run_started_at + func.make_interval(0, 0, 0, 0, Box.hours_charged), UTCDateTime())
            <= now,
            *([Box.id.not_in(seen)] if seen else []),
        )
        .order_by(Box.run_started_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def _bill(session: AsyncSession, box: Box, now: datetime) -> tuple[int, int]:
    assert box.run_started_at is not None
    price = await price_of(session, box)
    due = hours_started(box.run_started_at, now)
    paid = 0
    while box.hours_charged < due:
        try:
            await _charge(session, box, price, box.run_started_at, box.hours_charged)
        except tokens.InsufficientTokens as short:
            await stop_unpaid(session, box, short)
            return paid, 1
        box.hours_charged += 1
        paid += 1
    return paid, 0


async def stop_unpaid(session: AsyncSession, box: Box, short: tokens.InsufficientTokens) -> None:
    """The owner cannot pay the next hour: the box stops (a STOP action for the runner)."""
    box.status = BoxStatus.STOPPING
    session.add(
        BoxAction(box_id=box.id, action=BoxActionType.STOP, metadata_={"reason": "insufficient_tokens"})
    )
    session.add(
        BoxMessage(
            box_id=box.id,
            role=BoxMessageRole.SYSTEM,
            content=f"Stopped: the next hour costs {short.required} tokens; the balance is {short.available}",
        )
    )
    await notify_actions(session)
