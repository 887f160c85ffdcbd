"""Campaign metrics over HTTP for admins: the figures of a known month, the previous period's
change, the cache (spec key, an hour, recomputed after expiry, purged), CSV/JSON export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select, update

from spikeland.analytics.metrics import purge_expired
from spikeland.analytics.models import (
    AttributionType,
    CampaignAttribution,
    CampaignMetricsCache,
    ConversionType,
    VisitorSession,
)
from spikeland.db.engine import transaction
from spikeland.identity.models import UserRole
from tests.support.fixtures import UserClient

REPORTS = "/api/v1/admin/analytics/reports"
MONTH = {"start": "2003-03-01", "end": "2003-03-31"}  # a month no other test writes in


def _at(day: int, month: int = 3) -> datetime:
    return datetime(2003, month, day, 12, tzinfo=UTC)


async def _seed(app: FastAPI, user_id: str) -> None:
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            delete(CampaignMetricsCache).where(CampaignMetricsCache.cache_key.like("%:2003-%"))
        )
        # Each table once, checked apart: the retention test of test_ingest deletes such old
        # sessions (they have no page views), never attributions.
        sessions_there = await session.scalar(
            select(func.count()).where(VisitorSession.visitor_id.like("m2003_%"))
        )
        attributions_there = await session.scalar(
            select(func.count()).where(CampaignAttribution.session_id == "m2003")
        )

        def visit(visitor: str, day: int, pages: int, month: int = 3, **fields: Any) -> VisitorSession:
            return VisitorSession(
                visitor_id=f"m2003_{visitor}",
                session_start=_at(day, month),
                session_end=_at(day, month),
                landing_page="/",
                page_view_count=pages,
                **fields,
            )

        visits = [
            visit("a", 1, 1, utm_campaign="=spring", utm_source="google", gclid="g1"),  # a formula-like name
            visit("a", 2, 4, utm_campaign="=spring", utm_source="google"),
            visit("b", 3, 2, referrer="https://www.bing.com/"),
            visit("c", 4, 1),
            visit("d", 15, 1, month=2),  # the previous period
        ]
        if not sessions_there:
            session.add_all(visits)

        def converted(
            kind: ConversionType,
            day: int,
            value: float | None,
            campaign: str | None,
            source: str | None,
            platform: str,
        ) -> list[CampaignAttribution]:
            return [
                CampaignAttribution(
                    user_id=user_id,
                    session_id="m2003",
                    attribution_type=model,
                    platform=platform,
                    utm_campaign=campaign,
                    utm_source=source,
                    conversion_type=kind,
                    conversion_value=value,
                    converted_at=_at(day),
                )
                for model in AttributionType
            ]

        if attributions_there:
            return
        session.add_all(
            converted(ConversionType.SIGNUP, 2, None, "=spring", "google", "GOOGLE_ADS")
            + converted(ConversionType.ENHANCEMENT, 3, 5, "=spring", "google", "GOOGLE_ADS")
            + converted(ConversionType.PURCHASE, 5, 9.99, "=spring", "google", "GOOGLE_ADS")
            + converted(ConversionType.PURCHASE, 6, 20.01, None, None, "ORGANIC")
        )


async def test_a_month_in_figures(app: FastAPI, user_client: UserClient) -> None:
    admin, admin_id = await user_client(role=UserRole.ADMIN)
    await _seed(app, admin_id)

    answer = await admin.get(f"{REPORTS}/overview", params=MONTH)
    assert answer.status_code == 200, answer.text
    made = answer.json()
    assert made["cacheKey"] == "overview:2003-03-01:2003-03-31:first_touch" and made["cached"] is False
    figures = made["metrics"]
    assert {k: figures[k] for k in ("visitors", "sessions", "signups", "enhancements", "purchases")} == {
        "visitors": 3,
        "sessions": 4,
        "signups": 1,
        "enhancements": 1,
        "purchases": 2,
    }
    assert figures["revenue"] == pytest.approx(30.0)
    assert figures["bounceRate"] == 50.0 and figures["signupRate"] == 33.33
    assert figures["change"]["sessions"] == 300.0 and figures["change"]["signups"] == 100.0

    again = (await admin.get(f"{REPORTS}/overview", params=MONTH)).json()
    assert again["cached"] is True and again["metrics"] == figures

    days = (await admin.get(f"{REPORTS}/daily", params=MONTH)).json()["metrics"]["days"]
    assert len(days) == 31 and days[0] == {
        "date": "2003-03-01",
        "sessions": 1,
        "visitors": 1,
        "signups": 0,
        "enhancements": 0,
        "purchases": 0,
        "revenue": 0,
        "spend": 0,
    }
    assert days[4]["purchases"] == 1 and days[4]["revenue"] == pytest.approx(9.99)

    campaigns = (await admin.get(f"{REPORTS}/campaigns", params=MONTH)).json()["metrics"]["campaigns"]
    spring = next(c for c in campaigns if c["campaign"] == "=spring")
    assert (spring["sessions"], spring["visitors"], spring["bounceRate"], spring["signups"]) == (
        2,
        1,
        50.0,
        1,
    )
    assert spring["revenue"] == pytest.approx(9.99) and spring["roi"] is None

    sources = {
        s["source"]: s
        for s in (await admin.get(f"{REPORTS}/sources", params=MONTH)).json()["metrics"]["sources"]
    }
    assert {name: row["sessions"] for name, row in sources.items()} == {
        "GOOGLE_ADS": 2,
        "ORGANIC": 1,
        "DIRECT": 1,
    }
    assert sources["ORGANIC"]["revenue"] == pytest.approx(20.01) and sources["GOOGLE_ADS"]["signups"] == 1

    steps = (await admin.get(f"{REPORTS}/funnel", params=MONTH)).json()["metrics"]["steps"]
    assert [(s["step"], s["count"]) for s in steps] == [
        ("visit", 3),
        ("signup", 1),
        ("enhancement", 1),
        ("purchase", 1),
    ]

    exported = await admin.get("/api/v1/admin/analytics/export/campaigns", params={**MONTH, "format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert "'=spring" in {r["campaign"] for r in rows}  # never a formula in a spreadsheet
    as_json = await admin.get("/api/v1/admin/analytics/export/overview", params={**MONTH, "format": "json"})
    assert as_json.json()["visitors"] == 3


async def test_the_cache_expires_and_is_purged(app: FastAPI, user_client: UserClient) -> None:
    admin, admin_id = await user_client(role=UserRole.ADMIN)
    await _seed(app, admin_id)
    await admin.get(f"{REPORTS}/funnel", params=MONTH)
    key = "funnel:2003-03-01:2003-03-31:first_touch"
    async with transaction(app.state.sessionmaker) as session:
        row = await session.scalar(select(CampaignMetricsCache).where(CampaignMetricsCache.cache_key == key))
        assert row is not None and row.expires_at - row.computed_at == timedelta(hours=1)
        await session.execute(
            update(CampaignMetricsCache)
            .where(CampaignMetricsCache.cache_key == key)
            .values(expires_at=row.computed_at)
        )
    assert (await admin.get(f"{REPORTS}/funnel", params=MONTH)).json()["cached"] is False  # recomputed
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            update(CampaignMetricsCache)
            .where(CampaignMetricsCache.cache_key == key)
            .values(expires_at=row.computed_at)
        )
        assert await purge_expired(session) >= 1
        assert (
            await session.scalar(select(CampaignMetricsCache).where(CampaignMetricsCache.cache_key == key))
            is None
        )


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"start": "2003-03-31", "end": "2003-03-01"}, 422),
        ({"start": "2001-01-01", "end": "2003-01-01"}, 422),
        ({"start": "2003-03-01"}, 422),
        ({"start": "2003-03-01", "end": "2003-03-31", "model": "linear"}, 422),
    ],
)
async def test_bad_ranges_are_refused(user_client: UserClient, params: dict[str, str], status: int) -> None:
    admin, _ = await user_client(role=UserRole.ADMIN)
    assert (await admin.get(f"{REPORTS}/overview", params=params)).status_code == status


async def test_only_admins_see_metrics(user_client: UserClient, client: httpx.AsyncClient) -> None:
    user, _ = await user_client()
    assert (await user.get(f"{REPORTS}/overview", params=MONTH)).status_code == 403
    assert (await client.get(f"{REPORTS}/overview", params=MONTH)).status_code == 401
