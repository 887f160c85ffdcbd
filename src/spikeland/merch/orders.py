"""Checkout: the cart becomes an order awaiting payment, with a Stripe PaymentIntent to confirm.

Rules:

- The cart's row is locked for the whole checkout, so two checkouts of one cart run one after the
  other; every line must still be on sale (409 ``cart_items_unavailable`` otherwise) and the
  destination served (422 ``shipping_unavailable``); an empty cart is 422 ``cart_empty``.
- One request, one order: a repeat of the same ``Idempotency-Key`` answers the order it made (the
  key under another request is 422 ``idempotency_key_reused``), and without a key the same cart
  and details checked out again within 30 minutes while that order still awaits payment answer
  that order too (a double click). Both are found through the ORDER_CREATED event, which records
  the key and the request's fingerprint.
- The order copies what was bought — names, unit and line prices, the print file of the image's
  best version — so later catalogue edits never change it. Its number is ``SL-YYYYMMDD-XXXX``
  (UTC date, 4 of 32 unambiguous characters), drawn again on the rare collision.
- The PaymentIntent (GBP pence, ``capture_method: manual``, metadata naming the order) is made
  inside the transaction with the order's id as Stripe's idempotency key: a failure leaves no
  order; a retry never makes a second intent. The cart is emptied when the order is paid, not here.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.billing.service import provider_error, require_gateway
from spikeland.core.clock import utcnow
from spikeland.core.errors import Conflict, NotFound, ValidationFailed
from spikeland.core.pagination import Desc, keyset_page
from spikeland.db.integrity import violated_constraint
from spikeland.identity.models import User, UserRole
from spikeland.images import service as images
from spikeland.integrations.stripe import StripeGateway, StripeRequestError, StripeUnavailable
from spikeland.merch import pricing
from spikeland.merch.cart import CartLine, available, cart_lines, check_print_size
from spikeland.merch.catalogue import unit_price
from spikeland.merch.models import (
    MerchOrder,
    MerchOrderEvent,
    MerchOrderItem,
    MerchOrderStatus,
    MerchShipment,
)
from spikeland.merch.schemas import (
    CheckoutOut,
    CheckoutRequest,
    CheckoutSummary,
    OrderItemOut,
    OrderOut,
    OrderPage,
    ShipmentOut,
)
from spikeland.tokens.idempotency import IdempotencyKeyReused, fingerprint

ORDER_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
DOUBLE_CLICK_WINDOW = timedelta(minutes=30)
ORDER_CREATED = "ORDER_CREATED"
CURRENCY = "GBP"
ADMIN_ROLES = (UserRole.ADMIN, UserRole.SUPER_ADMIN)


class CartEmpty(ValidationFailed):
    code = "cart_empty"


class ShippingUnavailable(ValidationFailed):
    code = "shipping_unavailable"


class CartItemsUnavailable(Conflict):
    code = "cart_items_unavailable"


class OrderNotFound(NotFound):
    code = "order_not_found"

    def __init__(self) -> None:
        super().__init__("No such order.")


def add_event(session: AsyncSession, order: MerchOrder, type_: str, data: dict[str, Any]) -> None:
    """One more line of the order's history, in the caller's transaction."""
    session.add(MerchOrderEvent(order_id=order.id, type=type_, data=data))


def order_number() -> str:
    day = utcnow().strftime("%Y%m%d")
    return f"SL-{day}-" + "".join(secrets.choice(ORDER_ALPHABET) for _ in range(4))


def _request_fingerprint(lines: list[CartLine], data: CheckoutRequest) -> str:
    bought = [
        [item.product_id, item.variant_id, item.image_id, item.quantity, item.custom_text]
        for item, _product, _variant, _active in lines
    ]
    return fingerprint("merch-checkout", {"lines": bought, "request": data.model_dump(mode="json")})


async def _previous(
    session: AsyncSession, user_id: str, key: str | None, request_fingerprint: str
) -> MerchOrder | None:
    """The order this request already made (by its key, or a double click of the same cart)."""
    statement = (
        select(MerchOrder, MerchOrderEvent.data)
        .join(MerchOrderEvent, MerchOrderEvent.order_id == MerchOrder.id)
        .where(MerchOrder.user_id == user_id, MerchOrderEvent.type == ORDER_CREATED)
    )
    if key is not None:
        statement = statement.where(MerchOrderEvent.data["idempotencyKey"].astext == key)
    else:
        statement = statement.where(
            MerchOrder.status == MerchOrderStatus.PENDING,
            MerchOrder.created_at > utcnow() - DOUBLE_CLICK_WINDOW,
            MerchOrderEvent.data["fingerprint"].astext == request_fingerprint,
        )
    row = (await session.execute(statement.order_by(MerchOrder.created_at.desc()).limit(1))).first()
    if row is None:
        return None
    order: MerchOrder = row[0]
    data: dict[str, Any] | None = row[1]
    if key is not None and (data or {}).get("fingerprint") != request_fingerprint:
        raise IdempotencyKeyReused()
    return order


def _summary(order: MerchOrder, zone: str, free_from: Decimal, item_count: int) -> CheckoutSummary:
    return CheckoutSummary(
        subtotal=order.subtotal,
        shipping=order.shipping_cost,
        shipping_zone=zone,
        free_shipping_threshold=free_from,
        tax=order.tax_amount,
        total=order.total_amount,
        currency=order.currency,
        item_count=item_count,
    )


async def _answer(session: AsyncSession, gateway: StripeGateway, order: MerchOrder) -> CheckoutOut:
    """The checkout answer of an order made before (its intent's client secret asked again)."""
    assert order.stripe_payment_intent_id is not None
    try:
        intent = await gateway.retrieve_payment_intent(order.stripe_payment_intent_id)
    except (StripeUnavailable, StripeRequestError) as exc:
        raise provider_error(exc) from None
    # The order was only made for a served country.
    zone = pricing.zone_of(str(order.shipping_address.get("countryCode", ""))) or pricing.Zone.UK
    count = await session.scalar(
        select(func.sum(MerchOrderItem.quantity)).where(MerchOrderItem.order_id == order.id)
    )
    return CheckoutOut(
        order_id=order.id,
        order_number=order.order_number,
        client_secret=str(intent["client_secret"]),
        summary=_summary(order, zone.value, pricing.SHIPPING[zone].free_from, int(count or 0)),
    )


async def _insert_order(session: AsyncSession, values: dict[str, Any]) -> MerchOrder:
    """The order under a fresh number (drawn again when another order has it)."""
    for _attempt in range(8):
        order = MerchOrder(order_number=order_number(), **values)
        try:
            async with session.begin_nested():
                session.add(order)
                await session.flush()
            return order
        except IntegrityError as exc:
            constraint = violated_constraint(exc) or ""
            if "orderNumber" not in constraint:
                raise
    raise RuntimeError("no free order number after 8 draws")  # 32^4 numbers a day: not expected


async def checkout(
    session: AsyncSession,
    gateway: StripeGateway | None,
    user_id: str,
    data: CheckoutRequest,
    idempotency_key: str | None,
) -> CheckoutOut:
    stripe = require_gateway(gateway)
    _cart, lines = await cart_lines(session, user_id, lock=True)
    if not lines:
        raise CartEmpty("Your cart is empty.")
    request_fingerprint = _request_fingerprint(lines, data)
    previous = await _previous(session, user_id, idempotency_key, request_fingerprint)
    if previous is not None:
        return await _answer(session, stripe, previous)

    gone = [line[0].id for line in lines if not available(line)]
    if gone:
        raise CartItemsUnavailable(
            "Some items of your cart are no longer available: remove them first.", details={"itemIds": gone}
        )
    country = data.shipping_address.country_code
    subtotal = sum((unit_price(p, v) * item.quantity for item, p, v, _ in lines), Decimal("0.00"))
    figures = pricing.totals(country, subtotal)
    if figures is None:
        raise ShippingUnavailable(
            "Shipping to this region is not available yet. We currently ship to the UK and the EU only.",
            details={"countryCode": country},
        )

    snapshots = []
    for item, product, variant, _ in lines:
        assert item.image_id is not None
        source = await images.best_version(session, user_id, item.image_id)
        check_print_size(source, product, variant)  # an enhancement may have gone since
        unit = unit_price(product, variant)
        snapshots.append(
            MerchOrderItem(
                product_id=product.id,
                variant_id=variant.id if variant is not None else None,
                product_name=product.name,
                variant_name=variant.name if variant is not None else None,
                image_url=source.url,
                image_r2_key=source.key,
                quantity=item.quantity,
                unit_price=unit,
                total_price=unit * item.quantity,
                custom_text=item.custom_text,
            )
        )
    address = data.shipping_address.model_dump(mode="json", by_alias=True, exclude_none=True)
    billing = (
        data.billing_address.model_dump(mode="json", by_alias=True, exclude_none=True)
        if data.billing_address
        else None
    )
    order = await _insert_order(
        session,
        {
            "user_id": user_id,
            "status": MerchOrderStatus.PENDING,
            "subtotal": figures.subtotal,
            "shipping_cost": figures.shipping,
            "tax_amount": figures.tax,
            "total_amount": figures.total,
            "currency": CURRENCY,
            "shipping_address": address,
            "billing_address": billing,
            "customer_email": data.customer_email,
            "customer_phone": data.customer_phone,
            "notes": data.notes,
        },
    )
    for snapshot in snapshots:
        snapshot.order_id = order.id
        session.add(snapshot)
    item_count = sum(item.quantity for item, *_ in lines)
    created = {
        "itemCount": item_count,
        "subtotal": str(figures.subtotal),
        "shipping": str(figures.shipping),
        "tax": str(figures.tax),
        "total": str(figures.total),
        "idempotencyKey": idempotency_key,
        "fingerprint": request_fingerprint,
    }
    add_event(session, order, ORDER_CREATED, created)
    await session.flush()
    try:
        intent = await stripe.create_payment_intent(
            amount=pricing.in_pence(figures.total),
            currency=CURRENCY.lower(),
            metadata={
                "userId": user_id,
                "orderId": order.id,
                "orderNumber": order.order_number,
                "type": "merch_order",
            },
            description=f"Spike Land Order {order.order_number}",
            receipt_email=data.customer_email,
            idempotency_key=f"merch-order-{order.id}",
        )
    except (StripeUnavailable, StripeRequestError) as exc:
        raise provider_error(exc) from None
    order.stripe_payment_intent_id = str(intent["id"])
    order.stripe_payment_status = str(intent.get("status") or "")
    await session.flush()
    return CheckoutOut(
        order_id=order.id,
        order_number=order.order_number,
        client_secret=str(intent["client_secret"]),
        summary=_summary(order, figures.zone.value, figures.free_shipping_from, item_count),
    )


# ----------------------------------------------------------------------------- reading orders

ORDER_PAGE_ORDER = (Desc(MerchOrder.created_at), Desc(MerchOrder.id))


async def details(session: AsyncSession, orders: list[MerchOrder]) -> list[OrderOut]:
    ids = [o.id for o in orders]
    items: dict[str, list[MerchOrderItem]] = {i: [] for i in ids}
    shipments: dict[str, list[MerchShipment]] = {i: [] for i in ids}
    if ids:
        for item in await session.scalars(
            select(MerchOrderItem)
            .where(MerchOrderItem.order_id.in_(ids))
            .order_by(MerchOrderItem.created_at, MerchOrderItem.id)
        ):
            items[item.order_id].append(item)
        for shipment in await session.scalars(
            select(MerchShipment)
            .where(MerchShipment.order_id.in_(ids))
            .order_by(MerchShipment.created_at, MerchShipment.id)
        ):
            shipments[shipment.order_id].append(shipment)
    return [
        OrderOut.model_validate(
            {
                **{
                    name: getattr(order, name)
                    for name in OrderOut.model_fields
                    if name not in ("items", "shipments")
                },
                "items": [OrderItemOut.model_validate(i) for i in items[order.id]],
                "shipments": [ShipmentOut.model_validate(s) for s in shipments[order.id]],
            }
        )
        for order in orders
    ]


async def list_orders(session: AsyncSession, user_id: str, *, limit: int, cursor: str | None) -> OrderPage:
    """The user's orders, newest first, with their items and shipments."""
    page = await keyset_page(
        session,
        select(MerchOrder).where(MerchOrder.user_id == user_id),
        ORDER_PAGE_ORDER,
        limit=limit,
        cursor=cursor,
    )
    return OrderPage(items=await details(session, list(page.items)), next_cursor=page.next_cursor)


async def get_order(session: AsyncSession, viewer: User, order_id: str) -> OrderOut:
    """One order, for its owner or an admin (anyone else: 404, as if it did not exist)."""
    order = await session.get(MerchOrder, order_id)
    if order is None or not (order.user_id == viewer.id or viewer.role in ADMIN_ROLES):
        raise OrderNotFound()
    return (await details(session, [order]))[0]
