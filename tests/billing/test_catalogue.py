"""The public catalogue: what a pricing page lists (packs and plans on sale, in the billing currency)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.billing import catalogue as service


async def test_packs_on_sale_anonymously(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/v1/billing/packages")
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "public, max-age=60"
    packs = [(p["name"], p["tokens"], p["price"], p["currency"], p["tier"]) for p in answer.json()]
    assert packs == [
        ("Starter Pack", 10, "2.99", "GBP", None),
        ("Basic Pack", 50, "9.99", "GBP", None),
        ("Pro Pack", 150, "24.99", "GBP", None),
        ("Power Pack", 500, "69.99", "GBP", None),
    ]
    assert all(p["id"] and p["features"] for p in answer.json())


async def test_plans_on_sale_with_the_tier_each_gives(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/v1/billing/plans")
    assert answer.status_code == 200, answer.text
    plans = {p["name"]: p for p in answer.json()}
    assert [p["name"] for p in answer.json()] == ["Hobby", "Creator", "Studio"]
    assert {name: (p["tokens"], p["price"], p["tier"]) for name, p in plans.items()} == {
        "Hobby": (30, "4.99", "BASIC"),
        "Creator": (100, "12.99", "STANDARD"),
        "Studio": (300, "29.99", "PREMIUM"),
    }
    assert "Up to 30 unused tokens roll over" in plans["Hobby"]["features"]
    assert "API access" not in plans["Hobby"]["features"]
    assert {"Unused tokens roll over without limit", "Priority processing", "API access"} <= set(
        plans["Studio"]["features"]
    )


async def test_withdrawn_offers_are_not_listed(session: AsyncSession, catalogue: dict[str, Any]) -> None:
    catalogue["price_tokens_10"].active = False
    catalogue["price_plan_hobby"].active = False
    session.add_all([catalogue["price_tokens_10"], catalogue["price_plan_hobby"]])
    await session.flush()
    assert "Starter Pack" not in [o.name for o in await service.packages(session, "gbp")]
    assert "Hobby" not in [o.name for o in await service.plans(session, "gbp")]
