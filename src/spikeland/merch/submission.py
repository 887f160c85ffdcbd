"""Sending a paid order to the print provider (the SUBMIT job of ``merch.fulfilment``).

Runs under a lock on the order's row, in the job's transaction: an owner's cancellation waits for
it and then finds the order SUBMITTED (too late), or goes first and the job finds nothing to do.
The provider is asked with our order id as its idempotency key, so a retry after a lost answer
(or a crash before our commit) places the order once. What comes of it:

- placed: every item gets the provider's order id and status, the order is SUBMITTED with a
  SUBMITTED_TO_POD event;
- refused for good (``PrintOrderRejected``: the order as it is cannot be printed): the customer is
  refunded in full through Stripe (the refund's idempotency key is the order's) and the order is
  REFUNDED, with POD_SUBMISSION_REJECTED and REFUNDED events;
- the provider unavailable: the transaction rolls back and the runner retries with backoff; after
  the last attempt the job fails with a POD_SUBMISSION_FAILED event, and the order stays PAID for
  an admin to resubmit or refund.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.integrations.pod import PrintItem, PrintOrder, PrintOrderRejected, PrintProvider
from spikeland.integrations.stripe import StripeGateway
from spikeland.merch import order_changes
from spikeland.merch.cart import required_pixels
from spikeland.merch.models import MerchOrder, MerchOrderItem, MerchOrderStatus, MerchProduct, MerchVariant
from spikeland.merch.orders import add_event
from spikeland.settings import Settings

_log = logging.getLogger(__name__)


def _absolute(url: str, settings: Settings) -> str:
    return url if url.startswith(("http://", "https://")) else settings.public_url.rstrip("/") + url


async def print_order(session: AsyncSession, order: MerchOrder, settings: Settings) -> PrintOrder:
    rows = await session.execute(
        select(MerchOrderItem, MerchProduct, MerchVariant)
        .join(MerchProduct, MerchProduct.id == MerchOrderItem.product_id)
        .outerjoin(MerchVariant, MerchVariant.id == MerchOrderItem.variant_id)
        .where(MerchOrderItem.order_id == order.id)
        .order_by(MerchOrderItem.created_at, MerchOrderItem.id)
    )
    items = []
    for item, product, variant in rows.all():
        width, height = required_pixels(product, variant)
        items.append(
            PrintItem(
                reference=item.id,
                sku=variant.provider_sku if variant is not None else product.provider_sku,
                copies=item.quantity,
                image_key=item.image_r2_key,
                image_url=_absolute(item.image_url, settings),
                width_px=width,
                height_px=height,
                dpi=product.min_dpi,
            )
        )
    return PrintOrder(
        reference=order.id,
        order_number=order.order_number,
        recipient=dict(order.shipping_address or {}),
        email=order.customer_email,
        items=tuple(items),
    )


async def _refund_rejected(
    session: AsyncSession, order: MerchOrder, gateway: StripeGateway | None, reason: str
) -> None:
    if gateway is None or order.stripe_payment_intent_id is None:
        raise RuntimeError("a rejected order waits for its refund: Stripe is not configured here")
    add_event(session, order, "POD_SUBMISSION_REJECTED", {"error": reason})
    await order_changes.refund_in_full(session, gateway, order, {})


async def submit(
    session: AsyncSession,
    order_id: str,
    provider: PrintProvider,
    gateway: StripeGateway | None,
    settings: Settings,
) -> tuple[str, str | None]:
    """Submit the order if it is PAID: (outcome, error for a job that failed for good or None)."""
    order = await session.scalar(select(MerchOrder).where(MerchOrder.id == order_id).with_for_update())
    if order is None or order.status != MerchOrderStatus.PAID:
        return f"nothing to do (order {order.status.value if order else 'gone'})", None
    placing = await print_order(session, order, settings)
    try:
        placed = await provider.submit(placing)
    except PrintOrderRejected as exc:
        await _refund_rejected(session, order, gateway, str(exc))
        _log.warning("order %s refused by %s and refunded: %s", order.order_number, provider.name, exc)
        return "rejected and refunded", str(exc)
    for item in await session.scalars(select(MerchOrderItem).where(MerchOrderItem.order_id == order.id)):
        item.pod_order_id = placed.provider_order_id
        item.pod_status = placed.status
    order.status = MerchOrderStatus.SUBMITTED
    data: dict[str, Any] = {"provider": provider.name, "providerOrderId": placed.provider_order_id}
    add_event(session, order, "SUBMITTED_TO_POD", data)
    await session.flush()
    _log.info("order %s submitted to %s as %s", order.order_number, provider.name, placed.provider_order_id)
    return "submitted", None


async def failed(session: AsyncSession, order_id: str, error: str) -> None:
    """The submission's last attempt failed: say so on the order, which stays PAID for an admin."""
    order = await session.get(MerchOrder, order_id)
    if order is not None:
        add_event(session, order, "POD_SUBMISSION_FAILED", {"error": error})
        _log.error("order %s could not be submitted for printing: %s", order.order_number, error)
