"""Queueing fulfilment work (``merch_fulfilment_jobs``) in the caller's transaction.

The job becomes claimable when that transaction commits, and the NOTIFY with it wakes the
runners at that moment (``merch.fulfilment`` runs the jobs).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.merch.models import FulfilmentKind, MerchFulfilmentJob

JOBS_CHANNEL = "spikeland_merch_jobs"


async def enqueue(
    session: AsyncSession, kind: FulfilmentKind, *, order_id: str | None = None, event_id: str | None = None
) -> MerchFulfilmentJob:
    job = MerchFulfilmentJob(kind=kind.value, order_id=order_id, event_id=event_id)
    session.add(job)
    await session.flush()
    await session.execute(select(func.pg_notify(JOBS_CHANNEL, "")))
    return job
