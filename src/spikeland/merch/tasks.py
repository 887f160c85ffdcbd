"""Merch's periodic work: the provider webhook inbox keeps processed events 90 days (the spec's
promise); the local print provider's progress is reported (``local_printer``).

An event is kept while unprocessed, however old: it still has to be applied. Stripe redelivers for
three days at most, so 90 days of event ids leave every duplicate recognised. Deleted in batches of
their own transaction along the ``(processed, createdAt)`` index, so a backlog never holds one long
transaction.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.core.clock import utcnow
from spikeland.integrations.pod import local
from spikeland.merch import inbox
from spikeland.merch.models import MerchOrder, MerchOrderEvent, MerchOrderItem, MerchOrderStatus
from spikeland.ops.models import MerchWebhookEvent
from spikeland.settings import Settings

KEEP = timedelta(days=90)
LOCAL_PRINTING = (MerchOrderStatus.SUBMITTED, MerchOrderStatus.IN_PRODUCTION, MerchOrderStatus.SHIPPED)
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


async def local_printer(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> int:
    """What the local print provider has reported by now, into the inbox (``integrations.pod.local``):
    for every order it holds that is not yet delivered, the updates due since its submission.
    Stored like Prodigi's callbacks, each once (fixed event ids); returns how many were new."""
    submitted_at = (
        select(func.max(MerchOrderEvent.created_at))
        .where(MerchOrderEvent.order_id == MerchOrder.id, MerchOrderEvent.type == "SUBMITTED_TO_POD")
        .scalar_subquery()
    )
    new = 0
    async with sessionmaker() as session, session.begin():
        orders = (
            await session.execute(
                select(MerchOrder.id, submitted_at)
                .where(
                    MerchOrder.status.in_(LOCAL_PRINTING),
                    MerchOrder.id.in_(
                        select(MerchOrderItem.order_id).where(
                            MerchOrderItem.pod_order_id.startswith(local.PREFIX)
                        )
                    ),
                )
                .limit(1000)
            )
        ).all()
        lines: dict[str, list[tuple[str, str]]] = {order_id: [] for order_id, _since in orders}
        items = await session.execute(
            select(MerchOrderItem.order_id, MerchOrderItem.id, MerchOrderItem.product_id)
            .where(MerchOrderItem.order_id.in_(list(lines)))
            .order_by(MerchOrderItem.created_at, MerchOrderItem.id)
        )
        for order_id, item_id, product_id in items.all():
            lines[order_id].append((item_id, product_id))
        now = utcnow()
        for order_id, since in orders:
            if since is None:
                continue
            elapsed = (now - since).total_seconds()
            provider_order_id = local.PREFIX + order_id  # as the local provider named it
            step = settings.merch_local_step_seconds
            for update in local.updates_due(provider_order_id, order_id, lines[order_id], elapsed, step):
                new += await inbox.store(
                    session, "LOCAL", update.event_id, update.event_type, update.to_json()
                )
    return new
