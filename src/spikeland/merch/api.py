"""The catalogue over HTTP: public, cached reads under ``/merch`` and the admins' edits under
``/admin/merch``. Every admin change empties this process's catalogue cache once it commits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from spikeland.core import http_cache
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageLimit
from spikeland.core.routing import Route
from spikeland.db.session import DbSession, DbUnit
from spikeland.identity.deps import AdminUser, audited
from spikeland.merch import catalogue
from spikeland.merch.models import MerchProduct, MerchVariant
from spikeland.merch.schemas import (
    AdminCategoryList,
    AdminCategoryOut,
    AdminProductOut,
    AdminProductPage,
    AdminVariantOut,
    CategoryCreate,
    CategoryList,
    CategoryUpdate,
    ProductCreate,
    ProductOut,
    ProductPage,
    ProductUpdate,
    Slug,
    VariantCreate,
    VariantUpdate,
)

public_router = APIRouter(route_class=Route, prefix="/merch", tags=["merch"])
admin_router = APIRouter(route_class=Route, prefix="/admin/merch", tags=["admin"])

Offset = Annotated[int, Query(ge=0, le=100_000)]


async def catalogue_cache(request: Request) -> catalogue.CatalogueCache:
    """The application's cache, made on first use (async: two first requests cannot both make one)."""
    state = request.app.state
    cache: catalogue.CatalogueCache | None = getattr(state, "merch_catalogue_cache", None)
    if cache is None:
        cache = state.merch_catalogue_cache = catalogue.CatalogueCache()
    return cache


Cache = Annotated[catalogue.CatalogueCache, Depends(catalogue_cache)]
CACHE_CONTROL = f"public, max-age={catalogue.CACHE_SECONDS}"


@public_router.get("/products", response_model=ProductPage)
async def list_products(
    db: DbUnit,
    cache: Cache,
    category: Annotated[Slug | None, Query(description="A category's slug.")] = None,
    include_variants: Annotated[bool, Query(alias="includeVariants")] = False,
    limit: PageLimit = 50,
    offset: Offset = 0,
    if_none_match: http_cache.IfNoneMatch = None,
) -> Response:
    """Active products of active categories, by category then product order; anyone may read."""
    page = await catalogue.public_products(
        db, cache, category=category, include_variants=include_variants, limit=limit, offset=offset
    )
    return http_cache.respond(if_none_match, page, CACHE_CONTROL)


@public_router.get(
    "/products/{product_id}", openapi_extra=errors(product_not_found=404), response_model=ProductOut
)
async def get_product(
    product_id: str, db: DbUnit, cache: Cache, if_none_match: http_cache.IfNoneMatch = None
) -> Response:
    """An active product with its active variants, cheapest first."""
    return http_cache.respond(
        if_none_match, await catalogue.public_product(db, cache, product_id), CACHE_CONTROL
    )


@public_router.get("/categories", response_model=CategoryList)
async def list_categories(db: DbUnit, cache: Cache, if_none_match: http_cache.IfNoneMatch = None) -> Response:
    return http_cache.respond(if_none_match, await catalogue.public_categories(db, cache), CACHE_CONTROL)


# ----------------------------------------------------------------------------- admin


def _product_out(product: MerchProduct, variants: list[MerchVariant]) -> AdminProductOut:
    fields = {name: getattr(product, name) for name in AdminProductOut.model_fields if name != "variants"}
    return AdminProductOut(**fields, variants=[AdminVariantOut.model_validate(v) for v in variants])


@admin_router.get("/categories", response_model=AdminCategoryList)
async def admin_categories(actor: AdminUser, session: DbSession) -> AdminCategoryList:
    """Every category, inactive ones too."""
    rows = await catalogue.admin_categories(session)
    return AdminCategoryList(items=[AdminCategoryOut.model_validate(row) for row in rows])


@admin_router.post(
    "/categories",
    openapi_extra=errors(category_exists=409),
    response_model=AdminCategoryOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[audited("MERCH_CATEGORY_CREATE")],
)
async def create_category(
    body: CategoryCreate, actor: AdminUser, session: DbSession, cache: Cache
) -> AdminCategoryOut:
    category = await catalogue.create_category(session, actor, body)
    cache.invalidate_after_commit(session)
    return AdminCategoryOut.model_validate(category)


@admin_router.patch(
    "/categories/{category_id}",
    openapi_extra=errors(category_not_found=404, category_exists=409),
    response_model=AdminCategoryOut,
    dependencies=[audited("MERCH_CATEGORY_UPDATE")],
)
async def update_category(
    category_id: str, body: CategoryUpdate, actor: AdminUser, session: DbSession, cache: Cache
) -> AdminCategoryOut:
    category = await catalogue.update_category(session, actor, category_id, body)
    cache.invalidate_after_commit(session)
    return AdminCategoryOut.model_validate(category)


@admin_router.delete(
    "/categories/{category_id}",
    openapi_extra=errors(category_not_found=404, category_in_use=409),
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[audited("MERCH_CATEGORY_DELETE")],
)
async def delete_category(category_id: str, actor: AdminUser, session: DbSession, cache: Cache) -> None:
    await catalogue.delete_category(session, actor, category_id)
    cache.invalidate_after_commit(session)


@admin_router.get("/products", response_model=AdminProductPage)
async def admin_products(
    actor: AdminUser,
    session: DbSession,
    category_id: Annotated[str | None, Query(alias="categoryId", max_length=64)] = None,
    active: bool | None = None,
    limit: PageLimit = 50,
    offset: Offset = 0,
) -> AdminProductPage:
    """Every product (inactive ones too) with every variant, in display order."""
    rows, total = await catalogue.admin_products(
        session, category_id=category_id, active=active, limit=limit, offset=offset
    )
    return AdminProductPage(
        items=[_product_out(p, v) for p, v in rows], total=total, limit=limit, offset=offset
    )


@admin_router.post(
    "/products",
    openapi_extra=errors(unknown_category=422),
    response_model=AdminProductOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[audited("MERCH_PRODUCT_CREATE")],
)
async def create_product(
    body: ProductCreate, actor: AdminUser, session: DbSession, cache: Cache
) -> AdminProductOut:
    product, variants = await catalogue.create_product(session, actor, body)
    cache.invalidate_after_commit(session)
    return _product_out(product, variants)


@admin_router.get(
    "/products/{product_id}", openapi_extra=errors(product_not_found=404), response_model=AdminProductOut
)
async def admin_product(product_id: str, actor: AdminUser, session: DbSession) -> AdminProductOut:
    return _product_out(*await catalogue.admin_product(session, product_id))


@admin_router.patch(
    "/products/{product_id}",
    openapi_extra=errors(product_not_found=404, unknown_category=422),
    response_model=AdminProductOut,
    dependencies=[audited("MERCH_PRODUCT_UPDATE")],
)
async def update_product(
    product_id: str, body: ProductUpdate, actor: AdminUser, session: DbSession, cache: Cache
) -> AdminProductOut:
    product, variants = await catalogue.update_product(session, actor, product_id, body)
    cache.invalidate_after_commit(session)
    return _product_out(product, variants)


@admin_router.delete(
    "/products/{product_id}",
    openapi_extra=errors(product_not_found=404, product_in_use=409),
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[audited("MERCH_PRODUCT_DELETE")],
)
async def delete_product(product_id: str, actor: AdminUser, session: DbSession, cache: Cache) -> None:
    await catalogue.delete_product(session, actor, product_id)
    cache.invalidate_after_commit(session)


@admin_router.post(
    "/products/{product_id}/variants",
    openapi_extra=errors(product_not_found=404),
    response_model=AdminVariantOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[audited("MERCH_VARIANT_CREATE")],
)
async def create_variant(
    product_id: str, body: VariantCreate, actor: AdminUser, session: DbSession, cache: Cache
) -> AdminVariantOut:
    variant = await catalogue.create_variant(session, actor, product_id, body)
    cache.invalidate_after_commit(session)
    return AdminVariantOut.model_validate(variant)


@admin_router.patch(
    "/variants/{variant_id}",
    openapi_extra=errors(variant_not_found=404),
    response_model=AdminVariantOut,
    dependencies=[audited("MERCH_VARIANT_UPDATE")],
)
async def update_variant(
    variant_id: str, body: VariantUpdate, actor: AdminUser, session: DbSession, cache: Cache
) -> AdminVariantOut:
    variant = await catalogue.update_variant(session, actor, variant_id, body)
    cache.invalidate_after_commit(session)
    return AdminVariantOut.model_validate(variant)


@admin_router.delete(
    "/variants/{variant_id}",
    openapi_extra=errors(variant_not_found=404),
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[audited("MERCH_VARIANT_DELETE")],
)
async def delete_variant(variant_id: str, actor: AdminUser, session: DbSession, cache: Cache) -> None:
    await catalogue.delete_variant(session, actor, variant_id)
    cache.invalidate_after_commit(session)
