"""Merch's periodic work: the provider webhook inbox keeps processed events 90 days (the spec's promise).

An event is kept while unprocessed, however old: it still has to be applied. Stripe redelivers for
three days at most, so 90 days of event ids leave every duplicate recognised. Deleted in batches of
their own transaction along the ``(processed, createdAt)`` index, so a backlog never holds one long
transaction.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.core.clock import utcnow
from spikeland.ops.models import MerchWebhookEvent

KEEP = timedelta(days=90)
BATCH = 5000


async def purge_webhook_events(sessionmaker: async_sessionmaker[AsyncSession], batch: int = BATCH) -> int:
    """Delete processed inbox events older than 90 days; returns how many went."""
    cutoff = utcnow() - KEEP
    gone = 0
    while True:
        async with sessionmaker() as session, session.begin():
            old = (
                select(MerchWebhookEvent.id)
                .where(MerchWebhookEvent.processed.is_(True), MerchWebhookEvent.created_at < cutoff)
                .limit(batch)
            )
            result = await session.execute(delete(MerchWebhookEvent).where(MerchWebhookEvent.id.in_(old)))
        count = int(result.rowcount or 0)  # type: ignore[attr-defined]
        gone += count
        if count < batch:
            return gone
