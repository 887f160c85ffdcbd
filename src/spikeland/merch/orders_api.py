"""Checkout and the caller's orders over HTTP, under ``/merch``."""

from __future__ import annotations

from fastapi import APIRouter, status

from spikeland.core.deps import IdempotencyKey, SettingsDep
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.db.session import DbSession
from spikeland.identity.deps import CurrentCaller, CurrentUser
from spikeland.integrations.stripe import make_gateway
from spikeland.merch import orders
from spikeland.merch.schemas import CheckoutOut, CheckoutRequest, OrderOut, OrderPage

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
