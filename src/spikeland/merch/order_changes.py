"""Cancelling and refunding orders, by their owner or an admin; and the admin's order lists.

- An order not yet sent to the printer may be cancelled — by its owner or an admin: a PENDING one
  has its PaymentIntent cancelled (nothing was taken), a PAID one is refunded in full; either way
  an ORDER_CANCELLED event says who and why. Once SUBMITTED (or later) only a refund remains.
- An admin may refund any paid order (PAID through DELIVERED): Stripe refunds the whole captured
  amount (the refund's idempotency key is the order's, so a retry never refunds twice) and the
  order becomes REFUNDED with a REFUNDED event. Stripe's later ``charge.refunded`` changes nothing.
- An admin may resubmit a PAID order whose submission to the printer failed (a new SUBMIT job;
  409 while one is still waiting or running).
- Each works under a lock on the order's row; any other move is 409 ``order_not_changeable``.

Admin actions are logged, not written to ``audit_logs``: the specified ``AuditAction`` has no
label for them (see ``merch.catalogue``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.billing.service import provider_error, require_gateway
from spikeland.core.errors import Conflict
from spikeland.core.pagination import keyset_page
from spikeland.db.enums import JobStatus
from spikeland.identity.models import User
from spikeland.integrations.stripe import StripeGateway, StripeRequestError, StripeUnavailable
from spikeland.merch.jobs import enqueue
from spikeland.merch.models import (
    FulfilmentKind,
    MerchFulfilmentJob,
    MerchOrder,
    MerchOrderEvent,
    MerchOrderStatus,
)
from spikeland.merch.orders import ADMIN_ROLES, ORDER_PAGE_ORDER, OrderNotFound, add_event, details
from spikeland.merch.schemas import AdminOrderOut, AdminOrderPage, OrderEventOut

_log = logging.getLogger(__name__)

PAID_STATES = (
    MerchOrderStatus.PAID,
    MerchOrderStatus.SUBMITTED,
    MerchOrderStatus.IN_PRODUCTION,
    MerchOrderStatus.SHIPPED,
    MerchOrderStatus.DELIVERED,
)


class OrderNotChangeable(Conflict):
    code = "order_not_changeable"


async def _locked(session: AsyncSession, order_id: str, actor: User) -> MerchOrder:
    order = await session.scalar(select(MerchOrder).where(MerchOrder.id == order_id).with_for_update())
    if order is None or not (order.user_id == actor.id or actor.role in ADMIN_ROLES):
        raise OrderNotFound()
    return order


async def refund_in_full(
    session: AsyncSession, stripe: StripeGateway, order: MerchOrder, data: dict[str, object]
) -> None:
    """Refund the whole captured amount (keyed by the order: a retry never refunds twice) and mark
    the order REFUNDED with a REFUNDED event carrying ``data``; Stripe's errors are the caller's."""
    assert order.stripe_payment_intent_id is not None
    refund = await stripe.refund_payment_intent(order.stripe_payment_intent_id, f"merch-refund-{order.id}")
    order.status = MerchOrderStatus.REFUNDED
    order.stripe_payment_status = "refunded"
    add_event(
        session, order, "REFUNDED", {"amount": str(order.total_amount), "refund": refund.get("id"), **data}
    )


async def _refund(session: AsyncSession, stripe: StripeGateway, order: MerchOrder, actor: User) -> None:
    try:
        await refund_in_full(session, stripe, order, {"by": actor.id})
    except (StripeUnavailable, StripeRequestError) as exc:
        raise provider_error(exc) from None


async def cancel(
    session: AsyncSession, gateway: StripeGateway | None, actor: User, order_id: str, reason: str | None
) -> MerchOrder:
    """Cancel an order not yet sent to the printer (its owner, or an admin)."""
    order = await _locked(session, order_id, actor)
    if order.status not in (MerchOrderStatus.PENDING, MerchOrderStatus.PAID):
        raise OrderNotChangeable(
            f"An order that is {order.status.value} can no longer be cancelled.",
            details={"status": order.status.value},
        )
    stripe = require_gateway(gateway)
    was = order.status
    if was == MerchOrderStatus.PENDING:
        order.status = MerchOrderStatus.CANCELLED
    if was == MerchOrderStatus.PENDING and order.stripe_payment_intent_id is not None:
        try:
            await stripe.cancel_payment_intent(order.stripe_payment_intent_id)
        except StripeRequestError as exc:  # already cancelled, or confirmed meanwhile: look again
            intent = await stripe.retrieve_payment_intent(order.stripe_payment_intent_id)
            if intent.get("status") != "canceled":
                raise provider_error(exc) from None
        except StripeUnavailable as exc:
            raise provider_error(exc) from None
        order.stripe_payment_status = "canceled"
    add_event(session, order, "ORDER_CANCELLED", {"by": actor.id, "was": was.value, "reason": reason})
    if was == MerchOrderStatus.PAID:
        await _refund(session, stripe, order, actor)
    await session.flush()
    _log.info("order %s cancelled by %s (was %s)", order.order_number, actor.id, was.value)
    return order


async def refund(
    session: AsyncSession, gateway: StripeGateway | None, actor: User, order_id: str
) -> MerchOrder:
    """Refund a paid order in full (admins)."""
    order = await _locked(session, order_id, actor)
    if order.status not in PAID_STATES:
        raise OrderNotChangeable(
            f"Only a paid order can be refunded; this one is {order.status.value}.",
            details={"status": order.status.value},
        )
    await _refund(session, require_gateway(gateway), order, actor)
    await session.flush()
    _log.info("order %s refunded by admin %s", order.order_number, actor.id)
    return order


async def resubmit(session: AsyncSession, actor: User, order_id: str) -> MerchOrder:
    """Send a paid order whose submission failed to the printer again (admins)."""
    order = await _locked(session, order_id, actor)
    if order.status != MerchOrderStatus.PAID:
        raise OrderNotChangeable(
            "Only a paid order not yet with the printer can be resubmitted; "
            f"this one is {order.status.value}.",
            details={"status": order.status.value},
        )
    waiting = await session.scalar(
        select(MerchFulfilmentJob.id).where(
            MerchFulfilmentJob.order_id == order.id,
            MerchFulfilmentJob.kind == FulfilmentKind.SUBMIT,
            MerchFulfilmentJob.status.in_((JobStatus.PENDING, JobStatus.PROCESSING)),
        )
    )
    if waiting is not None:
        raise OrderNotChangeable("The order is already on its way to the printer.", details={"job": waiting})
    job = await enqueue(session, FulfilmentKind.SUBMIT, order_id=order.id)
    add_event(session, order, "RESUBMITTED", {"by": actor.id, "job": job.id})
    await session.flush()
    _log.info("order %s resubmitted by admin %s", order.order_number, actor.id)
    return order


async def admin_orders(
    session: AsyncSession,
    *,
    status: MerchOrderStatus | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    cursor: str | None,
    search: str | None = None,
) -> AdminOrderPage:
    """Every order, newest first; ``search`` is an order number or the customer's email, whole (an
    equality on each, as checkout stores them: upper-case numbers, lower-case addresses)."""
    statement = select(MerchOrder)
    if search and search.strip():
        wanted = search.strip()
        statement = statement.where(
            or_(MerchOrder.order_number == wanted.upper(), MerchOrder.customer_email == wanted.lower())
        )
    if status is not None:
        statement = statement.where(MerchOrder.status == status)
    if since is not None:
        statement = statement.where(MerchOrder.created_at >= since)
    if until is not None:
        statement = statement.where(MerchOrder.created_at < until)
    page = await keyset_page(session, statement, ORDER_PAGE_ORDER, limit=limit, cursor=cursor)
    return AdminOrderPage(items=await details(session, list(page.items)), next_cursor=page.next_cursor)


async def admin_order(session: AsyncSession, order_id: str) -> AdminOrderOut:
    order = await session.get(MerchOrder, order_id)
    if order is None:
        raise OrderNotFound()
    (view,) = await details(session, [order])
    events = await session.scalars(
        select(MerchOrderEvent)
        .where(MerchOrderEvent.order_id == order.id)
        .order_by(MerchOrderEvent.created_at, MerchOrderEvent.id)
    )
    return AdminOrderOut(
        **view.model_dump(),
        user_id=order.user_id,
        stripe_payment_intent_id=order.stripe_payment_intent_id,
        stripe_payment_status=order.stripe_payment_status,
        updated_at=order.updated_at,
        events=[OrderEventOut.model_validate(e) for e in events],
    )
