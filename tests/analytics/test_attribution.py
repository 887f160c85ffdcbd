"""Sessions linked at sign-in by the signed-in user only, and the sign-up attributed once: first touch
and last touch, with the platform rules of the reference."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

from spikeland.analytics.attribution import platform
from spikeland.analytics.metrics import SOURCE_SQL
from spikeland.analytics.models import CampaignAttribution, VisitorSession
from tests.support.auth import PASSWORD
from tests.support.factories import new_email
from tests.support.images import upload

API = "/api/v1/analytics"


async def _visit(client: httpx.AsyncClient, visitor: str, **fields: Any) -> str:
    body = {"landingPage": "/", "consent": True, "visitorId": visitor, **fields}
    answer = await client.post(f"{API}/sessions", json=body)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["sessionId"])


async def _sign_up(client: httpx.AsyncClient, visitor: str | None) -> str:
    email = new_email()
    assert (
        await client.post("/api/v1/auth/signup", json={"email": email, "password": PASSWORD})
    ).status_code == 202
    headers = {"X-Visitor-Id": visitor} if visitor else {}
    login = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}, headers=headers
    )
    assert login.status_code == 200, login.text
    return str(login.json()["user"]["id"])


async def _attributions(app: FastAPI, user_id: str) -> list[CampaignAttribution]:
    async with app.state.sessionmaker() as session:
        statement = select(CampaignAttribution).where(CampaignAttribution.user_id == user_id)
        return list((await session.scalars(statement.order_by(CampaignAttribution.attribution_type))).all())


async def test_a_sign_up_is_credited_to_its_first_and_last_visits(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    visitor = "v_" + secrets.token_hex(8)
    first = await _visit(client, visitor, utmSource="google", utmCampaign="winter", gclid="Cj0KCQ")
    async with app.state.sessionmaker() as session, session.begin():  # a later visit, from a search
        row = await session.get(VisitorSession, first)
        assert row is not None and row.session_end is not None
        row.session_start = row.session_start.replace(year=row.session_start.year - 1)
        row.session_end = row.session_end.replace(year=row.session_end.year - 1)
    last = await _visit(client, visitor, referrer="https://www.bing.com/search?q=upscale")
    assert last != first

    user_id = await _sign_up(client, visitor)
    async with app.state.sessionmaker() as session:
        linked = (
            await session.scalars(select(VisitorSession.id).where(VisitorSession.user_id == user_id))
        ).all()
    assert set(linked) == {first, last}
    rows = await _attributions(app, user_id)
    assert [
        (r.attribution_type.value, r.session_id, r.platform, r.external_campaign_id, r.utm_campaign)
        for r in rows
    ] == [
        ("FIRST_TOUCH", first, "GOOGLE_ADS", "Cj0KCQ", "winter"),
        ("LAST_TOUCH", last, "ORGANIC", None, None),
    ]
    assert {r.conversion_type.value for r in rows} == {"SIGNUP"}

    # Signing in again (from another browser too) attributes nothing twice.
    again = await client.post(
        "/api/v1/auth/login",
        json={"email": (await client.get("/api/v1/me")).json()["email"], "password": PASSWORD},
        headers={"X-Visitor-Id": visitor},
    )
    assert again.status_code == 200
    assert len(await _attributions(app, user_id)) == 2


async def test_a_sign_up_without_visits_is_direct(client: httpx.AsyncClient, app: FastAPI) -> None:
    user_id = await _sign_up(client, None)
    rows = await _attributions(app, user_id)
    assert [(r.attribution_type.value, r.platform, r.session_id) for r in rows] == [
        ("FIRST_TOUCH", "DIRECT", f"direct:{user_id}"),
        ("LAST_TOUCH", "DIRECT", f"direct:{user_id}"),
    ]


async def test_nobody_links_a_visit_by_naming_a_user(client: httpx.AsyncClient, app: FastAPI) -> None:
    user_id = await _sign_up(client, None)
    body = {"landingPage": "/", "consent": True, "visitorId": "v_" + secrets.token_hex(8), "userId": user_id}
    answer = await client.post(f"{API}/sessions", json=body)
    assert answer.status_code == 201  # the unknown field is ignored: there is no way to name a user
    async with app.state.sessionmaker() as session:
        row = await session.get(VisitorSession, answer.json()["sessionId"])
    assert row is not None and row.user_id is None


def _session(**fields: Any) -> VisitorSession:
    return VisitorSession(visitor_id="v", landing_page="/", **fields)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"gclid": "x", "utm_source": "facebook"}, "GOOGLE_ADS"),
        ({"fbclid": "x"}, "FACEBOOK"),
        ({"utm_source": "Google_Ads"}, "GOOGLE_ADS"),
        ({"utm_source": "instagram"}, "FACEBOOK"),
        ({"utm_source": "newsletter"}, "OTHER"),
        ({"referrer": "https://duckduckgo.com/?q=x"}, "ORGANIC"),
        ({"referrer": "https://news.ycombinator.com/item?id=1"}, "REFERRAL"),
        ({}, "DIRECT"),
    ],
)
def test_platform_rules(fields: dict[str, Any], expected: str) -> None:
    assert platform(_session(**fields)) == expected


async def test_an_enhancement_is_a_conversion_once(client: httpx.AsyncClient, app: FastAPI) -> None:
    visitor = "v_" + secrets.token_hex(8)
    await _visit(client, visitor, utmSource="newsletter", utmCampaign="dec")
    user_id = await _sign_up(client, visitor)
    image = await upload(client)
    body = {"tier": "TIER_1K"}
    headers = {"Idempotency-Key": "enhance-" + secrets.token_hex(4)}
    for _ in range(2):  # the client retrying the same request
        answer = await client.post(f"/api/v1/images/{image}/enhance", json=body, headers=headers)
        assert answer.status_code in (200, 201, 202), answer.text
    rows = [r for r in await _attributions(app, user_id) if r.conversion_type.value == "ENHANCEMENT"]
    assert [(r.attribution_type.value, r.platform, r.utm_campaign, r.conversion_value) for r in rows] == [
        ("FIRST_TOUCH", "OTHER", "dec", 2.0),
        ("LAST_TOUCH", "OTHER", "dec", 2.0),
    ]


async def test_the_sources_report_classifies_as_attribution_does(session: Any) -> None:
    """metrics' SQL (every session at once) and attribution's Python (one touch) are one rule set."""
    cases = [
        {"gclid": "x"},
        {"fbclid": "x", "utm_source": "google"},
        {"utm_source": "Google_Ads"},
        {"utm_source": "gads"},
        {"utm_source": "instagram"},
        {"utm_source": "fb_story"},
        {"utm_source": "newsletter"},
        {"referrer": "https://www.google.co.uk/"},
        {"referrer": "https://duckduckgo.com/?q=x"},
        {"referrer": "https://search.yahoo.com/"},
        {"referrer": "https://news.ycombinator.com/"},
        {"referrer": "https://user@www.Bing.com:443/search?q=x"},
        {"referrer": "android-app://com.google.android.gm/"},
        {"referrer": "https://google.evil.example/"},
        {"referrer": "not a url"},
        {"utm_source": "ig_facebook_story"},
        {"utm_source": "metaverse"},
        {"utm_source": "fbx"},
        {"utm_source": "xfb"},
        {},
    ]
    for fields in cases:
        row = {"gclid": None, "fbclid": None, "utm_source": None, "referrer": None, **fields}
        sql = f"""SELECT {SOURCE_SQL} FROM (
            SELECT CAST(:gclid AS text) AS gclid, CAST(:fbclid AS text) AS fbclid,
                   CAST(:utm_source AS text) AS "utmSource", CAST(:referrer AS text) AS referrer) AS vs"""
        found = await session.scalar(text(sql), row)
        assert found == platform(_session(**fields)), fields
