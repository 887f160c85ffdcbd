"""Applying a print provider's update to its order: stage, parcels (shipments), and the order's status.

State machines, forward only (an update that arrives late never moves anything back):

- a shipment: PENDING → PROCESSING → SHIPPED → IN_TRANSIT → OUT_FOR_DELIVERY → DELIVERED, steps
  may be skipped (a provider does not report every one); FAILED from any state before DELIVERED;
  nothing leaves DELIVERED or FAILED. A refused move changes nothing and is reported in the
  outcome;
- the order: SUBMITTED → IN_PRODUCTION → SHIPPED (its first parcel is on its way) → DELIVERED
  (every item is in a delivered parcel). An order refunded or cancelled meanwhile keeps its
  status; its parcels are still tracked.

Every move writes a merch_order_event (SHIPMENT_<STATUS>, ORDER_<STATUS>); items are linked to
their parcel and carry its status as ``podStatus``. A parcel's first shipped step mails the
customer its tracking, and the order's delivery mails them once more (``merch.mails``).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.integrations.pod import Parcel, PrintUpdate
from spikeland.merch import mails
from spikeland.merch.models import (
    MerchOrder,
    MerchOrderItem,
    MerchOrderStatus,
    MerchProduct,
    MerchShipment,
    PodProvider,
    ShipmentStatus,
)
from spikeland.merch.orders import add_event
from spikeland.settings import Settings

_WAY = [
    ShipmentStatus.PENDING,
    ShipmentStatus.PROCESSING,
    ShipmentStatus.SHIPPED,
    ShipmentStatus.IN_TRANSIT,
    ShipmentStatus.OUT_FOR_DELIVERY,
    ShipmentStatus.DELIVERED,
]
_ON_ITS_WAY = set(_WAY[_WAY.index(ShipmentStatus.SHIPPED) :])
_ORDER_WAY = [
    MerchOrderStatus.SUBMITTED,
    MerchOrderStatus.IN_PRODUCTION,
    MerchOrderStatus.SHIPPED,
    MerchOrderStatus.DELIVERED,
]


def shipment_move_allowed(current: ShipmentStatus, new: ShipmentStatus) -> bool:
    if current in (ShipmentStatus.DELIVERED, ShipmentStatus.FAILED):
        return False
    if new == ShipmentStatus.FAILED:
        return True
    return _WAY.index(new) > _WAY.index(current)


def _advance_order(
    session: AsyncSession, order: MerchOrder, to: MerchOrderStatus, data: dict[str, object]
) -> bool:
    if order.status not in _ORDER_WAY or _ORDER_WAY.index(to) <= _ORDER_WAY.index(order.status):
        return False
    order.status = to
    add_event(session, order, f"ORDER_{to.value}", data)
    return True


async def find_order(session: AsyncSession, update: PrintUpdate) -> MerchOrder | None:
    """The update's order, locked: by the reference it echoes, else by the provider's order id."""
    by_provider = select(MerchOrderItem.order_id).where(
        MerchOrderItem.pod_order_id == update.provider_order_id
    )
    conditions: list[ColumnElement[bool]] = [MerchOrder.id.in_(by_provider)]
    if update.order_reference:
        conditions.append(MerchOrder.id == update.order_reference)
    statement = select(MerchOrder).where(or_(*conditions)).limit(1).with_for_update()
    return (await session.scalars(statement)).first()


async def _shipment(session: AsyncSession, order: MerchOrder, parcel: Parcel) -> MerchShipment:
    shipment = await session.scalar(
        select(MerchShipment).where(
            MerchShipment.order_id == order.id, MerchShipment.provider_ship_id == parcel.id
        )
    )
    if shipment is None:
        provider = await session.scalar(
            select(MerchProduct.provider)
            .join(MerchOrderItem, MerchOrderItem.product_id == MerchProduct.id)
            .where(MerchOrderItem.order_id == order.id)
            .limit(1)
        )
        shipment = MerchShipment(
            order_id=order.id,
            provider=provider or PodProvider.PRODIGI,
            provider_ship_id=parcel.id,
            status=ShipmentStatus.PENDING,
        )
        session.add(shipment)
        await session.flush()
    return shipment


async def _apply_parcel(session: AsyncSession, order: MerchOrder, parcel: Parcel, settings: Settings) -> str:
    shipment = await _shipment(session, order, parcel)
    new = ShipmentStatus(parcel.status)
    for name in ("carrier", "tracking_number", "tracking_url"):
        if getattr(parcel, name):
            setattr(shipment, name, getattr(parcel, name))
    if parcel.items:
        items = await session.scalars(
            select(MerchOrderItem).where(
                MerchOrderItem.order_id == order.id, MerchOrderItem.id.in_(parcel.items)
            )
        )
        for item in items:
            item.shipment_id = shipment.id
            if shipment_move_allowed(shipment.status, new):
                item.pod_status = new.value
    if new == shipment.status:
        return f"parcel {parcel.id} already {new.value}"
    if not shipment_move_allowed(shipment.status, new):
        return f"parcel {parcel.id}: {shipment.status.value} -> {new.value} refused"
    was = shipment.status
    shipment.status = new
    now = utcnow()
    if new in _ON_ITS_WAY and shipment.shipped_at is None:
        shipment.shipped_at = now
    if new == ShipmentStatus.DELIVERED:
        shipment.delivered_at = now
    add_event(
        session,
        order,
        f"SHIPMENT_{new.value}",
        {
            "shipmentId": shipment.id,
            "providerShipId": parcel.id,
            "carrier": shipment.carrier,
            "trackingNumber": shipment.tracking_number,
            "items": list(parcel.items),
        },
    )
    if new in _ON_ITS_WAY and was not in _ON_ITS_WAY:
        await session.flush()
        await mails.send_shipped_after_commit(session, order, shipment, settings)
    return f"parcel {parcel.id}: {was.value} -> {new.value}"


async def _recompute(session: AsyncSession, order: MerchOrder, settings: Settings) -> list[str]:
    await session.flush()
    rows = await session.execute(
        select(MerchOrderItem.id, MerchShipment.status)
        .outerjoin(MerchShipment, MerchShipment.id == MerchOrderItem.shipment_id)
        .where(MerchOrderItem.order_id == order.id)
    )
    statuses = [status for _item, status in rows.all()]
    moved = []
    on_its_way = [s in _ON_ITS_WAY for s in statuses]
    if any(on_its_way) and _advance_order(
        session, order, MerchOrderStatus.SHIPPED, {"partly": not all(on_its_way)}
    ):
        moved.append("order SHIPPED")
    delivered = bool(statuses) and all(s == ShipmentStatus.DELIVERED for s in statuses)
    if delivered and _advance_order(session, order, MerchOrderStatus.DELIVERED, {}):
        await session.flush()
        await mails.send_delivered_after_commit(session, order, settings)
        moved.append("order DELIVERED")
    return moved


async def apply_update(
    session: AsyncSession, order: MerchOrder, update: PrintUpdate, settings: Settings
) -> list[str]:
    """Apply one update to its (locked) order; returns what changed, line by line."""
    done: list[str] = []
    if update.stage == "IN_PRODUCTION":
        if _advance_order(session, order, MerchOrderStatus.IN_PRODUCTION, {"event": update.event_type}):
            done.append("order IN_PRODUCTION")
    elif update.stage == "CANCELLED":
        # The printer will not make it; the money stays taken until an admin refunds.
        add_event(session, order, "POD_CANCELLED", {"event": update.event_type})
        done.append("cancelled by the provider: left for an admin to refund")
    for parcel in update.parcels:
        done.append(await _apply_parcel(session, order, parcel, settings))
    done += await _recompute(session, order, settings)
    return done
