"""Issue 16's journey over HTTP: a visitor lands from a Google Ads click, views three pages, signs up,
enhances and buys a token pack — their visits, time on page, a FIRST_TOUCH and a LAST_TOUCH row for
each of the three conversions (the purchase's Stripe event delivered twice: attributed once), and
an overview that counts them — with the campaign's spend and ROI once the ad-platform sync has
read them from a Google Ads peer on loopback."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import delete, select

from spikeland.analytics import marketing, metrics
from spikeland.analytics.models import (
    AdCampaign,
    AttributionType,
    CampaignAttribution,
    MarketingAccount,
    MarketingPlatform,
    PageView,
)
from spikeland.billing.webhooks import process_pending
from spikeland.core.clock import utcnow
from spikeland.core.security import load_keyring
from spikeland.integrations.ads import make_ad_platforms
from spikeland.integrations.stripe import StripeGateway
from tests.billing.helpers import Sessions, complete, created_users, deliver
from tests.integrations.ads_peer import AdsAccount, AdsCampaign, run_ads_peer
from tests.integrations.stripe_peer import StripePeer
from tests.support.auth import PASSWORD
from tests.support.factories import new_email
from tests.support.images import upload

API = "/api/v1/analytics"


async def _overview(sessions: Sessions) -> dict[str, Any]:
    today = utcnow().date()
    async with sessions() as session:
        return await metrics.overview(session, metrics.Period(today, today, AttributionType.FIRST_TOUCH))


async def test_a_google_ads_visitor_signs_up_enhances_and_buys(
    bclient: httpx.AsyncClient,
    billing_app: FastAPI,
    sessions: Sessions,
    peer: StripePeer,
    gateway: StripeGateway,
    catalogue: dict[str, Any],
) -> None:
    before = await _overview(sessions)
    today = utcnow().date()
    visitor = "v_" + secrets.token_hex(8)
    landed = await bclient.post(
        f"{API}/sessions",
        json={
            "landingPage": "/",
            "consent": True,
            "visitorId": visitor,
            "utmSource": "google",
            "utmMedium": "cpc",
            "utmCampaign": "winter_sale",
            "utmId": "20261204",
            "gclid": "Cj0KCQiA",
        },
    )
    assert landed.status_code == 201, landed.text
    sid = landed.json()["sessionId"]
    for path in ("/pricing", "/gallery", "/signup"):
        assert (
            await bclient.post(f"{API}/pageviews", json={"sessionId": sid, "path": path})
        ).status_code == 201

    email = new_email("journey")
    assert (
        await bclient.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    ).status_code == 202
    login = await bclient.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}, headers={"X-Visitor-Id": visitor}
    )
    assert login.status_code == 200, login.text
    user_id = login.json()["user"]["id"]
    created_users.append(user_id)

    image = await upload(bclient)
    enhanced = await bclient.post(f"/api/v1/images/{image}/enhance", json={"tier": "TIER_1K"})
    assert enhanced.status_code == 202, enhanced.text

    pack = next(p for p in catalogue.values() if getattr(p, "tokens", None))
    started = await bclient.post("/api/v1/billing/checkout", json={"packageId": pack.id})
    paid = await complete(peer, started.json()["sessionId"])
    for _ in range(2):  # Stripe delivering the event twice
        assert (await deliver(bclient, paid)).status_code == 200
    await process_pending(sessions, gateway=gateway)

    await billing_app.state.page_views.flush()
    async with sessions() as session:
        views = (
            await session.scalars(
                select(PageView).where(PageView.session_id == sid).order_by(PageView.timestamp)
            )
        ).all()
        rows = (
            await session.scalars(select(CampaignAttribution).where(CampaignAttribution.user_id == user_id))
        ).all()
    assert [v.path for v in views] == ["/", "/pricing", "/gallery", "/signup"]
    assert all(v.time_on_page is not None for v in views[:3])
    touches = sorted((r.conversion_type.value, r.attribution_type.value) for r in rows)
    assert touches == sorted(
        (kind, model)
        for kind in ("SIGNUP", "ENHANCEMENT", "PURCHASE")
        for model in ("FIRST_TOUCH", "LAST_TOUCH")
    )
    assert {(r.platform, r.external_campaign_id, r.utm_campaign) for r in rows} == {
        ("GOOGLE_ADS", "Cj0KCQiA", "winter_sale")
    }
    amount = paid["data"]["object"]["amount_total"] / 100  # what the buyer paid, GBP
    purchase = next(r for r in rows if r.conversion_type.value == "PURCHASE")
    assert purchase.conversion_value == amount

    after = await _overview(sessions)
    assert after["signups"] - before["signups"] == 1
    assert after["enhancements"] - before["enhancements"] == 1
    assert after["purchases"] - before["purchases"] == 1
    assert round(after["revenue"] - before["revenue"], 2) == amount

    # The admin's Google Ads account is synced: the campaign the visitor's click named (its utm_id,
    # linked when the visit arrived) spent £10 today.
    with run_ads_peer() as ads:
        ads.state.google = [
            AdsAccount(
                "1112223334",
                "Spike Ads",
                campaigns=[AdsCampaign("20261204", "Winter", days={today: ("10.00", 900, 30)})],
            )
        ]
        settings = billing_app.state.settings.model_copy(update=ads.settings())
        keyring = load_keyring(settings)
        account = MarketingAccount(
            user_id=user_id,
            platform=MarketingPlatform.GOOGLE_ADS,
            account_id="1112223334",
            access_token=keyring.encrypt(ads.state.token("g-access")),
            expires_at=utcnow() + timedelta(hours=1),
        )
        async with sessions() as session, session.begin():
            session.add(account)
        async with sessions() as session, session.begin():
            platforms = make_ad_platforms(settings)
            synced = await marketing.sync_account(session, platforms, keyring, settings, account.id)
    assert synced.failed == [] and synced.days >= 1
    period = metrics.Period(today, today, AttributionType.FIRST_TOUCH)
    async with sessions() as session:
        with_spend = await metrics.overview(session, period)
        campaign = next(
            row
            for row in (await metrics.campaigns(session, period))["campaigns"]
            if row["campaign"] == "winter_sale"
        )
        await session.execute(delete(AdCampaign).where(AdCampaign.external_campaign_id == "20261204"))
        await session.commit()
    assert round(with_spend["spend"] - after["spend"], 2) == 10.0
    assert (campaign["spend"], campaign["revenue"], campaign["signups"]) == (10.0, amount, 1)
    assert campaign["roi"] == round((amount - 10) * 100 / 10, 2) and campaign["costPerAcquisition"] == 10.0
