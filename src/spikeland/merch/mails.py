"""The mails an order sends, through the email adapter and recorded in ``email_logs``.

Each is sent once the transaction that made its change has committed (never for a change that was
rolled back), in a transaction of its own, as ``ops.emails.deliver`` does for the request paths;
like theirs, delivery is at most once until the platform has a durable outbox.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from spikeland.integrations.email import EmailMessage, make_email_sender
from spikeland.merch.models import MerchOrder, MerchOrderItem
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


async def send_confirmation_after_commit(
    session: AsyncSession, order: MerchOrder, settings: Settings
) -> None:
    """The order's confirmation, sent when ``session``'s transaction commits."""
    items = list(
        (
            await session.scalars(
                select(MerchOrderItem)
                .where(MerchOrderItem.order_id == order.id)
                .order_by(MerchOrderItem.created_at, MerchOrderItem.id)
            )
        ).all()
    )
    outgoing = OutgoingEmail(order.user_id, order_confirmation(order, items))
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
