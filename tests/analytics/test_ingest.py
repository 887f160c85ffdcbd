"""Analytics ingest over HTTP: sessions continue from their last activity, time on page from the next
page view (and from the session's end for the last), consent and DNT, device and place from the
request, bounded bodies, per-IP limits, concurrent page views counted once each."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text

from spikeland.analytics.buffer import PageViewBuffer
from spikeland.analytics.ingest import close_ended_sessions, purge_old
from spikeland.analytics.models import AnalyticsEvent, PageView, VisitorSession
from spikeland.app import create_app
from spikeland.core.clock import utcnow
from spikeland.db.engine import transaction
from spikeland.identity.models import UserRole
from spikeland.settings import Settings
from tests.support import client_of

API = "/api/v1/analytics"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
LONDON = "81.2.69.142"  # a public address DB-IP places in London


@pytest.fixture
async def app(settings: Settings, database_url: str) -> AsyncIterator[FastAPI]:
    """The app behind a proxy it trusts (the tests name the visitor's address in X-Forwarded-For)."""
    own = settings.model_copy(update={"trust_proxy_headers": True})
    app = create_app(own, database_url=database_url)
    async with app.router.lifespan_context(app):
        yield app


def _visitor() -> str:
    return "v_" + secrets.token_hex(8)


async def _row(app: FastAPI, session_id: str) -> VisitorSession:
    await app.state.page_views.flush()  # page views are written behind their requests
    async with app.state.sessionmaker() as session:
        found = await session.get(VisitorSession, session_id)
        assert found is not None
        return found


async def _views(app: FastAPI, session_id: str) -> list[PageView]:
    await app.state.page_views.flush()
    async with app.state.sessionmaker() as session:
        statement = select(PageView).where(PageView.session_id == session_id).order_by(PageView.timestamp)
        return list((await session.scalars(statement)).all())


async def _age(app: FastAPI, session_id: str, minutes: float) -> None:
    """Move the session's activity (and its page views) ``minutes`` into the past."""
    await app.state.page_views.flush()
    values = {"id": session_id, "s": minutes * 60.0}
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            text(
                'UPDATE visitor_sessions SET "sessionStart" = "sessionStart" - make_interval(secs => :s), '
                '"sessionEnd" = "sessionEnd" - make_interval(secs => :s) WHERE id = :id'
            ),
            values,
        )
        await session.execute(
            text(
                'UPDATE page_views SET "timestamp" = "timestamp" - make_interval(secs => :s) '
                'WHERE "sessionId" = :id'
            ),
            values,
        )


def _start(visitor: str | None = None, consent: bool = True, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"landingPage": "/pricing", "consent": consent, **fields}
    if visitor is not None:
        body["visitorId"] = visitor
    return body


async def test_a_visit_continues_from_its_last_activity(client: httpx.AsyncClient, app: FastAPI) -> None:
    visitor = _visitor()
    headers = {"User-Agent": IPHONE, "X-Forwarded-For": LONDON}
    first = await client.post(
        f"{API}/sessions",
        json=_start(
            visitor,
            utmSource="google",
            utmCampaign="winter",
            gclid="Cj0abc",
            referrer="https://www.google.com/search?q=x",
        ),
        headers=headers,
    )
    assert first.status_code == 201, first.text
    made = first.json()
    assert made["visitorId"] == visitor and made["continued"] is False
    row = await _row(app, made["sessionId"])
    assert (row.device_type, row.browser, row.os) == ("mobile", "Mobile Safari", "iOS")
    assert (row.ip_country, row.ip_city) == ("GB", "London")
    assert (row.utm_source, row.utm_campaign, row.gclid) == ("google", "winter", "Cj0abc")

    # 25 minutes after the start, 20 after the last activity: the session continues ...
    await _age(app, made["sessionId"], 20)
    later = await client.post(f"{API}/pageviews", json={"sessionId": made["sessionId"], "path": "/gallery"})
    assert later.status_code == 201
    await _age(app, made["sessionId"], 25)  # ... 45 minutes after the start, 25 after the last activity
    again = (
        await client.post(f"{API}/sessions", json=_start(visitor, landingPage="/apps"), headers=headers)
    ).json()
    assert again["continued"] is True and again["sessionId"] == made["sessionId"]
    row = await _row(app, made["sessionId"])
    assert (row.page_view_count, row.exit_page) == (3, "/apps")

    # Time on page from the next page view.
    views = await _views(app, made["sessionId"])
    assert [v.path for v in views] == ["/pricing", "/gallery", "/apps"]
    assert views[0].time_on_page == 20 * 60 and views[1].time_on_page == 25 * 60
    assert views[2].time_on_page is None

    # 31 quiet minutes later the session is over: a new one starts, and the old one's last page
    # view is closed from its end by the periodic job.
    await _age(app, made["sessionId"], 31)
    expired = await client.post(f"{API}/events", json={"sessionId": made["sessionId"], "name": "late"})
    assert expired.status_code == 409 and expired.json()["error"]["code"] == "session_expired"
    fresh = (await client.post(f"{API}/sessions", json=_start(visitor), headers=headers)).json()
    assert fresh["continued"] is False and fresh["sessionId"] != made["sessionId"]
    async with transaction(app.state.sessionmaker) as session:
        assert await close_ended_sessions(session) >= 1
    assert (await _views(app, made["sessionId"]))[2].time_on_page == 0  # its end is its last page view


async def test_without_consent_nothing_identifies_the_visitor(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    headers = {"X-Forwarded-For": LONDON}
    body = _start(_visitor(), consent=False, referrer="https://news.example.com/a/private/path?id=7")
    refused = (await client.post(f"{API}/sessions", json=body, headers=headers)).json()
    assert refused["visitorId"] is None
    row = await _row(app, refused["sessionId"])
    assert row.visitor_id.startswith("anon_") and row.visitor_id != body["visitorId"]
    assert (row.ip_country, row.ip_city, row.referrer) == ("GB", None, "https://news.example.com")
    # Consent given but DNT (or GPC) sent: the same.
    dnt = (
        await client.post(f"{API}/sessions", json=_start(_visitor()), headers={**headers, "DNT": "1"})
    ).json()
    assert dnt["visitorId"] is None
    gpc = (await client.post(f"{API}/sessions", json=_start(_visitor()), headers={"Sec-GPC": "1"})).json()
    assert gpc["visitorId"] is None
    # Consent and no id yet: one is made for the visitor.
    made = (await client.post(f"{API}/sessions", json=_start(None))).json()
    assert made["visitorId"].startswith("v_")


async def test_events_batches_and_scroll(client: httpx.AsyncClient, app: FastAPI) -> None:
    made = (await client.post(f"{API}/sessions", json=_start(_visitor()))).json()
    sid = made["sessionId"]
    batch = await client.post(
        f"{API}/batch",
        json={
            "sessionId": sid,
            "pageViews": [{"path": "/a"}, {"path": "/b", "title": "B", "scrollDepth": 40}],
            "events": [
                {
                    "name": "enhancement_started",
                    "category": "conversion",
                    "value": 10,
                    "metadata": {"tier": "4K"},
                },
                {"name": "page_scroll_50", "category": "engagement"},
            ],
        },
    )
    assert batch.status_code == 201, batch.text
    recorded = batch.json()
    assert len(recorded["pageViewIds"]) == 2 and len(recorded["eventIds"]) == 2
    scrolled = await client.post(
        f"{API}/pageviews/{recorded['pageViewIds'][1]}/scroll", json={"scrollDepth": 90}
    )
    assert scrolled.status_code == 204
    await client.post(f"{API}/pageviews/{recorded['pageViewIds'][1]}/scroll", json={"scrollDepth": 10})
    views = await _views(app, sid)
    assert [v.path for v in views] == ["/pricing", "/a", "/b"] and views[2].scroll_depth == 90
    assert all(v.time_on_page is not None for v in views[:2])
    async with app.state.sessionmaker() as session:
        events = (await session.scalars(select(AnalyticsEvent).where(AnalyticsEvent.session_id == sid))).all()
    assert {(e.name, e.category, e.value) for e in events} == {
        ("enhancement_started", "conversion", 10.0),
        ("page_scroll_50", "engagement", None),
    }
    assert (await _row(app, sid)).page_view_count == 3


async def test_concurrent_page_views_count_once_each(client: httpx.AsyncClient, app: FastAPI) -> None:
    sid = (await client.post(f"{API}/sessions", json=_start(_visitor()))).json()["sessionId"]
    answers = await asyncio.gather(
        *(client.post(f"{API}/pageviews", json={"sessionId": sid, "path": f"/p{i}"}) for i in range(10))
    )
    assert {a.status_code for a in answers} == {201}
    views = await _views(app, sid)
    assert len(views) == 11 and (await _row(app, sid)).page_view_count == 11
    assert sum(v.time_on_page is None for v in views) == 1  # only the last is still open


async def test_two_tabs_opening_at_once_continue_one_session(client: httpx.AsyncClient) -> None:
    visitor = _visitor()
    answers = await asyncio.gather(*(client.post(f"{API}/sessions", json=_start(visitor)) for _ in range(5)))
    assert len({a.json()["sessionId"] for a in answers}) == 1
    assert sorted(a.json()["continued"] for a in answers) == [False, True, True, True, True]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("sessions", {"landingPage": ""}, 422),
        ("sessions", {"landingPage": "/x", "visitorId": "bad id!"}, 422),
        ("sessions", {"landingPage": "/x", "utmSource": "s" * 256}, 422),
        ("sessions", {"landingPage": "/" + "x" * 5000}, 413),  # over the 4 KB cap, refused unread
        ("pageviews", {"sessionId": "nope", "path": "/x"}, 404),
        ("pageviews", {"sessionId": "nope", "path": "/x", "scrollDepth": 101}, 422),
        ("events", {"sessionId": "nope", "name": "has space"}, 422),
        ("events", {"sessionId": "nope", "name": "n", "metadata": {"k": "v" * 9000}}, 413),
        ("events", {"sessionId": "nope", "name": "n", "value": "10"}, 422),
        ("batch", {"sessionId": "nope", "pageViews": [{"path": "/x"}] * 26}, 422),
    ],
)
async def test_nonsense_gets_a_clear_4xx(
    client: httpx.AsyncClient, app: FastAPI, path: str, body: dict[str, Any], status: int
) -> None:
    before = await _stored(app)
    answer = await client.post(f"{API}/{path}", json=body)
    assert answer.status_code == status, answer.text
    assert await _stored(app) == before  # nothing written


async def _stored(app: FastAPI) -> tuple[int, ...]:
    await app.state.page_views.flush()
    counts = []
    async with app.state.sessionmaker() as session:
        for table in (VisitorSession, PageView, AnalyticsEvent):
            counts.append(int(await session.scalar(select(func.count()).select_from(table)) or 0))
    return tuple(counts)


async def test_an_address_is_limited(settings: Settings, database_url: str) -> None:
    own = settings.model_copy(update={"analytics_requests_per_minute": 3})
    app = create_app(own, database_url=database_url)
    async with app.router.lifespan_context(app), client_of(app) as client:
        answers = [await client.post(f"{API}/sessions", json=_start(None, consent=False)) for _ in range(4)]
    assert [a.status_code for a in answers] == [201, 201, 201, 429]
    assert answers[-1].json()["error"]["code"] == "rate_limited"


async def test_campaign_links_follow_the_campaigns_seen(
    client: httpx.AsyncClient, app: FastAPI, user_client: Any
) -> None:
    campaign = "launch_" + secrets.token_hex(3)
    tagged = {"utmCampaign": campaign, "utmSource": "google", "gclid": "Cj0x", "utmId": "1234567"}
    answers = await asyncio.gather(
        *(client.post(f"{API}/sessions", json=_start(None, consent=False, **tagged)) for _ in range(5))
    )
    assert {a.status_code for a in answers} == {201}
    await client.post(f"{API}/sessions", json=_start(None, consent=False, **{**tagged, "utmId": "7654321"}))
    await client.post(f"{API}/sessions", json=_start(None, consent=False, utmCampaign=campaign, utmId="99"))
    admin, _ = await user_client(role=UserRole.ADMIN)
    every = (await admin.get("/api/v1/admin/analytics/campaign-links")).json()
    ours = [link for link in every if link["utmCampaign"] == campaign]
    links = [(link["platform"], link["externalCampaignId"]) for link in ours]
    assert links == [("GOOGLE_ADS", "7654321")]


async def test_old_visits_go_after_90_days_attributions_stay(client: httpx.AsyncClient, app: FastAPI) -> None:
    old = (await client.post(f"{API}/sessions", json=_start(_visitor()))).json()["sessionId"]
    await client.post(f"{API}/events", json={"sessionId": old, "name": "kept_until_old"})
    recent = (await client.post(f"{API}/sessions", json=_start(_visitor()))).json()["sessionId"]
    await _age(app, old, 91 * 24 * 60)
    async with transaction(app.state.sessionmaker) as session:  # events follow the session's clock here
        await session.execute(
            text(
                'UPDATE analytics_events SET "timestamp" = "timestamp" - make_interval(days => 91) '
                'WHERE "sessionId" = :id'
            ),
            {"id": old},
        )
    gone = await purge_old(app.state.sessionmaker)
    assert gone["page_views"] >= 1 and gone["events"] >= 1 and gone["sessions"] >= 1
    async with app.state.sessionmaker() as session:
        assert await session.get(VisitorSession, old) is None
        assert await session.get(VisitorSession, recent) is not None


async def test_page_views_are_written_behind_their_answers(settings: Settings, database_url: str) -> None:
    app = create_app(settings, database_url=database_url)
    async with app.router.lifespan_context(app), client_of(app) as client:
        sid = (await client.post(f"{API}/sessions", json=_start(_visitor()))).json()["sessionId"]
        queued = (await client.post(f"{API}/pageviews", json={"sessionId": sid, "path": "/soon"})).json()
        for _ in range(100):  # the flusher writes within its interval, unasked
            async with app.state.sessionmaker() as session:
                if await session.get(PageView, queued["pageViewIds"][0]) is not None:
                    break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the page view was never written")
        last = (await client.post(f"{API}/pageviews", json={"sessionId": sid, "path": "/last"})).json()
    # Stopping the app wrote what was still queued.
    async with app.state.sessionmaker() as session:
        assert await session.get(PageView, last["pageViewIds"][0]) is not None


async def test_a_process_that_never_saw_the_session_asks_the_database(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings, database_url: str
) -> None:
    quiet = (await client.post(f"{API}/sessions", json=_start(_visitor()))).json()["sessionId"]
    live = (await client.post(f"{API}/sessions", json=_start(_visitor()))).json()["sessionId"]
    await _age(app, quiet, 31)
    other = create_app(settings, database_url=database_url)  # another process: an empty view
    async with other.router.lifespan_context(other), client_of(other) as elsewhere:
        refused = await elsewhere.post(f"{API}/pageviews", json={"sessionId": quiet, "path": "/x"})
        accepted = await elsewhere.post(f"{API}/pageviews", json={"sessionId": live, "path": "/x"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "session_expired"
    assert accepted.status_code == 201
    assert (await _row(app, live)).page_view_count == 2


async def test_admins_link_campaigns_by_hand(user_client: Any) -> None:
    admin, _ = await user_client(role=UserRole.ADMIN)
    body = {
        "utmCampaign": "hand_" + secrets.token_hex(3),
        "platform": "FACEBOOK",
        "externalCampaignId": "238",
    }
    made = await admin.post("/api/v1/admin/analytics/campaign-links", json=body)
    assert made.status_code == 201, made.text
    again = await admin.post("/api/v1/admin/analytics/campaign-links", json=body)
    assert again.status_code == 409 and again.json()["error"]["code"] == "campaign_link_exists"
    bad = await admin.post("/api/v1/admin/analytics/campaign-links", json={**body, "platform": "TIKTOK"})
    assert bad.status_code == 422
    user, _ = await user_client()
    assert (await user.post("/api/v1/admin/analytics/campaign-links", json=body)).status_code == 403
    link = made.json()["id"]
    assert (await admin.delete(f"/api/v1/admin/analytics/campaign-links/{link}")).status_code == 204
    gone = await admin.delete(f"/api/v1/admin/analytics/campaign-links/{link}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "campaign_link_not_found"


async def test_a_page_view_waits_for_its_session_to_commit(app: FastAPI) -> None:
    views = PageViewBuffer(app.state.sessionmaker)
    session_id = "cwaiting" + secrets.token_hex(8)
    views.seen(session_id, utcnow())  # made by a request whose transaction has not committed yet
    view_id = await views.add(session_id, "/landing", None, None)
    assert await views.flush() == 0  # not visible yet: kept for the next flush
    async with transaction(app.state.sessionmaker) as session:
        session.add(
            VisitorSession(id=session_id, visitor_id="anon_w", landing_page="/landing", page_view_count=0)
        )
    await views.flush()  # written now (or just before by the buffer's own flusher, which also runs)
    async with app.state.sessionmaker() as session:
        assert await session.get(PageView, view_id) is not None
        assert (await session.get(VisitorSession, session_id)).page_view_count == 1  # type: ignore[union-attr]
    await views.close()
