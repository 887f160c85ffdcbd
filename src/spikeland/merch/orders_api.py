"""Checkout, the caller's orders and the print provider's callbacks over HTTP, under ``/merch``;
the admins' order desk under ``/admin/merch/orders``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, status

from spikeland.billing.schemas import WebhookAck
from spikeland.core.deps import IdempotencyKey, SettingsDep
from spikeland.core.limits import read_body
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.core.schemas import IsoDateTime
from spikeland.db.session import DbSession
from spikeland.identity.deps import AdminUser, CurrentCaller, CurrentUser, audited
from spikeland.integrations.pod.prodigi import SIGNATURE_HEADER
from spikeland.integrations.stripe import make_gateway
from spikeland.merch import inbox, order_changes, orders
from spikeland.merch.models import MerchOrderStatus
from spikeland.merch.schemas import (
    AdminOrderOut,
    AdminOrderPage,
    CancelRequest,
    CheckoutOut,
    CheckoutRequest,
    OrderOut,
    OrderPage,
)

router = APIRouter(route_class=Route, prefix="/merch", tags=["merch"])


@router.post(
    "/checkout",
    openapi_extra=errors(
        cart_empty=422,
        shipping_unavailable=422,
        image_too_small=422,
        idempotency_key_reused=422,
        cart_items_unavailable=409,
        payments_unavailable=503,
        payment_provider_error=502,
    ),
    response_model=CheckoutOut,
    status_code=status.HTTP_201_CREATED,
)
async def checkout(
    body: CheckoutRequest,
    caller: CurrentCaller,
    session: DbSession,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> CheckoutOut:
    """The cart becomes an order awaiting payment; confirm the returned client secret with Stripe.js.
    The same Idempotency-Key (or the same cart checked out again while its order awaits payment)
    answers the same order."""
    gateway = make_gateway(settings)
    return await orders.checkout(session, gateway, caller.user_id, body, idempotency_key)


@router.get("/orders", response_model=OrderPage)
async def list_orders(
    caller: CurrentCaller, session: DbSession, limit: PageLimit = 20, cursor: PageCursor = None
) -> OrderPage:
    """The caller's orders, newest first, with items and shipments."""
    return await orders.list_orders(session, caller.user_id, limit=limit, cursor=cursor)


@router.get("/orders/{order_id}", openapi_extra=errors(order_not_found=404), response_model=OrderOut)
async def get_order(order_id: str, user: CurrentUser, session: DbSession) -> OrderOut:
    """One order: its owner's, or any for an admin."""
    return await orders.get_order(session, user, order_id)


@router.post(
    "/orders/{order_id}/cancel",
    openapi_extra=errors(order_not_found=404, order_not_changeable=409, payments_unavailable=503),
    response_model=OrderOut,
)
async def cancel_order(
    order_id: str,
    user: CurrentUser,
    session: DbSession,
    settings: SettingsDep,
    body: CancelRequest | None = None,
) -> OrderOut:
    """Cancel an order not yet sent to the printer: nothing is taken, or all is refunded."""
    order = await order_changes.cancel(
        session, make_gateway(settings), user, order_id, body.reason if body else None
    )
    return await orders.get_order(session, user, order.id)


@router.post(
    "/webhooks/prodigi",
    openapi_extra=errors(
        invalid_signature=400, malformed_payload=400, payload_too_large=413, webhooks_unavailable=503
    ),
    response_model=WebhookAck,
)
async def prodigi_webhook(
    request: Request,  # the raw body, read bounded: the signature covers its exact bytes
    session: DbSession,
    settings: SettingsDep,
    signature: Annotated[str | None, Header(alias=SIGNATURE_HEADER, max_length=200)] = None,
) -> WebhookAck:
    """Prodigi's order callbacks: verified, kept once, applied by the worker."""
    body = await read_body(request, inbox.MAX_BODY, "callback")
    new = await inbox.receive_prodigi(session, body, signature, settings)
    return WebhookAck(received=True, duplicate=not new)


admin_router = APIRouter(route_class=Route, prefix="/admin/merch/orders", tags=["admin"])


@admin_router.get("", response_model=AdminOrderPage)
async def admin_orders(
    actor: AdminUser,
    session: DbSession,
    status: MerchOrderStatus | None = None,
    since: Annotated[IsoDateTime | None, Query(description="Created at or after (ISO 8601).")] = None,
    until: Annotated[IsoDateTime | None, Query(description="Created before (ISO 8601).")] = None,
    limit: PageLimit = 50,
    cursor: PageCursor = None,
) -> AdminOrderPage:
    """Every order, newest first, by status and creation time."""
    return await order_changes.admin_orders(
        session, status=status, since=since, until=until, limit=limit, cursor=cursor
    )


@admin_router.get("/{order_id}", openapi_extra=errors(order_not_found=404), response_model=AdminOrderOut)
async def admin_order(order_id: str, actor: AdminUser, session: DbSession) -> AdminOrderOut:
    """One order with its events."""
    return await order_changes.admin_order(session, order_id)


@admin_router.post(
    "/{order_id}/cancel",
    openapi_extra=errors(order_not_found=404, order_not_changeable=409, payments_unavailable=503),
    response_model=AdminOrderOut,
    dependencies=[audited("MERCH_ORDER_CANCEL")],
)
async def admin_cancel(
    order_id: str,
    actor: AdminUser,
    session: DbSession,
    settings: SettingsDep,
    body: CancelRequest | None = None,
) -> AdminOrderOut:
    await order_changes.cancel(
        session, make_gateway(settings), actor, order_id, body.reason if body else None
    )
    return await order_changes.admin_order(session, order_id)


@admin_router.post(
    "/{order_id}/resubmit",
    openapi_extra=errors(order_not_found=404, order_not_changeable=409),
    response_model=AdminOrderOut,
    dependencies=[audited("MERCH_ORDER_RESUBMIT")],
)
async def admin_resubmit(order_id: str, actor: AdminUser, session: DbSession) -> AdminOrderOut:
    """Send a paid order whose submission failed to the printer again."""
    await order_changes.resubmit(session, actor, order_id)
    return await order_changes.admin_order(session, order_id)


@admin_router.post(
    "/{order_id}/refund",
    openapi_extra=errors(order_not_found=404, order_not_changeable=409, payments_unavailable=503),
    response_model=AdminOrderOut,
    dependencies=[audited("MERCH_ORDER_REFUND")],
)
async def admin_refund(
    order_id: str, actor: AdminUser, session: DbSession, settings: SettingsDep
) -> AdminOrderOut:
    """Refund a paid order in full through Stripe."""
    await order_changes.refund(session, make_gateway(settings), actor, order_id)
    return await order_changes.admin_order(session, order_id)
