"""The print-on-demand catalogue: the public listing (cached) and the admins' edits.

Anyone sees active products of active categories, ordered by the category's ``sortOrder``, then the
product's (then id, so pages are stable), with their active variants cheapest first. A variant's
price is its product's retail price plus its ``priceDelta`` (GBP ``Decimal``, never a float).

The public answers are rendered once and kept in this process (``CatalogueCache``) until an admin
change commits here, or for a minute elsewhere: the catalogue changes when an operator edits it.

Admin changes are logged, not written to ``audit_logs``: the specified ``AuditAction`` has no label
for them, and its labels are fixed by the specification (the schema check compares them), as for the
featured gallery. Deleting what orders or carts refer to is refused (409): deactivate it instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.errors import Conflict, NotFound, ValidationFailed
from spikeland.core.http_cache import Rendered, VersionedCache, render
from spikeland.core.schemas import RequestSchema
from spikeland.db.integrity import violated_constraint
from spikeland.db.session import RequestDb
from spikeland.identity.models import User
from spikeland.merch.models import MerchCategory, MerchProduct, MerchVariant
from spikeland.merch.schemas import (
    CategoryCreate,
    CategoryList,
    CategoryOut,
    CategoryUpdate,
    ProductCreate,
    ProductOut,
    ProductPage,
    ProductUpdate,
    VariantCreate,
    VariantOut,
    VariantUpdate,
)

_log = logging.getLogger(__name__)

CACHE_SECONDS = 60
CACHE_ENTRIES = 1000  # the listing's keys come from query parameters: bounded


class CategoryNotFound(NotFound):
    code = "category_not_found"

    def __init__(self) -> None:
        super().__init__("No such merch category.")


class ProductNotFound(NotFound):
    code = "product_not_found"

    def __init__(self) -> None:
        super().__init__("Product not found.")


class VariantNotFound(NotFound):
    code = "variant_not_found"

    def __init__(self) -> None:
        super().__init__("Variant not found.")


class CategoryTaken(Conflict):
    code = "category_exists"


class CategoryInUse(Conflict):
    code = "category_in_use"


class ProductInUse(Conflict):
    code = "product_in_use"


class CatalogueCache(VersionedCache[tuple[Any, ...], Rendered]):
    def __init__(self) -> None:
        super().__init__(CACHE_SECONDS, max_entries=CACHE_ENTRIES)


# ----------------------------------------------------------------------------- public reads


def _variant_out(product: MerchProduct, variant: MerchVariant) -> VariantOut:
    return VariantOut(
        id=variant.id,
        name=variant.name,
        price_delta=variant.price_delta,
        price=unit_price(product, variant),
        attributes=variant.attributes,
    )


def unit_price(product: MerchProduct, variant: MerchVariant | None) -> Decimal:
    """What one item costs (GBP, VAT included): the retail price plus the variant's delta."""
    return product.retail_price + (variant.price_delta if variant is not None else Decimal(0))


def _product_out(
    product: MerchProduct, category: MerchCategory, variants: Sequence[MerchVariant] | None
) -> ProductOut:
    out = ProductOut.model_validate(
        {
            **{name: getattr(product, name) for name in _PRODUCT_FIELDS},
            "category": {"id": category.id, "name": category.name, "slug": category.slug},
        }
    )
    if variants is not None:
        out.variants = [_variant_out(product, v) for v in variants]
    return out


_CATEGORY_ORDER = (MerchCategory.sort_order, MerchCategory.id)
_PRODUCT_ORDER = (MerchCategory.sort_order, MerchProduct.sort_order, MerchProduct.id)  # joined to categories
_PRODUCT_FIELDS = (
    "id",
    "name",
    "description",
    "retail_price",
    "currency",
    "min_dpi",
    "min_width",
    "min_height",
    "print_area_width",
    "print_area_height",
    "mockup_template",
    "sort_order",
)


def _visible() -> Select[MerchProduct, MerchCategory]:
    return (
        select(MerchProduct, MerchCategory)
        .join(MerchCategory, MerchProduct.category_id == MerchCategory.id)
        .where(MerchProduct.is_active, MerchCategory.is_active)
    )


async def _variants(
    session: AsyncSession, product_ids: list[str], *, active_only: bool
) -> dict[str, list[MerchVariant]]:
    """The products' variants (only those on sale when ``active_only``), cheapest first."""
    found: dict[str, list[MerchVariant]] = {pid: [] for pid in product_ids}
    if product_ids:
        statement = select(MerchVariant).where(MerchVariant.product_id.in_(product_ids))
        if active_only:
            statement = statement.where(MerchVariant.is_active)
        for variant in await session.scalars(statement.order_by(MerchVariant.price_delta, MerchVariant.id)):
            found[variant.product_id].append(variant)
    return found


async def public_products(
    db: RequestDb,
    cache: CatalogueCache,
    *,
    category: str | None,
    include_variants: bool,
    limit: int,
    offset: int,
) -> Rendered:
    """A page of the public catalogue, rendered (from the cache when it holds it)."""
    key = ("products", category, include_variants, limit, offset)
    cached = cache.get(key)
    if cached is not None:
        return cached
    version = cache.version  # noted before the query (core.http_cache.VersionedCache)
    session = await db.session()  # only on a miss: a hit costs the request no connection
    statement = _visible()
    if category is not None:
        statement = statement.where(MerchCategory.slug == category)
    total = await session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    ordered = statement.order_by(*_PRODUCT_ORDER)
    rows = (await session.execute(ordered.limit(limit).offset(offset))).all()
    variants = (
        await _variants(session, active_only=True, product_ids=[p.id for p, _ in rows])
        if include_variants
        else {}
    )
    page = ProductPage(
        items=[_product_out(p, c, variants[p.id] if include_variants else None) for p, c in rows],
        total=total,
        limit=limit,
        offset=offset,
    )
    answer = render(page)
    cache.put(key, version, answer)
    return answer


async def public_product(db: RequestDb, cache: CatalogueCache, product_id: str) -> Rendered:
    """One active product with its active variants (404 when inactive, or its category is)."""
    key = ("product", product_id)
    cached = cache.get(key)
    if cached is not None:
        return cached
    version = cache.version
    session = await db.session()
    row = (await session.execute(_visible().where(MerchProduct.id == product_id))).one_or_none()
    if row is None:
        raise ProductNotFound()
    product, category = row
    variants = await _variants(session, active_only=True, product_ids=[product.id])
    answer = render(_product_out(product, category, variants[product.id]))
    cache.put(key, version, answer)
    return answer


async def public_categories(db: RequestDb, cache: CatalogueCache) -> Rendered:
    cached = cache.get(("categories",))
    if cached is not None:
        return cached
    version = cache.version
    session = await db.session()
    rows = await session.scalars(
        select(MerchCategory).where(MerchCategory.is_active).order_by(*_CATEGORY_ORDER)
    )
    answer = render(CategoryList(items=[CategoryOut.model_validate(row) for row in rows]))
    cache.put(("categories",), version, answer)
    return answer


async def sellable(
    session: AsyncSession, product_id: str, variant_id: str | None
) -> tuple[MerchProduct, MerchVariant | None]:
    """An active product of an active category and, when named, its active variant (404 otherwise)."""
    row = (await session.execute(_visible().where(MerchProduct.id == product_id))).one_or_none()
    if row is None:
        raise ProductNotFound()
    variant = None
    if variant_id is not None:
        variant = await session.get(MerchVariant, variant_id)
        if variant is None or variant.product_id != product_id or not variant.is_active:
            raise VariantNotFound()
    return row[0], variant


# ----------------------------------------------------------------------------- admin


async def _flush(session: AsyncSession, refusals: dict[str, Conflict]) -> None:
    """Flush in a savepoint; a unique or foreign-key refusal of PostgreSQL becomes the 409 of the
    constraint it names (a fragment of the constraint's name → the error)."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        constraint = violated_constraint(exc) or ""
        refused = next((error for fragment, error in refusals.items() if fragment in constraint), None)
        if refused is None:
            raise
        raise refused from None


def _category_unique() -> dict[str, Conflict]:
    return {
        "_name_": CategoryTaken("A category with this name exists."),
        "_slug_": CategoryTaken("A category with this slug exists."),
    }


async def _next_sort_order(session: AsyncSession, column: Any, *where: Any) -> int:
    """The sort order after every existing one (1 for the first)."""
    highest = await session.scalar(select(func.max(column)).where(*where))
    return 1 if highest is None else int(highest) + 1


def _apply(row: Any, update: RequestSchema) -> list[str]:
    """Set the fields the update names (those it leaves out stay); returns their names."""
    changes = update.model_dump(include=update.model_fields_set)
    for name, value in changes.items():
        setattr(row, name, value)
    return sorted(changes)


async def admin_categories(session: AsyncSession) -> Sequence[MerchCategory]:
    return (await session.scalars(select(MerchCategory).order_by(*_CATEGORY_ORDER))).all()


async def create_category(session: AsyncSession, actor: User, data: CategoryCreate) -> MerchCategory:
    values = data.model_dump()
    if data.sort_order is None:
        values["sort_order"] = await _next_sort_order(session, MerchCategory.sort_order)
    category = MerchCategory(**values)
    session.add(category)
    await _flush(session, _category_unique())
    await session.refresh(category)
    _log.info("admin %s created merch category %s (%s)", actor.id, category.id, category.slug)
    return category


async def _category(session: AsyncSession, category_id: str) -> MerchCategory:
    category = await session.get(MerchCategory, category_id)
    if category is None:
        raise CategoryNotFound()
    return category


async def update_category(
    session: AsyncSession, actor: User, category_id: str, data: CategoryUpdate
) -> MerchCategory:
    category = await _category(session, category_id)
    changes = _apply(category, data)
    await _flush(session, _category_unique())
    await session.refresh(category)
    _log.info("admin %s changed merch category %s: %s", actor.id, category.id, changes)
    return category


async def delete_category(session: AsyncSession, actor: User, category_id: str) -> None:
    category = await _category(session, category_id)
    await session.delete(category)
    await _flush(
        session, {"categoryId": CategoryInUse("The category has products: move or delete them first.")}
    )
    _log.info("admin %s deleted merch category %s (%s)", actor.id, category.id, category.slug)


async def admin_products(
    session: AsyncSession, *, category_id: str | None, active: bool | None, limit: int, offset: int
) -> tuple[list[tuple[MerchProduct, list[MerchVariant]]], int]:
    """Every product (inactive ones too) with every variant, in display order; and the count."""
    statement = select(MerchProduct).join(MerchCategory, MerchProduct.category_id == MerchCategory.id)
    if category_id is not None:
        statement = statement.where(MerchProduct.category_id == category_id)
    if active is not None:
        statement = statement.where(MerchProduct.is_active == active)
    total = await session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    ordered = statement.order_by(*_PRODUCT_ORDER)
    products = (await session.scalars(ordered.limit(limit).offset(offset))).all()
    variants = await _variants(session, active_only=False, product_ids=[p.id for p in products])
    return [(p, variants[p.id]) for p in products], total


async def admin_product(session: AsyncSession, product_id: str) -> tuple[MerchProduct, list[MerchVariant]]:
    product = await session.get(MerchProduct, product_id)
    if product is None:
        raise ProductNotFound()
    return product, (await _variants(session, active_only=False, product_ids=[product.id]))[product.id]


async def _check_category(session: AsyncSession, category_id: str) -> None:
    if await session.get(MerchCategory, category_id) is None:
        raise ValidationFailed("No such merch category.", code="unknown_category")


async def create_product(
    session: AsyncSession, actor: User, data: ProductCreate
) -> tuple[MerchProduct, list[MerchVariant]]:
    await _check_category(session, data.category_id)
    values = data.model_dump()
    if data.sort_order is None:
        in_category = MerchProduct.category_id == data.category_id
        values["sort_order"] = await _next_sort_order(session, MerchProduct.sort_order, in_category)
    product = MerchProduct(**values)
    session.add(product)
    await session.flush()
    await session.refresh(product)
    _log.info("admin %s created merch product %s (%s)", actor.id, product.id, product.provider_sku)
    return product, []


async def update_product(
    session: AsyncSession, actor: User, product_id: str, data: ProductUpdate
) -> tuple[MerchProduct, list[MerchVariant]]:
    product, _ = await admin_product(session, product_id)
    if data.category_id is not None:
        await _check_category(session, data.category_id)
    changes = _apply(product, data)
    await session.flush()
    await session.refresh(product)
    _log.info("admin %s changed merch product %s: %s", actor.id, product.id, changes)
    return await admin_product(session, product_id)


async def delete_product(session: AsyncSession, actor: User, product_id: str) -> None:
    product, _ = await admin_product(session, product_id)
    await session.delete(product)
    await _flush(
        session, {"productId": ProductInUse("The product is in carts or orders: deactivate it instead.")}
    )
    _log.info("admin %s deleted merch product %s", actor.id, product.id)


async def create_variant(
    session: AsyncSession, actor: User, product_id: str, data: VariantCreate
) -> MerchVariant:
    await admin_product(session, product_id)
    variant = MerchVariant(product_id=product_id, **data.model_dump())
    session.add(variant)
    await session.flush()
    await session.refresh(variant)
    _log.info("admin %s created merch variant %s of %s", actor.id, variant.id, product_id)
    return variant


async def _variant(session: AsyncSession, variant_id: str) -> MerchVariant:
    variant = await session.get(MerchVariant, variant_id)
    if variant is None:
        raise VariantNotFound()
    return variant


async def update_variant(
    session: AsyncSession, actor: User, variant_id: str, data: VariantUpdate
) -> MerchVariant:
    variant = await _variant(session, variant_id)
    changes = _apply(variant, data)
    await session.flush()
    await session.refresh(variant)
    _log.info("admin %s changed merch variant %s: %s", actor.id, variant.id, changes)
    return variant


async def delete_variant(session: AsyncSession, actor: User, variant_id: str) -> None:
    """Carts and orders keep their lines (their ``variantId`` is set to NULL; orders keep the
    variant's name in their snapshot)."""
    variant = await _variant(session, variant_id)
    await session.delete(variant)
    await session.flush()
    _log.info("admin %s deleted merch variant %s", actor.id, variant.id)
