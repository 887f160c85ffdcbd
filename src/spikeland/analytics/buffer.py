"""Page views written behind the request: answered at once, stored in batches.

A page view costs its request no database work when its session is known to be live: the request
checks the session against a small in-process view of live sessions (id → last activity), makes
the page view's id, queues it and answers 201. A flusher writes the queue every ``interval``
seconds (sooner when ``batch`` are waiting) in one transaction per batch, with the sessions' rows
locked in id order:

- each session's page views of the batch in arrival order; each gets its time on page from the
  next one, the first closes the session's latest stored page view (never below zero);
- the session's ``pageViewCount``, ``exitPage`` and ``sessionEnd`` (never moved back).

A session not in the view (another process made it, or this one restarted) is read from the
database once: 404 when it does not exist, 409 when it has been quiet 30 minutes (the view says
"quiet" only after the database agrees). What it costs: page views still queued when the process
dies are lost — at most ``interval`` seconds of them, analytics only (nothing of money, accounts or
jobs goes through here). A failed flush keeps the queue and tries again at the next tick; past
``max_queued`` the oldest are dropped with an error log, so a database outage cannot exhaust memory.
Stopping the app flushes what is queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.analytics.models import VisitorSession
from spikeland.core.clock import utcnow
from spikeland.db.cuid import cuid

_log = logging.getLogger(__name__)

TIMEOUT = timedelta(minutes=30)
PATIENCE = timedelta(seconds=30)
MAX_SECONDS = int(TIMEOUT.total_seconds())


@dataclass(frozen=True)
class Queued:
    id: str
    session_id: str
    path: str
    title: str | None
    scroll_depth: int | None
    at: datetime


class Unknown(Exception):
    """No such session."""


class Quiet(Exception):
    """The session has been quiet for 30 minutes."""


class PageViewBuffer:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        interval: float = 0.05,
        batch: int = 500,
        max_queued: int = 100_000,
    ) -> None:
        self._sessions = sessionmaker
        self._interval = interval
        self._batch = batch
        self._max_queued = max_queued
        self._queue: list[Queued] = []
        self._live: dict[str, datetime] = {}  # session id -> last activity known here
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._flushing = asyncio.Lock()

    # ----------------------------------------------------------------------------- requests

    def seen(self, session_id: str, at: datetime) -> None:
        """A session's activity known to this process (its start, a page view)."""
        if at > self._live.get(session_id, at - timedelta(seconds=1)):
            self._live[session_id] = at

    async def _last_activity(self, session_id: str) -> datetime:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(VisitorSession.session_start, VisitorSession.session_end).where(
                        VisitorSession.id == session_id
                    )
                )
            ).first()
        if row is None:
            raise Unknown(session_id)
        last: datetime = row.session_end or row.session_start
        self.seen(session_id, last)
        return self._live[session_id]

    async def add(self, session_id: str, path: str, title: str | None, scroll_depth: int | None) -> str:
        """Queue a page view of a live session; its id. ``Unknown`` / ``Quiet`` otherwise."""
        now = utcnow()
        last = self._live.get(session_id)
        if last is None or last < now - TIMEOUT:
            last = await self._last_activity(session_id)  # the database decides
        if last < now - TIMEOUT:
            raise Quiet(session_id)
        now = max(now, last)
        view = Queued(cuid(), session_id, path, title, scroll_depth, now)
        self._queue.append(view)
        self._live[session_id] = now
        if len(self._queue) > self._max_queued:
            dropped = len(self._queue) - self._max_queued
            del self._queue[:dropped]
            _log.error("analytics: %d queued page views dropped (the database is not keeping up)", dropped)
        self._start()
        if len(self._queue) >= self._batch:
            self._wake.set()
        return view.id

    # ------------------------------------------------------------------------------ flushing

    def _start(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._run(), name="analytics-page-views")

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                _log.exception("analytics: writing page views failed; they stay queued")

    async def flush(self) -> int:
        """Write everything queued now; how many page views were written."""
        async with self._flushing:
            written, later = 0, []
            while self._queue:
                taken = self._queue[: self._batch]
                count, waiting = await self._write(taken)  # raises: everything stays queued
                written += count
                later += waiting
                done = {view.id for view in taken}
                # By id, not by position: requests append meanwhile, and an overfull queue drops
                # its oldest.
                self._queue = [view for view in self._queue if view.id not in done]
            self._queue[:0] = self._keep_waiting(later)
            cutoff = utcnow() - TIMEOUT
            for session_id in [s for s, at in self._live.items() if at < cutoff]:
                del self._live[session_id]
            return written

    async def _write(self, views: list[Queued]) -> tuple[int, list[Queued]]:
        """One batch in one transaction, in four set-based statements (a statement per session or
        per row cost the flusher more CPU than the requests it serves)."""
        by_session: dict[str, list[Queued]] = defaultdict(list)
        for view in views:
            by_session[view.session_id].append(view)
        async with self._sessions() as session, session.begin():
            raw = await (await session.connection()).get_raw_connection()
            db = raw.driver_connection
            assert db is not None
            live = {row["id"] for row in await db.fetch(_LOCK, sorted(by_session))}
            waiting = [v for s, mine in by_session.items() if s not in live for v in mine]
            rows: list[tuple[object, ...]] = []
            sessions: list[tuple[object, ...]] = []
            for session_id in sorted(live):
                mine = sorted(by_session[session_id], key=lambda v: v.at)
                for view, following in zip(mine, [*mine[1:], None], strict=True):
                    seconds = (following.at - view.at).total_seconds() if following else None
                    stayed = None if seconds is None else int(min(max(seconds, 0), MAX_SECONDS))
                    at = _naive(view.at)
                    rows.append((view.id, session_id, view.path, view.title, view.scroll_depth, at, stayed))
                sessions.append(
                    (session_id, _naive(mine[0].at), len(mine), mine[-1].path, _naive(mine[-1].at))
                )
            if not rows:
                return 0, waiting
            ids, firsts, counts, exits, lasts = (list(c) for c in zip(*sessions, strict=True))
            await db.execute(_CLOSE_PREVIOUS, ids, firsts, MAX_SECONDS)
            await db.execute(_INSERT, *(list(c) for c in zip(*rows, strict=True)))
            await db.execute(_COUNT, ids, counts, exits, lasts)
        return len(rows), waiting

    @staticmethod
    def _keep_waiting(views: list[Queued]) -> list[Queued]:
        """Views of sessions not visible yet: a session made by a request that has not committed
        (its landing page is queued before its commit) is waited for a while, then given up."""
        cutoff = utcnow() - PATIENCE
        kept = [v for v in views if v.at >= cutoff]
        if len(kept) < len(views):
            _log.warning("analytics: %d page views of unknown sessions dropped", len(views) - len(kept))
        return kept

    async def close(self) -> None:
        """Stop the flusher and write what is queued."""
        if self._flusher is not None:
            # Cancelled only between flushes: a cancel landing after a batch committed but before
            # it left the queue would have the flush below write it again (a duplicate key, and the
            # whole last batch lost).
            async with self._flushing:
                self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        try:
            await self.flush()
        except Exception:
            _log.exception(
                "analytics: %d queued page views could not be written at shutdown", len(self._queue)
            )


def _naive(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)  # timestamp(3) holding UTC


# The batch's sessions, locked in id order (two flushers never wait on each other in a circle).
_LOCK = "SELECT id FROM visitor_sessions WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE"
# Each session's latest stored page view before the batch's first, still open, is closed by it.
_CLOSE_PREVIOUS = """
UPDATE page_views p
SET "timeOnPage" = LEAST($3::int, GREATEST(0, EXTRACT(EPOCH FROM (f.first - p."timestamp"))))::int
FROM unnest($1::text[], $2::timestamp[]) AS f(sid, first)
WHERE p.id = (
    SELECT q.id FROM page_views q
    WHERE q."sessionId" = f.sid AND q."timestamp" <= f.first
    ORDER BY q."timestamp" DESC, q.id DESC LIMIT 1
) AND p."timeOnPage" IS NULL
"""
_INSERT = """
INSERT INTO page_views (id, "sessionId", path, title, "scrollDepth", "timestamp", "timeOnPage")
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::timestamp[], $7::int[])
"""
_COUNT = """
UPDATE visitor_sessions vs
SET "pageViewCount" = vs."pageViewCount" + a.n, "exitPage" = a.exit,
    "sessionEnd" = GREATEST(vs."sessionEnd", a.last)
FROM unnest($1::text[], $2::int[], $3::text[], $4::timestamp[]) AS a(sid, n, exit, last)
WHERE vs.id = a.sid
"""
