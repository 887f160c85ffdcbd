"""An order's payment, from Stripe's events (through billing's verified, deduplicated inbox).

The customer confirms the order's manual-capture PaymentIntent in the browser; Stripe then sends
``payment_intent.amount_capturable_updated``: the money is authorised, not taken. Here the order
is checked again — still PENDING, and the authorised amount and currency are the order's — and
only then captured (Stripe's idempotency key is the order's, so a retried event never captures
twice): the order becomes PAID with ``paidAt``, a PAYMENT_CAPTURED event, the cart lines it was
made from leave the cart, and its submission to the printer is queued (``merch.submission``).
An order that fails the check has its intent cancelled and is CANCELLED.
``payment_intent.payment_failed`` or ``canceled`` cancel a PENDING order, with an event.
``charge.refunded`` for an order's charge refunds it when the refund was not ours (the dashboard). Each
event works under a lock on the order's row and moves only a PENDING order, so duplicates and
events in any order change nothing twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.billing import hooks as billing_hooks
from spikeland.core.clock import utcnow
from spikeland.merch import mails, pricing
from spikeland.merch.jobs import enqueue
from spikeland.merch.models import FulfilmentKind, MerchCart, MerchCartItem, MerchOrder, MerchOrderStatus
from spikeland.merch.orders import add_event
from spikeland.settings import Settings

KIND = "merch_order"


async def _locked_order(session: AsyncSession, intent: dict[str, Any]) -> MerchOrder:
    intent_id = intent.get("id")
    order_id = (intent.get("metadata") or {}).get("orderId")
    order = await session.scalar(
        select(MerchOrder)
        .where(MerchOrder.id == str(order_id), MerchOrder.stripe_payment_intent_id == str(intent_id))
        .with_for_update()
    )
    if order is None:
        raise billing_hooks.BadEvent(f"no merch order {order_id!r} with payment intent {intent_id!r}")
    return order


async def _cancel(session: AsyncSession, order: MerchOrder, type_: str, data: dict[str, Any]) -> str:
    order.status = MerchOrderStatus.CANCELLED
    add_event(session, order, type_, data)
    await session.flush()
    return "CANCELLED"


async def _paid(session: AsyncSession, order: MerchOrder, intent: dict[str, Any], settings: Settings) -> str:
    order.status = MerchOrderStatus.PAID
    order.paid_at = utcnow()
    order.stripe_payment_status = str(intent.get("status") or "succeeded")
    add_event(
        session,
        order,
        "PAYMENT_CAPTURED",
        {"amount": str(order.total_amount), "paymentIntent": intent.get("id")},
    )
    # The lines the order was made from leave the cart; lines added since stay.
    cart = select(MerchCart.id).where(MerchCart.user_id == order.user_id).scalar_subquery()
    await session.execute(
        delete(MerchCartItem).where(
            MerchCartItem.cart_id == cart, MerchCartItem.created_at <= order.created_at
        )
    )
    await enqueue(session, FulfilmentKind.SUBMIT, order_id=order.id)  # to the printer (merch.submission)
    await billing_hooks.run_payment_hooks(
        session, order.user_id, order.total_amount, order.currency, f"merch:{order.id}"
    )
    await mails.send_confirmation_after_commit(session, order, settings)
    return "PAID"


async def on_intent(
    session: AsyncSession, event_type: str, intent: dict[str, Any], context: billing_hooks.IntentContext
) -> str:
    gateway = context.gateway
    order = await _locked_order(session, intent)
    if order.status != MerchOrderStatus.PENDING:
        return f"order already {order.status.value}"
    if event_type in ("payment_intent.payment_failed", "payment_intent.canceled"):
        error = intent.get("last_payment_error")
        error = error if isinstance(error, dict) else {}
        kind = "PAYMENT_FAILED" if event_type.endswith("failed") else "PAYMENT_CANCELLED"
        return await _cancel(
            session, order, kind, {"code": error.get("code"), "message": error.get("message")}
        )
    if event_type == "payment_intent.succeeded":  # captured: by us a moment ago, or from the dashboard
        return await _paid(session, order, intent, context.settings)
    if event_type != "payment_intent.amount_capturable_updated":
        return "nothing to do"
    expected = pricing.in_pence(order.total_amount)
    amount, currency = intent.get("amount_capturable") or intent.get("amount"), intent.get("currency")
    if gateway is None:
        raise RuntimeError("an authorised merch payment waits: Stripe is not configured here")
    if amount != expected or str(currency).upper() != order.currency:
        await gateway.cancel_payment_intent(str(intent["id"]))
        found = {"amount": amount, "currency": currency, "expected": expected}
        return await _cancel(session, order, "PAYMENT_MISMATCH", found)
    captured = await gateway.capture_payment_intent(
        str(intent["id"]), idempotency_key=f"merch-capture-{order.id}"
    )
    return await _paid(session, order, captured, context.settings)


async def on_charge_refunded(session: AsyncSession, charge: dict[str, Any]) -> str | None:
    """A refund of an order's charge: ours (already REFUNDED) changes nothing; one made in Stripe's
    dashboard refunds the order (in full: REFUNDED; in part: a PARTIALLY_REFUNDED event)."""
    intent_id = charge.get("payment_intent")
    if not isinstance(intent_id, str):
        return None
    order = await session.scalar(
        select(MerchOrder).where(MerchOrder.stripe_payment_intent_id == intent_id).with_for_update()
    )
    if order is None:
        return None
    if order.status == MerchOrderStatus.REFUNDED:
        return f"order {order.order_number} already REFUNDED"
    amount, refunded = charge.get("amount"), charge.get("amount_refunded")
    if not isinstance(amount, int) or not isinstance(refunded, int) or refunded <= 0:
        raise billing_hooks.BadEvent("the charge's amounts are not valid")
    data = {"charge": charge.get("id"), "amountRefunded": refunded, "source": "stripe"}
    if refunded < amount:
        add_event(session, order, "PARTIALLY_REFUNDED", data)
        return f"order {order.order_number} partly refunded"
    order.status = MerchOrderStatus.REFUNDED
    order.stripe_payment_status = "refunded"
    add_event(session, order, "REFUNDED", data)
    await session.flush()
    return f"order {order.order_number} REFUNDED"


def register() -> None:
    billing_hooks.on_payment_intent(KIND, on_intent)
    billing_hooks.on_charge_refunded(on_charge_refunded)
