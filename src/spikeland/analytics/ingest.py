"""Visitors' sessions, page views and events in — cheap, bounded, private by default.

Rules:

- A visitor's session continues while it has activity within 30 minutes of its **last** activity
  (``sessionEnd`` holds the last activity; the original measured from the session's start). A
  session that has been quiet longer is over: its page views and events are refused (409
  ``session_expired``) and the client starts a new one.
- Consent: the visitor id (kept by the client in a cookie) and the city are stored only when the
  client says the visitor consented and the request carries no ``DNT: 1``. Otherwise the session
  gets an id of its own that is never handed out, the referrer is cut to its origin and only the
  country is kept: nothing identifies the visitor beyond the one session. A consenting visitor
  without an id gets one made here.
- Page views are written behind the request (``analytics.buffer``: answered at once, stored in
  batches): each closes the previous one — its ``timeOnPage`` is the time until this one (at most the
  session timeout) — counts on the session (``pageViewCount``) and is its ``exitPage``; the
  session's last page view is closed from the session's end by the periodic job
  (``close_ended_sessions``). Events are stored by their request, under a lock of the session's row.
- A visitor's session lookup works under an advisory lock of the visitor id, so two tabs opening at
  once continue one session.
- A new session naming an ad platform's campaign keeps its campaign link up to date (``links``).
- Retention: page views and events go after 90 days, then sessions with nothing left (``purge_old``,
  daily); attributions are kept.
- A session is linked to a user only by that user, signed in (``link_visitor``), never by a
  request naming a user id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.analytics import buffer, devices, links
from spikeland.analytics.buffer import PageViewBuffer
from spikeland.analytics.models import AnalyticsEvent, PageView, VisitorSession
from spikeland.analytics.schemas import Batch, EventIn, PageViewIn, SessionOut, SessionStart
from spikeland.core.clock import utcnow
from spikeland.core.errors import Conflict, NotFound
from spikeland.db.types import UTCDateTime
from spikeland.integrations.geo import GeoLocator

SESSION_TIMEOUT = timedelta(minutes=30)


class SessionNotFound(NotFound):
    code = "session_not_found"


class SessionExpired(Conflict):
    code = "session_expired"


@dataclass(frozen=True)
class Visit:
    """What the request says of the visitor beside its body."""

    ip: str
    user_agent: str | None
    do_not_track: bool


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _last_activity(visitor_session: VisitorSession) -> datetime:
    return visitor_session.session_end or visitor_session.session_start


async def _continued(session: AsyncSession, visitor_id: str, now: datetime) -> VisitorSession | None:
    # One visitor's session lookups in turn: two tabs opening at once continue one session.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:v))"), {"v": "visitor:" + visitor_id})
    latest = await session.scalar(
        select(VisitorSession)
        .where(VisitorSession.visitor_id == visitor_id)
        .order_by(func.coalesce(VisitorSession.session_end, VisitorSession.session_start).desc())
        .limit(1)
        .with_for_update()
    )
    if latest is not None and _last_activity(latest) >= now - SESSION_TIMEOUT:
        return latest
    return None


async def start(
    session: AsyncSession, data: SessionStart, visit: Visit, geo: GeoLocator, views: PageViewBuffer
) -> SessionOut:
    """A page load: the visitor's session continues, or a new one starts (consent rules above);
    the page is queued as a page view (``analytics.buffer``)."""
    now = utcnow()
    identified = data.consent and not visit.do_not_track
    visitor_id = (data.visitor_id or "v_" + secrets.token_urlsafe(16)) if identified else None
    current = await _continued(session, visitor_id, now) if visitor_id else None
    if current is not None:
        views.seen(current.id, _last_activity(current))
        view_id = await views.add(current.id, data.landing_page, data.title, None)
        return SessionOut(session_id=current.id, visitor_id=visitor_id, continued=True, page_view_id=view_id)
    device = devices.parse(visit.user_agent)
    place = geo.locate(visit.ip)
    current = VisitorSession(
        visitor_id=visitor_id or "anon_" + secrets.token_urlsafe(16),
        session_start=now,
        session_end=now,  # its last activity: this page
        device_type=device.device_type,
        browser=device.browser,
        os=device.os,
        ip_country=place.country if place else None,
        ip_city=place.city if place and identified else None,
        referrer=data.referrer if identified else _origin(data.referrer),
        landing_page=data.landing_page,
        page_view_count=0,
        utm_source=data.utm_source,
        utm_medium=data.utm_medium,
        utm_campaign=data.utm_campaign,
        utm_term=data.utm_term,
        utm_content=data.utm_content,
        gclid=data.gclid,
        fbclid=data.fbclid,
    )
    session.add(current)
    await session.flush()
    await links.seen(session, current, data.utm_id)
    views.seen(current.id, now)  # known live here before its row commits: no lookup for its pages
    view_id = await views.add(current.id, data.landing_page, data.title, None)
    return SessionOut(session_id=current.id, visitor_id=visitor_id, continued=False, page_view_id=view_id)


def _after(visitor_session: VisitorSession) -> datetime:
    """Now, read once the session's row is locked, and never before its last activity: its events
    stay in order however the requests that made them interleaved."""
    return max(utcnow(), _last_activity(visitor_session))


async def _active(session: AsyncSession, session_id: str) -> tuple[VisitorSession, datetime]:
    found = await session.scalar(
        select(VisitorSession).where(VisitorSession.id == session_id).with_for_update()
    )
    if found is None:
        raise SessionNotFound("No such analytics session.")
    now = _after(found)
    if _last_activity(found) < utcnow() - SESSION_TIMEOUT:
        raise SessionExpired("The session has been quiet for 30 minutes: start a new one.")
    return found, now


def _event(visitor_session: VisitorSession, event: EventIn, now: datetime) -> AnalyticsEvent:
    visitor_session.session_end = now
    return AnalyticsEvent(
        session_id=visitor_session.id,
        name=event.name,
        category=event.category,
        value=event.value,
        metadata_=event.metadata,
        timestamp=now,
    )


async def queue_view(views: PageViewBuffer, session_id: str, page: PageViewIn) -> str:
    """Queue one page view of a live session (``analytics.buffer``); its id."""
    try:
        return await views.add(session_id, page.path, page.title, page.scroll_depth)
    except buffer.Unknown:
        raise SessionNotFound("No such analytics session.") from None
    except buffer.Quiet:
        raise SessionExpired("The session has been quiet for 30 minutes: start a new one.") from None


async def record(session: AsyncSession, batch: Batch, views: PageViewBuffer) -> tuple[list[str], list[str]]:
    """Page views (queued, in order) and events (stored now) of one active session; their ids."""
    view_ids = [await queue_view(views, batch.session_id, page) for page in batch.page_views]
    if not batch.events:
        return view_ids, []
    current, now = await _active(session, batch.session_id)
    events = [_event(current, event, now) for event in batch.events]
    session.add_all(events)
    await session.flush()
    return view_ids, [e.id for e in events]


async def scroll(session: AsyncSession, page_view_id: str, depth: int, views: PageViewBuffer) -> None:
    """The deepest scroll of a page view of an active session (never lowered)."""
    view = await session.get(PageView, page_view_id)
    if view is None and await views.flush():  # it may be waiting in the queue
        view = await session.get(PageView, page_view_id)
    if view is None:
        raise SessionNotFound("No such page view.")
    await _active(session, view.session_id)
    view.scroll_depth = max(view.scroll_depth or 0, depth)
    await session.flush()


async def link_visitor(session: AsyncSession, user_id: str, visitor_id: str | None) -> int:
    """The signed-in user's own visitor sessions not yet linked become theirs; how many."""
    if not visitor_id or visitor_id.startswith("anon_"):
        return 0
    result = await session.execute(
        update(VisitorSession)
        .where(VisitorSession.visitor_id == visitor_id, VisitorSession.user_id.is_(None))
        .values(user_id=user_id)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def close_ended_sessions(session: AsyncSession) -> int:
    """The last page view of each session over (quiet for 30 minutes) gets its time on page,
    from the session's end. Sessions started in the last day: the job runs every few minutes."""
    now = utcnow()
    result = await session.execute(
        text(
            """
UPDATE page_views pv
SET "timeOnPage" = LEAST(:cap, GREATEST(0, EXTRACT(EPOCH FROM (vs."sessionEnd" - pv."timestamp"))))::int
FROM visitor_sessions vs
WHERE pv."sessionId" = vs.id AND pv."timeOnPage" IS NULL
  AND vs."sessionStart" >= :since AND vs."sessionEnd" < :ended
"""
        ).bindparams(bindparam("since", type_=UTCDateTime()), bindparam("ended", type_=UTCDateTime())),
        {
            "cap": int(SESSION_TIMEOUT.total_seconds()),
            "since": now - timedelta(days=1),
            "ended": now - SESSION_TIMEOUT,
        },
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


RETENTION = timedelta(days=90)
_RETENTION_BATCH = 10_000


async def purge_old(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    """Page views and events older than 90 days, then sessions older than that with nothing left, in
    batches of their own transaction (a backlog never holds one long transaction). Attributions stay:
    they refer to sessions by id, not by key, on purpose."""
    cutoff = utcnow() - RETENTION
    gone = {"page_views": 0, "events": 0, "sessions": 0}
    statements = {
        "page_views": """
DELETE FROM page_views WHERE id IN (SELECT id FROM page_views WHERE "timestamp" < :cutoff LIMIT :batch)""",
        "events": """
DELETE FROM analytics_events WHERE id IN (
  SELECT id FROM analytics_events WHERE "timestamp" < :cutoff LIMIT :batch)""",
        "sessions": """
DELETE FROM visitor_sessions WHERE id IN (
  SELECT vs.id FROM visitor_sessions vs
  WHERE vs."sessionStart" < :cutoff
    AND NOT EXISTS (SELECT 1 FROM page_views pv WHERE pv."sessionId" = vs.id)
    AND NOT EXISTS (SELECT 1 FROM analytics_events e WHERE e."sessionId" = vs.id)
  LIMIT :batch)""",
    }
    for name, sql in statements.items():
        statement = text(sql).bindparams(bindparam("cutoff", type_=UTCDateTime()))
        while True:
            async with sessionmaker() as session, session.begin():
                result = await session.execute(statement, {"cutoff": cutoff, "batch": _RETENTION_BATCH})
            count = int(result.rowcount or 0)  # type: ignore[attr-defined]
            gone[name] += count
            if count < _RETENTION_BATCH:
                break
    return gone
