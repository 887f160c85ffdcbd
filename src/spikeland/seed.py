"""Reference data: token packs, subscription plans, box tiers, the print-on-demand catalogue and the
system enhancement pipelines.

``seed(session)`` is idempotent. Each row is matched on a natural key (``stripePriceId`` for packs and
plans, ``name`` for box tiers and system pipelines, ``slug`` for categories, ``(provider, providerSku)``
for products, ``(productId, providerSku)`` for variants); missing rows are inserted and existing rows
are never modified, so an operator's edits (prices, flags, descriptions) survive a re-seed. A table
holding any row that is not reference data is the operator's catalogue (an adopted database's, or one
they made their own) and gets nothing: our packs beside theirs would go on sale, under names theirs
may already use. It only flushes: the caller commits. ``sortOrder`` is the 1-based position of a row
in its tuple below.

Values come from the reference description of the original platform
(``shared/reference/original-platform.md``, "ref" below) where it gives them.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.billing.models import SubscriptionPlan
from spikeland.billing.plans import UNLIMITED_ROLLOVER
from spikeland.boxes.models import BoxTier
from spikeland.db.base import Base
from spikeland.db.locks import SEED_LOCK_KEY
from spikeland.images.models import EnhancementPipeline, PipelineVisibility
from spikeland.images.presets import SYSTEM_PIPELINES
from spikeland.merch.models import MerchCategory, MerchProduct, MerchVariant, PodProvider
from spikeland.tokens.models import TokensPackage


# fmt: off
class Pack(NamedTuple):
    name: str
    tokens: int
    price_usd: Decimal  # GBP, see below
    stripe_price_id: str


# ref §1.7: one-time packs "starter 10 £2.99 Starter Pack; basic 50 £9.99; pro 150 £24.99; power 500
# £69.99", "currency GBP everywhere". The spec names the column priceUSD ("Price in USD") but the
# platform charges GBP, so these are the GBP amounts, stored as given.
TOKEN_PACKAGES = (
    Pack("Starter Pack", 10, Decimal("2.99"), "price_tokens_10"),
    Pack("Basic Pack", 50, Decimal("9.99"), "price_tokens_50"),
    Pack("Pro Pack", 150, Decimal("24.99"), "price_tokens_150"),
    Pack("Power Pack", 500, Decimal("69.99"), "price_tokens_500"),
)


class Plan(NamedTuple):
    name: str
    tokens_per_month: int
    price_gbp: Decimal
    stripe_price_id: str
    max_rollover: int
    priority: bool
    api_access: bool


# ref §1.7: hobby 30/month £4.99 maxRollover 30; creator 100 £12.99 maxRollover 100; studio 300 £29.99
# unlimited rollover. The ref gives no priority/apiAccess values (§16: the flags had no effect), so:
# Studio gets both, Creator API access, Hobby neither.
SUBSCRIPTION_PLANS = (
    Plan("Hobby", 30, Decimal("4.99"), "price_plan_hobby", 30, priority=False, api_access=False),
    Plan("Creator", 100, Decimal("12.99"), "price_plan_creator", 100, priority=False, api_access=True),
    Plan("Studio", 300, Decimal("29.99"), "price_plan_studio", UNLIMITED_ROLLOVER,
         priority=True, api_access=True),
)


class Tier(NamedTuple):
    name: str
    description: str
    cpu: int  # vCPUs
    ram: int  # MB
    storage: int  # GB
    price_per_hour: int  # tokens


# ref §1.1/§9 (prisma/seed-box-tiers.ts): Standard 2/4096/20 10 tok/h, Pro 4/8192/40 20, Ultra 8/16384/80 40.
BOX_TIERS = (
    Tier("Standard", "2 vCPU, 4 GB RAM, 20 GB storage: everyday browsing tasks.", 2, 4096, 20, 10),
    Tier("Pro", "4 vCPU, 8 GB RAM, 40 GB storage: heavier sites and parallel tabs.", 4, 8192, 40, 20),
    Tier("Ultra", "8 vCPU, 16 GB RAM, 80 GB storage: the most demanding workloads.", 8, 16384, 80, 40),
)

# The original seeded pricePerMonth 0 (ref §9) because it never billed monthly; 0 here would make a
# month free. Rule: a month is 720 hours (24 x 30) paid up front at 25% off: hourly x 720 x 0.75.
MONTH_HOURS = 720
MONTHLY_DISCOUNT_PERCENT = 25


def price_per_month(price_per_hour: int) -> int:
    return price_per_hour * MONTH_HOURS * (100 - MONTHLY_DISCOUNT_PERCENT) // 100


class Category(NamedTuple):
    name: str
    slug: str
    description: str
    icon: str


# ref §7: seeded categories Prints, Canvas, Apparel, Home Decor.
MERCH_CATEGORIES = (
    Category("Prints", "prints", "Photo prints on premium paper.", "🖼️"),
    Category("Canvas", "canvas", "Gallery-wrapped canvas on wooden stretcher bars.", "🎨"),
    Category("Apparel", "apparel", "Clothing printed with your images.", "👕"),
    Category("Home Decor", "home-decor", "Photo products for your home.", "🏠"),
)


class Variant(NamedTuple):
    name: str
    provider_sku: str
    price_delta: Decimal  # added to the product's retailPrice
    attributes: dict[str, Any]


class Product(NamedTuple):
    category: str  # slug
    name: str
    description: str
    provider: PodProvider
    provider_sku: str
    base_price: Decimal  # provider's cost, GBP
    retail_price: Decimal  # customer price of the first variant, GBP
    min_dpi: int
    min_width: int  # px
    min_height: int  # px
    print_area_width: int  # px
    print_area_height: int  # px
    variants: tuple[Variant, ...]


# ref §7: "Premium Lustre Print (base 8.99, retail 24.99), Stretched Canvas 49.99, Classic T-Shirt
# 29.99, Ceramic Photo Mug 16.99"; the other base prices and the variant price steps are the original
# seed's. Pixel sizes are for the product's first (base) variant, width x height as printed:
#   minWidth x minHeight = print size (in) x minDpi, the smallest image accepted;
#   printAreaWidth x printAreaHeight = print size (in) x 300 dpi, a print-ready file.
# minDpi is 300 for the smooth photo paper and 150 (the platform default, ref §7) for canvas, fabric
# and ceramic. Variants record widthIn/heightIn so a larger size's effective dpi can be checked.
# Prodigi SKUs take options (paper finish, canvas wrap) as order attributes, kept in `attributes`.
# Printful SKUs are catalogue ids: product 71 is the Bella+Canvas 3001 tee, variants its White sizes.
MERCH_PRODUCTS = (
    Product(
        "prints", "Premium Lustre Print", "Lustre-finish photo print on archival paper; a subtle sheen.",
        PodProvider.PRODIGI, "GLOBAL-PHO-8X10", Decimal("8.99"), Decimal("24.99"),
        300, 2400, 3000, 2400, 3000,
        (
            Variant('8" x 10"', "GLOBAL-PHO-8X10", Decimal("0.00"),
                    {"size": "8x10in", "widthIn": 8, "heightIn": 10, "finish": "lustre"}),
            Variant('11" x 14"', "GLOBAL-PHO-11X14", Decimal("12.00"),
                    {"size": "11x14in", "widthIn": 11, "heightIn": 14, "finish": "lustre"}),
            Variant('16" x 20"', "GLOBAL-PHO-16X20", Decimal("25.00"),
                    {"size": "16x20in", "widthIn": 16, "heightIn": 20, "finish": "lustre"}),
        ),
    ),
    Product(
        "canvas", "Stretched Canvas", "Gallery-wrapped canvas on solid wood stretcher bars, ready to hang.",
        PodProvider.PRODIGI, "GLOBAL-CAN-12X16", Decimal("18.99"), Decimal("49.99"),
        150, 1800, 2400, 3600, 4800,
        (
            Variant('12" x 16"', "GLOBAL-CAN-12X16", Decimal("0.00"),
                    {"size": "12x16in", "widthIn": 12, "heightIn": 16, "wrap": "ImageWrap"}),
            Variant('16" x 20"', "GLOBAL-CAN-16X20", Decimal("15.00"),
                    {"size": "16x20in", "widthIn": 16, "heightIn": 20, "wrap": "ImageWrap"}),
            Variant('24" x 36"', "GLOBAL-CAN-24X36", Decimal("40.00"),
                    {"size": "24x36in", "widthIn": 24, "heightIn": 36, "wrap": "ImageWrap"}),
        ),
    ),
    Product(
        "apparel", "Classic T-Shirt", "Soft cotton unisex tee with a 12 x 16 in front print.",
        PodProvider.PRINTFUL, "71", Decimal("12.99"), Decimal("29.99"),
        150, 1800, 2400, 3600, 4800,
        (
            Variant("Small", "4011", Decimal("0.00"), {"size": "S", "color": "White"}),
            Variant("Medium", "4012", Decimal("0.00"), {"size": "M", "color": "White"}),
            Variant("Large", "4013", Decimal("0.00"), {"size": "L", "color": "White"}),
            Variant("X-Large", "4014", Decimal("2.00"), {"size": "XL", "color": "White"}),
        ),
    ),
    Product(
        "home-decor", "Ceramic Photo Mug", "11oz white ceramic mug with a wrap-around print.",
        PodProvider.PRODIGI, "GLOBAL-MUG-W", Decimal("5.99"), Decimal("16.99"),
        150, 1350, 525, 2700, 1050,  # wrap-around print area 9 x 3.5 in
        (
            Variant("11oz", "GLOBAL-MUG-W", Decimal("0.00"),
                    {"size": "11oz", "color": "White", "widthIn": 9, "heightIn": 3.5}),
        ),
    ),
)


# fmt: on

M = TypeVar("M", bound=Base)


async def _ensure(
    session: AsyncSession, model: type[M], key: tuple[str, ...], rows: list[dict[str, Any]], *where: Any
) -> tuple[int, dict[tuple[Any, ...], M]]:
    """Insert the rows whose natural ``key`` is not in ``model`` (rows filtered by ``where``) yet,
    unless a row there is not one of ``rows``: then the table is the operator's and is left alone.

    Returns how many were inserted and every matching row (existing or new) by its key; nothing
    for an operator's table, so no reference rows are hung from it either.
    """
    existing = (await session.scalars(select(model).where(*where))).all()
    by_key = {tuple(getattr(obj, k) for k in key): obj for obj in existing}
    if by_key.keys() - {tuple(row[name] for name in key) for row in rows}:
        return 0, {}
    created = 0
    for row in rows:
        k = tuple(row[name] for name in key)
        if k not in by_key:
            by_key[k] = model(**copy.deepcopy(row))
            session.add(by_key[k])
            created += 1
    await session.flush()
    return created, by_key


async def seed(session: AsyncSession) -> dict[str, int]:
    """Create the missing reference rows; returns how many were created per table. Flushes only."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEED_LOCK_KEY})
    created: dict[str, int] = {}

    rows: list[dict[str, Any]] = [{**p._asdict(), "sort_order": i} for i, p in enumerate(TOKEN_PACKAGES, 1)]
    created["tokens_packages"], _ = await _ensure(session, TokensPackage, ("stripe_price_id",), rows)

    rows = [{**p._asdict(), "sort_order": i} for i, p in enumerate(SUBSCRIPTION_PLANS, 1)]
    created["subscription_plans"], _ = await _ensure(session, SubscriptionPlan, ("stripe_price_id",), rows)

    rows = [
        {**t._asdict(), "price_per_month": price_per_month(t.price_per_hour), "sort_order": i}
        for i, t in enumerate(BOX_TIERS, 1)
    ]
    created["box_tiers"], _ = await _ensure(session, BoxTier, ("name",), rows)

    rows = [{**c._asdict(), "sort_order": i} for i, c in enumerate(MERCH_CATEGORIES, 1)]
    created["merch_categories"], categories = await _ensure(session, MerchCategory, ("slug",), rows)

    rows = []
    for i, p in enumerate(MERCH_PRODUCTS, 1):
        fields = p._asdict()
        del fields["category"], fields["variants"]
        if (p.category,) in categories:  # none when the categories are the operator's
            rows.append({**fields, "category_id": categories[(p.category,)].id, "sort_order": i})
    created["merch_products"], products = await _ensure(
        session, MerchProduct, ("provider", "provider_sku"), rows
    )

    rows = [
        {**v._asdict(), "product_id": products[(p.provider, p.provider_sku)].id}
        for p in MERCH_PRODUCTS
        if (p.provider, p.provider_sku) in products
        for v in p.variants
    ]
    # Only our products' variants: the operator's products keep theirs, and do not make ours foreign.
    ours = [product.id for product in products.values()]
    created["merch_variants"], _ = await _ensure(
        session, MerchVariant, ("product_id", "provider_sku"), rows, MerchVariant.product_id.in_(ours)
    )

    rows = [
        {**p._asdict(), "user_id": None, "visibility": PipelineVisibility.PUBLIC} for p in SYSTEM_PIPELINES
    ]
    created["enhancement_pipelines"], _ = await _ensure(
        session, EnhancementPipeline, ("name",), rows, EnhancementPipeline.user_id.is_(None)
    )
    return created
