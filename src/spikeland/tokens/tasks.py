"""Periodic ledger work: regeneration for balances that nobody read lately."""

from __future__ import annotations

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.tokens import service
from spikeland.tokens.costs import REGENERATION_INTERVAL, TIER_CAP
from spikeland.tokens.models import UserTokenBalance

_CAP = case(TIER_CAP, value=UserTokenBalance.tier)


async def regenerate_due(session: AsyncSession, batch: int = 500) -> int:
    """Apply due regeneration to up to ``batch`` balances; returns how many got tokens.

    Each user goes through the same locked path as a read, so a concurrent read and this job
    never both apply one interval.
    """
    due = await session.scalars(
        select(UserTokenBalance.user_id)
        .where(
            UserTokenBalance.balance < _CAP,
            UserTokenBalance.last_regeneration <= utcnow() - REGENERATION_INTERVAL,
        )
        .order_by(UserTokenBalance.last_regeneration)
        .limit(batch)
    )
    applied = 0
    for user_id in due.all():
        if await service.regenerate(session, user_id) is not None:
            applied += 1
    return applied
