from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland import seed as reference
from spikeland.billing.models import SubscriptionPlan
from spikeland.boxes.models import BoxTier
from spikeland.db.base import Base
from spikeland.db.enums import EnhancementTier
from spikeland.images.models import EnhancementPipeline, PipelineVisibility
from spikeland.merch.models import MerchCategory, MerchProduct, MerchVariant, PodProvider
from spikeland.seed import UNLIMITED_ROLLOVER, seed
from spikeland.tokens.models import TokensPackage
from tests.support import make_user

MODELS: list[type[Base]] = [
    TokensPackage,
    SubscriptionPlan,
    BoxTier,
    MerchCategory,
    MerchProduct,
    MerchVariant,
    EnhancementPipeline,
]
EXPECTED = {
    "tokens_packages": 4,
    "subscription_plans": 3,
    "box_tiers": 3,
    "merch_categories": 4,
    "merch_products": 4,
    "merch_variants": 11,
    "enhancement_pipelines": 4,
}


async def snapshot(session: AsyncSession) -> dict[str, list[Any]]:
    """Every column of every reference row of the seeded tables, read from the database.

    Users' own pipelines (which API tests elsewhere commit) are not reference data.
    """
    snap = {}
    for model in MODELS:
        table = model.__table__
        query = select(table).order_by(table.c.id)
        if model is EnhancementPipeline:
            query = query.where(table.c.userId.is_(None))
        snap[model.__tablename__] = [tuple(r) for r in (await session.execute(query)).all()]
    return snap


async def test_seed_creates_reference_data(session: AsyncSession) -> None:
    assert await seed(session) == EXPECTED
    snap = await snapshot(session)
    assert {name: len(rows) for name, rows in snap.items()} == EXPECTED

    packs = (await session.scalars(select(TokensPackage).order_by(TokensPackage.sort_order))).all()
    assert [(p.name, p.tokens, p.price_usd, p.stripe_price_id) for p in packs] == [
        ("Starter Pack", 10, Decimal("2.99"), "price_tokens_10"),
        ("Basic Pack", 50, Decimal("9.99"), "price_tokens_50"),
        ("Pro Pack", 150, Decimal("24.99"), "price_tokens_150"),
        ("Power Pack", 500, Decimal("69.99"), "price_tokens_500"),
    ]
    assert all(p.active for p in packs) and [p.sort_order for p in packs] == [1, 2, 3, 4]

    plans = {p.name: p for p in await session.scalars(select(SubscriptionPlan))}
    assert (plans["Hobby"].tokens_per_month, plans["Hobby"].price_gbp, plans["Hobby"].max_rollover) == (
        30,
        Decimal("4.99"),
        30,
    )
    assert (plans["Creator"].price_gbp, plans["Creator"].max_rollover) == (Decimal("12.99"), 100)
    studio = plans["Studio"]
    assert (studio.tokens_per_month, studio.price_gbp) == (300, Decimal("29.99"))
    assert studio.max_rollover == UNLIMITED_ROLLOVER == 2**31 - 1  # the largest Int the column holds
    assert studio.priority and studio.api_access and plans["Creator"].api_access
    assert not plans["Hobby"].priority and not plans["Hobby"].api_access

    tiers = (await session.scalars(select(BoxTier).order_by(BoxTier.sort_order))).all()
    assert [(t.name, t.cpu, t.ram, t.storage, t.price_per_hour, t.price_per_month) for t in tiers] == [
        ("Standard", 2, 4096, 20, 10, 5400),
        ("Pro", 4, 8192, 40, 20, 10800),
        ("Ultra", 8, 16384, 80, 40, 21600),
    ]

    categories = {c.slug: c for c in await session.scalars(select(MerchCategory))}
    assert [c.name for c in sorted(categories.values(), key=lambda c: c.sort_order)] == [
        "Prints",
        "Canvas",
        "Apparel",
        "Home Decor",
    ]
    products = (await session.scalars(select(MerchProduct))).all()
    assert {p.category_id for p in products} == {c.id for c in categories.values()}
    lustre = next(p for p in products if p.name == "Premium Lustre Print")
    assert (lustre.provider, lustre.provider_sku, lustre.base_price, lustre.retail_price) == (
        PodProvider.PRODIGI,
        "GLOBAL-PHO-8X10",
        Decimal("8.99"),
        Decimal("24.99"),
    )
    assert (lustre.min_width, lustre.min_height, lustre.min_dpi, lustre.currency) == (2400, 3000, 300, "GBP")

    variants = (await session.scalars(select(MerchVariant))).all()
    for product in products:
        own = [v for v in variants if v.product_id == product.id]
        assert own, product.name
        first = min(own, key=lambda v: v.price_delta)  # sold at retailPrice
        assert first.price_delta == 0 and first.attributes["size"]
        if product.provider == PodProvider.PRODIGI:  # a Prodigi product's SKU is its first variant's
            assert first.provider_sku == product.provider_sku
        assert 150 <= product.min_dpi <= 300
        assert product.min_width > 0 and product.min_height > 0
        assert product.print_area_width and product.print_area_height
        if "widthIn" in first.attributes:  # min pixels = print size x minDpi; print area at 300 dpi
            size = (first.attributes["widthIn"], first.attributes["heightIn"])
            assert (product.min_width, product.min_height) == (
                size[0] * product.min_dpi,
                size[1] * product.min_dpi,
            )
            assert (product.print_area_width, product.print_area_height) == (size[0] * 300, size[1] * 300)
    assert {v.attributes["size"] for v in variants if v.product_id == lustre.id} == {
        "8x10in",
        "11x14in",
        "16x20in",
    }

    pipelines = (
        await session.scalars(select(EnhancementPipeline).where(EnhancementPipeline.user_id.is_(None)))
    ).all()
    assert {p.name for p in pipelines} == {"Balanced", "Portrait", "Landscape", "Product"}
    for p in pipelines:
        assert p.user_id is None and p.visibility == PipelineVisibility.PUBLIC and p.share_token is None
        assert p.tier != EnhancementTier.FREE and p.usage_count == 0
        assert p.analysis_config["enabled"] is True and isinstance(p.auto_crop_config["enabled"], bool)
        assert isinstance(p.prompt_config, dict) and 0 <= p.generation_config["retryAttempts"] <= 10


async def test_seed_twice_changes_nothing(session: AsyncSession) -> None:
    await seed(session)
    first = await snapshot(session)
    assert await seed(session) == dict.fromkeys(EXPECTED, 0)
    assert await snapshot(session) == first  # same ids, values and updatedAt


async def test_seed_keeps_operator_edits_and_fills_gaps(session: AsyncSession) -> None:
    await seed(session)
    await session.execute(
        update(TokensPackage)
        .where(TokensPackage.stripe_price_id == "price_tokens_500")
        .values(price_usd=Decimal("59.99"))
    )
    await session.execute(delete(MerchVariant).where(MerchVariant.provider_sku == "GLOBAL-PHO-16X20"))
    await session.execute(delete(BoxTier).where(BoxTier.name == "Ultra"))
    session.expunge_all()
    before = await snapshot(session)

    created = await seed(session)
    assert created == {**dict.fromkeys(EXPECTED, 0), "merch_variants": 1, "box_tiers": 1}
    after = await snapshot(session)
    for name, rows in before.items():  # untouched rows are identical; only the missing ones came back
        assert all(row in after[name] for row in rows)
        assert len(after[name]) == len(rows) + created[name]
    power = await session.scalar(
        select(TokensPackage).where(TokensPackage.stripe_price_id == "price_tokens_500")
    )
    assert power is not None and power.price_usd == Decimal("59.99")


async def test_user_pipelines_do_not_count_as_system_pipelines(session: AsyncSession) -> None:
    user = await make_user(session)
    session.add(EnhancementPipeline(name="Balanced", user_id=user.id))
    await session.flush()
    assert (await seed(session))["enhancement_pipelines"] == len(reference.SYSTEM_PIPELINES)
    system = await session.scalars(select(EnhancementPipeline).where(EnhancementPipeline.user_id.is_(None)))
    assert len(system.all()) == 4
