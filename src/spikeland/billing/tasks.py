"""Billing's periodic work: the Stripe inbox, and what falls due when a paid period ends.

Both take the sessionmaker (one transaction per event / per subscription, so one failure stays
one failure) and fit the scheduler's job signature directly:

- ``billing.process_webhooks`` (``process_webhooks``): every 5 s;
- ``billing.end_of_period`` (``end_of_period``): every 60 s.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.billing import subscriptions as subs
from spikeland.billing.models import Subscription, SubscriptionStatus
from spikeland.billing.webhooks import process_pending
from spikeland.core.clock import utcnow

_log = logging.getLogger(__name__)

MAX_PER_RUN = 1000


async def process_webhooks(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Apply pending Stripe events (see ``webhooks.process_pending``)."""
    return await process_pending(sessionmaker, limit=500)


def _due(now: datetime) -> list[object]:
    return [
        Subscription.status != SubscriptionStatus.CANCELED,
        Subscription.current_period_end <= now,
        or_(
            Subscription.downgrade_to.is_not(None),
            Subscription.cancel_at_period_end.is_(True),
            Subscription.status == SubscriptionStatus.TRIALING,
        ),
    ]


async def _claim(session: AsyncSession, now: datetime, skip: list[str]) -> Subscription | None:
    statement = (
        select(Subscription)
        .where(*_due(now), Subscription.id.not_in(skip))  # type: ignore[arg-type]
        .order_by(Subscription.current_period_end, Subscription.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).first()


async def _apply(session: AsyncSession, sub: Subscription) -> str:
    if sub.status == SubscriptionStatus.TRIALING:
        await subs.end(session, sub, reason="trial_ended")
        return "trials_ended"
    if sub.cancel_at_period_end:
        await subs.end(session, sub, reason="canceled")
        return "canceled"
    await subs.execute_downgrade(session, sub)
    return "downgraded"


async def end_of_period(
    sessionmaker: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> dict[str, int]:
    """Execute what is due at period end, each in its own transaction, each exactly once:
    scheduled downgrades, cancellations at period end, and expired trials (voucher trials end
    like any subscription: CANCELED, tier back to FREE). A change leaves its row no longer due,
    and rows are claimed with SKIP LOCKED, so concurrent runs never apply one twice.
    """
    now = now or utcnow()
    done: Counter[str] = Counter()
    skip: list[str] = []
    for _ in range(MAX_PER_RUN):
        row_id: str | None = None
        try:
            async with sessionmaker() as session, session.begin():
                sub = await _claim(session, now, skip)
                if sub is None:
                    break
                row_id = sub.id
                kind = await _apply(session, sub)
            done[kind] += 1
        except Exception:
            if row_id is None:
                raise
            _log.exception("period end of subscription %s failed; retried next run", row_id)
            done["failed"] += 1
        if row_id is not None:
            skip.append(row_id)
    return dict(done)
