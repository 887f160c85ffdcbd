"""The caller's cart over HTTP, under ``/merch/cart`` (signed in: a session or an API key)."""

from __future__ import annotations

from fastapi import APIRouter, status

from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.db.session import DbSession
from spikeland.identity.deps import CurrentCaller
from spikeland.merch import cart
from spikeland.merch.schemas import CartItemCreate, CartItemUpdate, CartOut

router = APIRouter(route_class=Route, prefix="/merch/cart", tags=["merch"])


@router.get("", response_model=CartOut)
async def get_cart(caller: CurrentCaller, session: DbSession) -> CartOut:
    """Lines at today's prices, the item count and the subtotal (an empty cart before the first add)."""
    return await cart.get_cart(session, caller.user_id)


@router.post(
    "/items",
    openapi_extra=errors(
        product_not_found=404,
        variant_not_found=404,
        image_not_found=404,
        image_too_small=422,
        quantity_too_large=422,
    ),
    response_model=CartOut,
    status_code=status.HTTP_201_CREATED,
)
async def add_item(body: CartItemCreate, caller: CurrentCaller, session: DbSession) -> CartOut:
    """Add a print of one of the caller's images; the same product, variant and image again add
    to that line's quantity."""
    return await cart.add_item(session, caller.user_id, body)


@router.patch("/items/{item_id}", openapi_extra=errors(cart_item_not_found=404), response_model=CartOut)
async def set_quantity(
    item_id: str, body: CartItemUpdate, caller: CurrentCaller, session: DbSession
) -> CartOut:
    return await cart.set_quantity(session, caller.user_id, item_id, body.quantity)


@router.delete("/items/{item_id}", openapi_extra=errors(cart_item_not_found=404), response_model=CartOut)
async def remove_item(item_id: str, caller: CurrentCaller, session: DbSession) -> CartOut:
    return await cart.remove_item(session, caller.user_id, item_id)
