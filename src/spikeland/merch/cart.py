"""The cart: one per user, made by the first item, priced at today's catalogue prices.

Rules:

- A line is a product, optionally one of its variants, and one of the caller's images (someone
  else's is 404, as if it did not exist); product and variant must be on sale.
- Print quality is checked, not assumed: the image's best version (its original or its largest
  completed enhancement, ``images.service.best_version``) must reach the pixels the print needs —
  the product's ``minWidth`` by ``minHeight``, or the variant's print size (``widthIn`` by
  ``heightIn`` in its attributes) at the product's ``minDpi`` when that asks for more. Too small is
  422 ``image_too_small`` with the pixels needed and the cheapest enhancement tier that would reach
  them (none when no tier does).
- The same product, variant and image again add to the line's quantity (1..100 in all). The unique
  index over those columns treats NULLs as distinct (a line without a variant), so it cannot find
  the line: adds to one cart are serialised by a lock on the cart's row and the line is found here.
- Prices are not stored in the cart: a line shows today's unit price; a line whose product or
  variant is no longer sold shows ``available: false`` and counts in no subtotal.
"""

from __future__ import annotations

import math
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.core.errors import NotFound, ValidationFailed
from spikeland.db.enums import TIER_MAX_DIMENSION, EnhancementTier
from spikeland.images import service as images
from spikeland.merch.catalogue import sellable, unit_price
from spikeland.merch.models import MerchCart, MerchCartItem, MerchCategory, MerchProduct, MerchVariant
from spikeland.merch.schemas import MAX_QUANTITY, CartItemCreate, CartLineOut, CartOut

PAID_TIERS = (EnhancementTier.TIER_1K, EnhancementTier.TIER_2K, EnhancementTier.TIER_4K)


class CartItemNotFound(NotFound):
    code = "cart_item_not_found"

    def __init__(self) -> None:
        super().__init__("No such item in your cart.")


class ImageTooSmall(ValidationFailed):
    code = "image_too_small"


class QuantityTooLarge(ValidationFailed):
    code = "quantity_too_large"


def required_pixels(product: MerchProduct, variant: MerchVariant | None) -> tuple[int, int]:
    """The fewest pixels (width, height) a print of ``product`` (in ``variant``'s size) needs."""
    width, height = product.min_width, product.min_height
    attributes = variant.attributes if variant is not None and isinstance(variant.attributes, dict) else {}
    inches = attributes.get("widthIn"), attributes.get("heightIn")
    if all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in inches):
        width = max(width, math.ceil(float(inches[0]) * product.min_dpi))  # type: ignore[arg-type]
        height = max(height, math.ceil(float(inches[1]) * product.min_dpi))  # type: ignore[arg-type]
    return width, height


def tier_reaching(width: int, height: int, needed: tuple[int, int]) -> EnhancementTier | None:
    """The cheapest tier whose output (the long side at the tier's size, the aspect kept) is at
    least ``needed``; None when none is."""
    for tier in PAID_TIERS:
        scale = TIER_MAX_DIMENSION[tier] / max(width, height)
        if round(width * scale) >= needed[0] and round(height * scale) >= needed[1]:
            return tier
    return None


def check_print_size(source: images.PrintSource, product: MerchProduct, variant: MerchVariant | None) -> None:
    needed = required_pixels(product, variant)
    if source.width >= needed[0] and source.height >= needed[1]:
        return
    tier = tier_reaching(source.width, source.height, needed)
    advice = (
        f" An enhancement at {tier.value} would reach it." if tier else " No enhancement tier reaches it."
    )
    raise ImageTooSmall(
        f"The image is too small to print well: {needed[0]}x{needed[1]} pixels are needed, "
        f"it has {source.width}x{source.height}. {advice}",
        details={
            "required": {"width": needed[0], "height": needed[1]},
            "image": {"width": source.width, "height": source.height},
            "tier": tier.value if tier else None,
        },
    )


async def _locked_cart(session: AsyncSession, user_id: str) -> str:
    """The user's cart id (made now if there is none), its row locked until the transaction ends."""
    await session.execute(
        insert(MerchCart).values(user_id=user_id).on_conflict_do_nothing(index_elements=[MerchCart.user_id])
    )
    cart_id = await session.scalar(select(MerchCart.id).where(MerchCart.user_id == user_id).with_for_update())
    assert cart_id is not None
    return cart_id


async def add_item(session: AsyncSession, user_id: str, data: CartItemCreate) -> CartOut:
    # The image first: someone else's image is 404 whatever else the request names.
    source = await images.best_version(session, user_id, data.image_id)
    product, variant = await sellable(session, data.product_id, data.variant_id)
    check_print_size(source, product, variant)
    cart_id = await _locked_cart(session, user_id)
    line = await session.scalar(
        select(MerchCartItem).where(
            MerchCartItem.cart_id == cart_id,
            MerchCartItem.product_id == product.id,
            MerchCartItem.variant_id.is_not_distinct_from(data.variant_id),
            MerchCartItem.image_id == source.image_id,
            MerchCartItem.uploaded_image_r2_key.is_(None),
        )
    )
    if line is None:
        session.add(
            MerchCartItem(
                cart_id=cart_id,
                product_id=product.id,
                variant_id=data.variant_id,
                image_id=source.image_id,
                quantity=data.quantity,
                custom_text=data.custom_text,
            )
        )
    else:
        total = line.quantity + data.quantity
        if total > MAX_QUANTITY:
            raise QuantityTooLarge(
                f"At most {MAX_QUANTITY} of one item: the cart already holds {line.quantity}.",
                details={"inCart": line.quantity, "max": MAX_QUANTITY},
            )
        line.quantity = total
        if data.custom_text is not None:
            line.custom_text = data.custom_text
    await _touch(session, cart_id)
    return await get_cart(session, user_id)


async def _touch(session: AsyncSession, cart_id: str) -> None:
    cart = await session.get(MerchCart, cart_id)
    assert cart is not None
    cart.updated_at = utcnow()
    await session.flush()


async def _owned_line(session: AsyncSession, user_id: str, item_id: str) -> MerchCartItem:
    line = await session.scalar(
        select(MerchCartItem)
        .join(MerchCart, MerchCart.id == MerchCartItem.cart_id)
        .where(MerchCartItem.id == item_id, MerchCart.user_id == user_id)
        .with_for_update(of=MerchCartItem)
    )
    if line is None:
        raise CartItemNotFound()
    return line


async def set_quantity(session: AsyncSession, user_id: str, item_id: str, quantity: int) -> CartOut:
    line = await _owned_line(session, user_id, item_id)
    line.quantity = quantity
    await _touch(session, line.cart_id)
    return await get_cart(session, user_id)


async def remove_item(session: AsyncSession, user_id: str, item_id: str) -> CartOut:
    line = await _owned_line(session, user_id, item_id)
    await session.delete(line)
    await _touch(session, line.cart_id)
    return await get_cart(session, user_id)


CartLine = tuple[MerchCartItem, MerchProduct, MerchVariant | None, bool]  # the last: category active


async def cart_lines(
    session: AsyncSession, user_id: str, *, lock: bool = False
) -> tuple[str | None, list[CartLine]]:
    """The user's cart id and its lines (oldest first) with their product, variant and whether the
    product's category is on sale; ``lock`` holds the cart's row until the transaction ends."""
    statement = select(MerchCart.id).where(MerchCart.user_id == user_id)
    cart_id = await session.scalar(statement.with_for_update() if lock else statement)
    if cart_id is None:
        return None, []
    rows = await session.execute(
        select(MerchCartItem, MerchProduct, MerchVariant, MerchCategory.is_active)
        .join(MerchProduct, MerchProduct.id == MerchCartItem.product_id)
        .join(MerchCategory, MerchCategory.id == MerchProduct.category_id)
        .outerjoin(MerchVariant, MerchVariant.id == MerchCartItem.variant_id)
        .where(MerchCartItem.cart_id == cart_id)
        .order_by(MerchCartItem.created_at, MerchCartItem.id)
    )
    return cart_id, [(item, product, variant, bool(active)) for item, product, variant, active in rows]


def available(line: CartLine) -> bool:
    """Whether a line can still be bought: product, category and variant on sale, and its image there
    (an image deleted since, its imageId set to NULL, leaves nothing to print)."""
    item, product, variant, category_active = line
    on_sale = product.is_active and category_active and (variant is None or variant.is_active)
    return on_sale and item.image_id is not None


async def get_cart(session: AsyncSession, user_id: str) -> CartOut:
    cart_id, rows = await cart_lines(session, user_id)
    lines = [_line(row) for row in rows]
    subtotal = sum((line.line_price for line in lines if line.available), Decimal("0.00"))
    return CartOut(
        id=cart_id, items=lines, item_count=sum(line.quantity for line in lines), subtotal=subtotal
    )


def _line(row: CartLine) -> CartLineOut:
    item, product, variant, _ = row
    unit = unit_price(product, variant)
    return CartLineOut(
        id=item.id,
        product_id=product.id,
        product_name=product.name,
        variant_id=item.variant_id,
        variant_name=variant.name if variant is not None else None,
        image_id=item.image_id,
        quantity=item.quantity,
        custom_text=item.custom_text,
        unit_price=unit,
        line_price=unit * item.quantity,
        available=available(row),
    )
