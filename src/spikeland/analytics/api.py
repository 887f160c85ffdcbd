"""Analytics ingest over HTTP, public: ``/analytics/sessions``, ``/pageviews``, ``/events``, ``/batch``.

Bodies are capped before they are read (``BODY_CAPS``, applied by ``core.limits.BodyLimit``), every
route counts against one per-IP budget (``SPIKELAND_ANALYTICS_REQUESTS_PER_MINUTE``), and the
visitor's device and place come from the request itself (User-Agent, client IP), never the body.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, status

from spikeland.analytics import ingest
from spikeland.analytics.buffer import PageViewBuffer
from spikeland.analytics.schemas import (
    Batch,
    EventRequest,
    PageViewRequest,
    Recorded,
    ScrollUpdate,
    SessionOut,
    SessionStart,
)
from spikeland.core.deps import ClientIp, SettingsDep, rate_limit
from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.core.wire import Rows
from spikeland.db.session import DbSession
from spikeland.integrations.geo import make_geolocator

PREFIX = "/analytics"
# Path (under /api/v1) → the largest body it takes.
BODY_CAPS = {
    f"{PREFIX}/sessions": 4 * 1024,
    f"{PREFIX}/pageviews": 2 * 1024,
    f"{PREFIX}/events": 8 * 1024,
    f"{PREFIX}/batch": 32 * 1024,
}

router = APIRouter(
    route_class=Route,
    prefix=PREFIX,
    tags=["analytics"],
    dependencies=[
        rate_limit(
            "analytics",
            per=lambda s: s.analytics_requests_per_minute,
            message="Too many analytics requests from this address; slow down.",
        )
    ],
)
_ERRORS = errors(session_not_found=404, session_expired=409, payload_too_large=413, rate_limited=429)
_CREATED = status.HTTP_201_CREATED


async def _views(request: Request) -> PageViewBuffer:
    """The app's page-view buffer (``app.state.page_views``, made and closed by the app's lifespan)."""
    views: PageViewBuffer = request.app.state.page_views
    return views


Views = Annotated[PageViewBuffer, Depends(_views)]


def _visit(ip: str, user_agent: str | None, dnt: str | None, gpc: str | None) -> ingest.Visit:
    # Global Privacy Control says what DNT says, and is what browsers send today.
    refused = (dnt or "").strip() == "1" or (gpc or "").strip() == "1"
    return ingest.Visit(ip=ip, user_agent=user_agent, do_not_track=refused)


@router.post(
    "/sessions",
    openapi_extra=errors(payload_too_large=413, rate_limited=429),
    response_model=SessionOut,
    status_code=_CREATED,
)
async def start_session(
    body: SessionStart,
    ip: ClientIp,
    session: DbSession,
    settings: SettingsDep,
    views: Views,
    user_agent: Annotated[str | None, Header(alias="User-Agent")] = None,
    dnt: Annotated[str | None, Header(alias="DNT", max_length=8)] = None,
    gpc: Annotated[str | None, Header(alias="Sec-GPC", max_length=8)] = None,
) -> SessionOut:
    """A page load: the visitor's session continues (activity within 30 minutes) or starts, with
    this page as a page view. Without ``consent`` (or with DNT / Sec-GPC) the answer's
    ``visitorId`` is null and nothing identifies the visitor beyond this session."""
    visit = _visit(ip, user_agent, dnt, gpc)
    return await ingest.start(session, body, visit, make_geolocator(settings), views)


@router.post("/pageviews", openapi_extra=_ERRORS, response_model=Recorded, status_code=_CREATED)
async def page_view(body: PageViewRequest, views: Views) -> Rows:
    """The next page of an active session (closes the previous page's time on page); stored within
    a moment of the answer (no database work in the request while the session is live here)."""
    queued = await ingest.queue_view(views, body.session_id, body)
    return Rows({"pageViewIds": [queued], "eventIds": []})  # the hot path: rendered, not validated


@router.post(
    "/pageviews/{page_view_id}/scroll", openapi_extra=_ERRORS, status_code=status.HTTP_204_NO_CONTENT
)
async def page_scroll(page_view_id: str, body: ScrollUpdate, session: DbSession, views: Views) -> None:
    """How far the visitor scrolled the page (the deepest is kept)."""
    await ingest.scroll(session, page_view_id, body.scroll_depth, views)


@router.post("/events", openapi_extra=_ERRORS, response_model=Recorded, status_code=_CREATED)
async def event(body: EventRequest, session: DbSession, views: Views) -> Recorded:
    """A named event of an active session (category, value, metadata)."""
    _, events = await ingest.record(session, Batch(session_id=body.session_id, events=[body]), views)
    return Recorded(event_ids=events)


@router.post("/batch", openapi_extra=_ERRORS, response_model=Recorded, status_code=_CREATED)
async def batch(body: Batch, session: DbSession, views: Views) -> Recorded:
    """Several page views (≤ 25) and events (≤ 50) of one active session, in order, at once."""
    queued, events = await ingest.record(session, body, views)
    return Recorded(page_view_ids=queued, event_ids=events)
