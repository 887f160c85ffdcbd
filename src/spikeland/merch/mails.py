"""The mails an order sends, through the email adapter and recorded in ``email_logs``.

Each is sent once the transaction that made its change has committed (never for a change that was
rolled back), in a transaction of its own, as ``ops.emails.deliver`` does for the request paths;
like theirs, delivery is at most once until the platform has a durable outbox.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from spikeland.integrations.email import EmailMessage, make_email_sender
from spikeland.merch.models import MerchOrder, MerchOrderItem, MerchShipment
from spikeland.ops.emails import OutgoingEmail, deliver
from spikeland.settings import Settings

_sending: set[asyncio.Task[None]] = set()  # kept until done: the loop holds tasks weakly


def _money(amount: Decimal) -> str:
    return f"£{amount:.2f}"


def order_confirmation(order: MerchOrder, items: list[MerchOrderItem]) -> EmailMessage:
    lines = [
        f"- {item.quantity} x {item.product_name}{f' ({item.variant_name})' if item.variant_name else ''}: "
        f"{_money(item.total_price)}"
        for item in items
    ]
    address = order.shipping_address or {}
    to = ", ".join(
        str(address[k])
        for k in ("name", "line1", "line2", "city", "postalCode", "countryCode")
        if address.get(k)
    )
    text = "\n".join(
        [
            f"Thank you for your order {order.order_number}. Your payment has been received.",
            "",
            *lines,
            "",
            f"Subtotal: {_money(order.subtotal)}",
            f"Shipping: {_money(order.shipping_cost)}",
            f"Total: {_money(order.total_amount)} (including VAT {_money(order.tax_amount)})",
            "",
            f"Shipping to: {to}",
            "We will let you know when it ships.",
        ]
    )
    return EmailMessage(
        to=order.customer_email,
        subject=f"Your Spike Land order {order.order_number} is confirmed",
        text=text,
        template="merch_order_confirmation",
        metadata={"orderId": order.id, "orderNumber": order.order_number},
    )


def shipped(order: MerchOrder, shipment: MerchShipment, items: list[MerchOrderItem]) -> EmailMessage:
    lines = [f"- {item.quantity} x {item.product_name}" for item in items]
    tracking = (
        [f"Carrier: {shipment.carrier or 'the carrier'}, tracking number {shipment.tracking_number}"]
        if shipment.tracking_number
        else []
    )
    if shipment.tracking_url:
        tracking.append(f"Track it: {shipment.tracking_url}")
    text = "\n".join(
        [f"A parcel of your order {order.order_number} is on its way:", "", *lines, "", *tracking]
    )
    return EmailMessage(
        to=order.customer_email,
        subject=f"Your Spike Land order {order.order_number} has shipped",
        text=text,
        template="merch_order_shipped",
        metadata={"orderId": order.id, "shipmentId": shipment.id},
    )


def delivered(order: MerchOrder) -> EmailMessage:
    return EmailMessage(
        to=order.customer_email,
        subject=f"Your Spike Land order {order.order_number} has been delivered",
        text=f"Every parcel of your order {order.order_number} has been delivered. Enjoy your prints!",
        template="merch_order_delivered",
        metadata={"orderId": order.id},
    )


async def _items(session: AsyncSession, *conditions: Any) -> list[MerchOrderItem]:
    statement = select(MerchOrderItem).where(*conditions)
    return list(
        (await session.scalars(statement.order_by(MerchOrderItem.created_at, MerchOrderItem.id))).all()
    )


def _after_commit(session: AsyncSession, user_id: str, message: EmailMessage, settings: Settings) -> None:
    """Send ``message`` when ``session``'s transaction commits (never when it rolls back)."""
    outgoing = OutgoingEmail(user_id, message)
    bind = session.bind
    assert isinstance(bind, AsyncEngine), "an order's session is bound to the engine"
    sessions = async_sessionmaker(bind, expire_on_commit=False)
    sender = make_email_sender(settings)
    loop = asyncio.get_running_loop()

    def committed(_: Session) -> None:
        task = loop.create_task(deliver(sessions, sender, outgoing))
        _sending.add(task)
        task.add_done_callback(_sending.discard)

    event.listen(session.sync_session, "after_commit", committed, once=True)


async def send_confirmation_after_commit(
    session: AsyncSession, order: MerchOrder, settings: Settings
) -> None:
    items = await _items(session, MerchOrderItem.order_id == order.id)
    _after_commit(session, order.user_id, order_confirmation(order, items), settings)


async def send_shipped_after_commit(
    session: AsyncSession, order: MerchOrder, shipment: MerchShipment, settings: Settings
) -> None:
    items = await _items(session, MerchOrderItem.shipment_id == shipment.id)
    _after_commit(session, order.user_id, shipped(order, shipment, items), settings)


async def send_delivered_after_commit(session: AsyncSession, order: MerchOrder, settings: Settings) -> None:
    _after_commit(session, order.user_id, delivered(order), settings)
