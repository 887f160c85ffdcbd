"""Marketing accounts over HTTP against Google Ads and Facebook peers on loopback: connecting by
OAuth (tokens sealed at rest), the sync of campaigns and daily spend, links made from the UTM
campaigns visitors bring (an admin's own kept), tokens refreshed before expiry and after a refusal,
a revoked grant deactivating its account, spend with ROI and cost per acquisition in the reports."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select, update

from spikeland.analytics import marketing, metrics
from spikeland.analytics.models import (
    AdCampaign,
    AdCampaignSpend,
    AttributionType,
    CampaignAttribution,
    CampaignLink,
    ConversionType,
    MarketingAccount,
    VisitorSession,
)
from spikeland.app import create_app
from spikeland.core.clock import utcnow
from spikeland.db.engine import transaction
from spikeland.identity.models import UserRole
from spikeland.integrations.ads import make_ad_platforms
from spikeland.settings import Settings
from tests.integrations.ads_peer import AdsAccount, AdsCampaign, AdsPeer, AdsState, run_ads_peer
from tests.support.auth import sign_in
from tests.support.clients import client_of

API = "/api/v1/admin/analytics/marketing"
TODAY = utcnow().date()
DAY1, DAY2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)
RUN = secrets.token_hex(4)  # this run's names: campaign links are unique per UTM campaign


def utm(name: str) -> str:
    return f"{name}_{RUN}"


def _state() -> AdsState:
    google = AdsAccount(
        id="1234567890",
        name="Spike UK",
        campaigns=[
            AdsCampaign("111", utm("winter"), days={DAY1: ("12.50", 1000, 40), DAY2: ("7.25", 600, 20)}),
            AdsCampaign(
                "222",
                "Brand search",
                tracking=f"{{lpurl}}?utm_source=google&utm_campaign={utm('brand')}&gclid={{gclid}}",
                days={DAY2: ("3.00", 100, 5)},
            ),
            AdsCampaign("333", utm("unseen"), days={DAY1: ("1.00", 10, 1)}),
            AdsCampaign("444", "Per click", tracking="{lpurl}?utm_campaign={_campaign}"),
        ],
    )
    manager = AdsAccount(id="9999999999", name="Agency MCC", manager=True)
    facebook = AdsAccount(
        id="555",
        name="Spike Meta",
        campaigns=[
            AdsCampaign("f1", utm("spring"), days={DAY1: ("20.00", 2000, 80)}),
            AdsCampaign("f2", "Lookalikes", days={DAY2: ("5.55", 300, 9)}),
            AdsCampaign("f3", "Another", days={DAY2: ("1.00", 30, 1)}),
        ],
    )
    return AdsState(google=[google, manager], facebook=[facebook])


@pytest.fixture(scope="module")
def ads() -> Iterator[AdsPeer]:
    with run_ads_peer(_state()) as peer:
        yield peer


@pytest.fixture
async def ads_app(settings: Settings, ads: AdsPeer, database_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(settings.model_copy(update=ads.settings()), database_url=database_url)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def admin(ads_app: FastAPI) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A signed-in admin; no account connected yet (each test connects its own)."""
    async with transaction(ads_app.state.sessionmaker) as session:
        await session.execute(delete(MarketingAccount))
    async with client_of(ads_app) as client:
        user = await sign_in(client, bare=True, role=UserRole.ADMIN)
        yield client, user.id


@pytest.fixture(scope="module", autouse=True)
async def clean(engine: Any) -> AsyncIterator[None]:
    """What this module made goes after it: accounts, campaigns, links, sessions, attributions."""
    yield
    async with engine.begin() as conn:
        await conn.execute(delete(AdCampaign))
        await conn.execute(delete(MarketingAccount))
        await conn.execute(delete(CampaignLink).where(CampaignLink.utm_campaign.like(f"%_{RUN}")))
        await conn.execute(delete(VisitorSession).where(VisitorSession.visitor_id.like(f"mk_{RUN}%")))
        await conn.execute(delete(CampaignAttribution).where(CampaignAttribution.session_id == f"mk_{RUN}"))


async def _connect(
    client: httpx.AsyncClient, ads: AdsPeer, slug: str, next_path: str = "/admin"
) -> httpx.Response:
    started = await client.get(f"{API}/{slug}/connect", params={"next": next_path})
    assert started.status_code == 302, started.text
    back = urlsplit(await ads.consent(started.headers["location"]))
    assert back.path == f"{API}/{slug}/callback"
    return await client.get(f"{back.path}?{back.query}")


async def _seen(app: FastAPI, *names: str) -> None:
    """Visitors arrived with these UTM campaigns."""
    async with transaction(app.state.sessionmaker) as session:
        for name in names:
            session.add(
                VisitorSession(
                    visitor_id=f"mk_{RUN}_{name}",
                    landing_page="/",
                    utm_campaign=name,
                    utm_source="google" if "spring" not in name else "facebook",
                    session_start=datetime.combine(DAY1, datetime.min.time(), UTC) + timedelta(hours=9),
                    page_view_count=2,
                )
            )


async def _accounts(app: FastAPI) -> dict[str, MarketingAccount]:
    async with app.state.sessionmaker() as session:
        rows = (await session.scalars(select(MarketingAccount))).all()
    return {row.account_id: row for row in rows}


async def test_connect_sync_link_and_report(
    admin: tuple[httpx.AsyncClient, str], ads_app: FastAPI, ads: AdsPeer
) -> None:
    client, admin_id = admin
    for slug in ("google_ads", "facebook"):
        done = await _connect(client, ads, slug, next_path="/admin/analytics")
        assert done.status_code == 303, done.text
        assert done.headers["location"].endswith("/admin/analytics")

    # One row per reachable ad account (the manager account left out), tokens sealed at rest.
    found = await _accounts(ads_app)
    assert set(found) == {"1234567890", "555"}
    google, meta = found["1234567890"], found["555"]
    assert (google.platform.value, google.account_name, google.user_id) == (
        "GOOGLE_ADS",
        "Spike UK",
        admin_id,
    )
    assert google.access_token.startswith("enc:v1:") and google.refresh_token.startswith("enc:v1:")
    assert meta.access_token.startswith("enc:v1:") and meta.refresh_token is None
    keyring = ads_app.state.keyring
    assert keyring.decrypt(meta.access_token).startswith("fb-long-")  # the long-lived one, exchanged
    assert meta.expires_at is not None and meta.expires_at > utcnow() + timedelta(days=50)
    listed = (await client.get(f"{API}/accounts")).json()
    assert {a["accountId"] for a in listed} >= {"1234567890", "555"}
    assert not any("token" in key.lower() for a in listed for key in a)

    # Visitors came with three of the campaigns; an admin linked "brand" by hand already.
    await _seen(ads_app, utm("winter"), utm("brand"), utm("spring"), utm("elsewhere"))
    by_hand = await client.post(
        "/api/v1/admin/analytics/campaign-links",
        json={"utmCampaign": utm("brand"), "platform": "GOOGLE_ADS", "externalCampaignId": "999"},
    )
    assert by_hand.status_code == 201, by_hand.text

    synced = await client.post(f"{API}/sync")
    assert synced.status_code == 200, synced.text
    assert synced.json() == {"accounts": 2, "campaigns": 7, "days": 7, "links": 2, "failed": []}
    async with ads_app.state.sessionmaker() as session:
        links = {
            (link.utm_campaign, link.platform): link.external_campaign_id
            for link in await session.scalars(
                select(CampaignLink).where(CampaignLink.utm_campaign.like(f"%_{RUN}"))
            )
        }
        spend = {
            (c.external_campaign_id, s.day): (s.spend, s.impressions, s.clicks)
            for c, s in await session.execute(select(AdCampaign, AdCampaignSpend).join(AdCampaignSpend))
        }
    assert links == {
        (utm("winter"), "GOOGLE_ADS"): "111",  # by name
        (utm("brand"), "GOOGLE_ADS"): "999",  # the admin's link stays
        (utm("spring"), "FACEBOOK"): "f1",
    }
    assert spend[("111", DAY1)] == (Decimal("12.5"), 1000, 40)  # from micros
    assert spend[("f2", DAY2)] == (Decimal("5.55"), 300, 9)
    assert len(spend) == 7

    # A second sync changes nothing but what the platforms changed.
    ads.state.google[0].campaigns[0].days[DAY2] = ("8.00", 650, 21)
    again = (await client.post(f"{API}/sync")).json()
    assert again["links"] == 0 and again["days"] == 7
    campaigns = {c["externalCampaignId"]: c for c in (await client.get(f"{API}/campaigns")).json()}
    assert Decimal(campaigns["111"]["spend"]) == Decimal("20.5")
    assert campaigns["111"]["linkedUtmCampaigns"] == [utm("winter")]
    assert campaigns["222"]["linkedUtmCampaigns"] == []  # the hand-made link names another id
    assert campaigns["444"]["linkedUtmCampaigns"] == []  # a template filled per click names none

    # Reports: spend, ROI and cost per acquisition of the linked campaign.
    async with transaction(ads_app.state.sessionmaker) as session:
        at = datetime.combine(DAY2, datetime.min.time(), UTC) + timedelta(hours=10)
        for kind, value in (
            (ConversionType.SIGNUP, None),
            (ConversionType.SIGNUP, None),
            (ConversionType.PURCHASE, 41.0),
        ):
            session.add(
                CampaignAttribution(
                    user_id=admin_id,
                    session_id=f"mk_{RUN}",
                    attribution_type=AttributionType.FIRST_TOUCH,
                    platform="GOOGLE_ADS",
                    utm_campaign=utm("winter"),
                    utm_source="google",
                    conversion_type=kind,
                    conversion_value=value,
                    converted_at=at,
                )
            )
    async with ads_app.state.sessionmaker() as session:
        period = metrics.Period(DAY1, DAY2, AttributionType.FIRST_TOUCH)
        rows = (await metrics.campaigns(session, period))["campaigns"]
        overview = await metrics.overview(session, period)
        days = {day["date"]: day for day in (await metrics.daily(session, period))["days"]}
    winter = next(r for r in rows if r["campaign"] == utm("winter"))
    assert (winter["spend"], winter["revenue"], winter["signups"]) == (20.5, 41.0, 2)
    assert winter["roi"] == 100.0 and winter["costPerAcquisition"] == 10.25
    spring = next(r for r in rows if r["campaign"] == utm("spring"))
    assert spring["source"] == "facebook" and spring["spend"] == 20.0 and spring["roi"] == -100.0
    assert next(r for r in rows if r["campaign"] == utm("elsewhere"))["spend"] is None
    assert overview["spend"] >= 20.5 + 20.0 and overview["roi"] is not None
    # The daily series has each day's spend: DAY1 12.50 + 1.00 + 20.00, DAY2 8.00 + 3.00 + 5.55 + 1.00.
    assert days[DAY1.isoformat()]["spend"] >= 33.5 and days[DAY2.isoformat()]["spend"] >= 17.55


async def test_tokens_refreshed_before_expiry_and_after_a_refusal(
    admin: tuple[httpx.AsyncClient, str], ads_app: FastAPI, ads: AdsPeer
) -> None:
    client, _ = admin
    for slug in ("google_ads", "facebook"):
        assert (await _connect(client, ads, slug)).status_code == 303
    google = (await _accounts(ads_app))["1234567890"]
    keyring = ads_app.state.keyring
    first = keyring.decrypt(google.access_token)

    # About to expire: renewed before use.
    async with transaction(ads_app.state.sessionmaker) as session:
        await session.execute(
            update(MarketingAccount)
            .where(MarketingAccount.id == google.id)
            .values(expires_at=utcnow() + timedelta(minutes=1))
        )
    assert (await client.post(f"{API}/sync")).json()["failed"] == []
    renewed = (await _accounts(ads_app))["1234567890"]
    assert keyring.decrypt(renewed.access_token) != first
    assert renewed.expires_at is not None and renewed.expires_at > utcnow() + timedelta(minutes=50)

    # Every access token refused (as after an early expiry): Google refreshes and goes on;
    # Facebook has nothing to refresh with once its token is dead: that account is deactivated.
    ads.state.expire_tokens()
    report = (await client.post(f"{API}/sync")).json()
    assert [f["platform"] for f in report["failed"]] == ["FACEBOOK"]
    after = await _accounts(ads_app)
    assert after["1234567890"].is_active and not after["555"].is_active

    # The Google grant revoked: the refresh is refused, that account stops too.
    ads.state.revoke()
    report = (await client.post(f"{API}/sync")).json()
    assert [f["platform"] for f in report["failed"]] == ["GOOGLE_ADS"]
    assert not (await _accounts(ads_app))["1234567890"].is_active
    assert (await client.post(f"{API}/sync")).json()["accounts"] == 0  # inactive ones are left alone

    # Connecting again brings it back.
    assert (await _connect(client, ads, "google_ads")).status_code == 303
    assert (await _accounts(ads_app))["1234567890"].is_active


async def test_two_syncs_at_once_write_each_account_once(
    admin: tuple[httpx.AsyncClient, str], ads_app: FastAPI, ads: AdsPeer
) -> None:
    client, _ = admin
    for slug in ("google_ads", "facebook"):
        assert (await _connect(client, ads, slug)).status_code == 303
    settings = ads_app.state.settings
    platforms = make_ad_platforms(settings)
    runs = await asyncio.gather(
        *(
            marketing.sync_all(ads_app.state.sessionmaker, platforms, ads_app.state.keyring, settings)
            for _ in range(4)
        )
    )
    assert all(run.failed == [] for run in runs)
    active = sum(1 for a in (await _accounts(ads_app)).values() if a.is_active)
    assert 1 <= sum(run.accounts for run in runs) <= 4 * active
    async with ads_app.state.sessionmaker() as session:
        ids = [c.external_campaign_id for c in await session.scalars(select(AdCampaign))]
    assert sorted(ids) == sorted(set(ids)) and {"111", "f1"} <= set(ids)


async def test_disconnect_keeps_the_history(
    admin: tuple[httpx.AsyncClient, str], ads_app: FastAPI, ads: AdsPeer
) -> None:
    client, _ = admin
    assert (await _connect(client, ads, "google_ads")).status_code == 303
    assert (await client.post(f"{API}/sync")).status_code == 200
    account = (await _accounts(ads_app))["1234567890"]
    assert (await client.delete(f"{API}/accounts/{account.id}")).status_code == 204
    gone = await client.delete(f"{API}/accounts/{account.id}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "marketing_account_not_found"
    async with ads_app.state.sessionmaker() as session:
        kept = (
            await session.scalars(select(AdCampaign).where(AdCampaign.external_campaign_id == "111"))
        ).one()
        days = (
            await session.scalars(select(AdCampaignSpend).where(AdCampaignSpend.campaign_id == kept.id))
        ).all()
    assert kept.account_id == "1234567890" and len(days) == 2
    assert (await client.get(f"{API}/accounts")).json() == []


async def test_flow_refusals(admin: tuple[httpx.AsyncClient, str], ads: AdsPeer, ads_app: FastAPI) -> None:
    client, _ = admin
    started = await client.get(f"{API}/google_ads/connect")
    query = parse_qs(urlsplit(started.headers["location"]).query)
    assert query["access_type"] == ["offline"] and query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [
        f"{ads_app.state.settings.public_url.rstrip('/')}{API}/google_ads/callback"
    ]
    forged = await client.get(f"{API}/google_ads/callback", params={"code": "x", "state": "forged"})
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "oauth_state_invalid"
    denied = await client.get(f"{API}/google_ads/callback", params={"error": "access_denied"})
    assert denied.status_code == 400 and denied.json()["error"]["code"] == "oauth_denied"
    # A Google flow's cookie does not complete a Facebook callback.
    state = query["state"][0]
    client.cookies.set("spikeland_ads_facebook", client.cookies["spikeland_ads_google_ads"])
    cross = await client.get(f"{API}/facebook/callback", params={"code": "x", "state": state})
    assert cross.status_code == 400 and cross.json()["error"]["code"] == "oauth_state_invalid"
    # A code the platform refuses (already used, or made up) with a valid state.
    started = await client.get(f"{API}/google_ads/connect")
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    bad = await client.get(f"{API}/google_ads/callback", params={"code": "made-up", "state": state})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "oauth_exchange_failed"


async def test_only_admins_and_only_when_configured(app: FastAPI, ads_app: FastAPI, user_client: Any) -> None:
    async with client_of(ads_app) as anonymous:
        assert (await anonymous.get(f"{API}/accounts")).status_code == 401
        await sign_in(anonymous, bare=True)  # a USER
        for method, path in (
            ("GET", "/accounts"),
            ("POST", "/sync"),
            ("GET", "/google_ads/connect"),
            ("GET", "/campaigns"),
        ):
            assert (await anonymous.request(method, f"{API}{path}")).status_code == 403
    admin, _ = await user_client(role=UserRole.ADMIN)  # on the app without ad platforms
    refused = await admin.get(f"{API}/google_ads/connect")
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "ad_platform_not_configured"
    assert "SPIKELAND_GOOGLE_ADS_DEVELOPER_TOKEN" in refused.json()["error"]["details"]["missing"]
    listed = {p["platform"]: p for p in (await admin.get(f"{API}/platforms")).json()}
    assert listed["FACEBOOK"]["configured"] is False
    assert (
        await admin.get(f"{API}/campaigns", params={"start": "2024-02-01", "end": "2024-01-01"})
    ).status_code == 422


def test_utm_campaigns_of_names_and_templates() -> None:
    from spikeland.integrations.ads import Campaign

    def of(name: str, tracking: str | None) -> set[str]:
        return marketing.utm_campaigns_of(Campaign("1", name, None, tracking))

    assert of("Brand", None) == {"Brand"}
    assert of("Brand", "{lpurl}?utm_campaign=brand%20uk&x=1") == {"Brand", "brand uk"}
    assert of("Brand", "{lpurl}?UTM_CAMPAIGN={campaignid}") == {"Brand"}
    assert of("B", "a=1 utm_campaign=b_one;utm_campaign=b+two") == {"B", "b_one", "b two"}
