"""The error log: what clients report, what the service and the worker log at ERROR, and the
admins' view of it.

Rules:

- **Clients** (``POST /errors``) send up to ``MAX_BATCH`` errors at once, each field bounded
  (``ops.schemas.ClientError``). They are FRONTEND unless the caller signed its request with an API
  key (a server); the user is the signed-in caller, never a user id from the body.
- **Server errors are captured by a logging handler** (:class:`ErrorSink`, installed on the root
  logger by the app and the worker): every record at ERROR or above becomes a BACKEND row with its
  route (``core.logging.log_request``), user (``log_user``), logger, and the redacted stack. ``emit``
  only appends to a bounded in-memory queue (the oldest go past ``max_queued``): a request never
  waits on the database for its error, and never fails because of it. A flusher task writes the
  queue in batches every ``interval`` seconds, in its own transaction.
- **It never feeds itself**: records logged while the flusher runs (the driver's, the pool's, ours)
  are not captured, so a database that is down produces one warning per attempt and a queue that
  waits (bounded), not a loop. What is queued when the process dies is lost — errors of the last
  second, which the process's own log still has.
- Admins list with filters (keyset, newest first), count by type, route and day, and delete by
  filter — at least one filter is required, so "delete everything" is never one careless call.
  Rows older than ``RETENTION`` go daily (``purge_old``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.core.clock import utcnow
from spikeland.core.errors import ValidationFailed
from spikeland.core.logging import log_request, log_user, redact, route_of
from spikeland.core.pagination import Page, newest_first
from spikeland.ops.models import ErrorEnvironment, ErrorLog

_log = logging.getLogger(__name__)

MAX_BATCH = 20
RETENTION = timedelta(days=30)
LIMITS = {"message": 10_000, "stack": 50_000, "sourceFile": 500, "callerName": 200, "route": 500}
_flushing: ContextVar[bool] = ContextVar("spikeland_error_sink_flushing", default=False)


# ----------------------------------------------------------------------------- clients


async def record_client_errors(
    session: AsyncSession,
    errors: list[dict[str, Any]],
    *,
    user_id: str | None,
    server: bool,
) -> list[str]:
    """Store reported errors (already validated and bounded); their ids."""
    if not errors:
        return []
    environment = ErrorEnvironment.BACKEND if server else ErrorEnvironment.FRONTEND
    rows = [{**error, "user_id": user_id, "environment": environment} for error in errors]
    return list(await session.scalars(insert(ErrorLog).returning(ErrorLog.id), rows))


# ----------------------------------------------------------------------------- the service's own


def _text(value: str | None, limit: int) -> str | None:
    return value.replace("\x00", "")[:limit] if value else None


def _row(record: logging.LogRecord) -> dict[str, Any]:
    """An error_logs row from a log record: the message and stack redacted (core.logging)."""
    stack = None
    if record.exc_info and record.exc_info[0] is not None:
        stack = "".join(traceback.format_exception(*record.exc_info))
    elif record.stack_info:
        stack = record.stack_info
    error_type = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else None
    return {
        "timestamp": datetime.fromtimestamp(record.created, UTC),
        "message": _text(redact(record.getMessage()), LIMITS["message"]) or record.levelname,
        "stack": _text(redact(stack), LIMITS["stack"]) if stack else None,
        "source_file": _text(record.pathname, LIMITS["sourceFile"]),
        "source_line": record.lineno,
        "caller_name": _text(record.funcName, LIMITS["callerName"]),
        "route": _text(route_of(log_request.get()), LIMITS["route"]),
        "user_id": log_user.get(),
        "environment": ErrorEnvironment.BACKEND,
        "error_type": (error_type or record.levelname)[:100],
        "error_code": _text(getattr(record, "error_code", None), 100),
        "metadata_": {"logger": record.name, "level": record.levelname, "process": record.process},
    }


class ErrorSink(logging.Handler):
    """ERROR records → a bounded queue → error_logs in batches (the rules are at the top)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        interval: float = 1.0,
        batch: int = 200,
        max_queued: int = 5_000,
    ) -> None:
        super().__init__(level=logging.ERROR)
        self._sessions = sessionmaker
        self._interval = interval
        self._batch = batch
        self._queue: deque[dict[str, Any]] = deque(maxlen=max_queued)
        self._task: asyncio.Task[None] | None = None
        self._writing = asyncio.Lock()
        self.dropped = 0

    def emit(self, record: logging.LogRecord) -> None:
        if _flushing.get():
            return
        try:
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
            self._queue.append(_row(record))
        except Exception:  # a record we cannot read is not worth an error about errors
            self.handleError(record)

    @property
    def queued(self) -> int:
        return len(self._queue)

    def start(self) -> None:
        """Capture from the root logger and write from a task on the running loop."""
        logging.getLogger().addHandler(self)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="error-sink")

    async def _run(self) -> None:
        _flushing.set(True)  # this task's context: whatever it logs is not captured
        while True:
            await asyncio.sleep(self._interval)
            await self.flush_now()

    async def flush_now(self) -> int:
        """Write what is queued; how many rows. A failure keeps them queued (bounded) for next time."""
        token = _flushing.set(True)
        written = 0
        try:
            async with self._writing:
                while self._queue:
                    taken = [self._queue.popleft() for _ in range(min(self._batch, len(self._queue)))]
                    try:
                        async with self._sessions() as session, session.begin():
                            await session.execute(insert(ErrorLog), taken)
                    except Exception as exc:
                        self._queue.extendleft(reversed(taken))
                        _log.warning(
                            "error log: %d errors not written yet: %s", len(taken), type(exc).__name__
                        )
                        break
                    written += len(taken)
        finally:
            _flushing.reset(token)
        return written

    async def aclose(self) -> None:
        """Stop capturing, stop the flusher, write what is queued."""
        logging.getLogger().removeHandler(self)
        if self._task is not None:
            async with self._writing:  # cancelled between batches, never with one in flight (lost)
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush_now()


# ----------------------------------------------------------------------------- admins


@dataclass(frozen=True)
class ErrorFilter:
    environment: ErrorEnvironment | None = None
    error_type: str | None = None
    route: str | None = None
    since: datetime | None = None
    before: datetime | None = None
    text: str | None = None
    source: str | None = None  # the source file, whole (indexed)

    def clauses(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.environment is not None:
            found.append(ErrorLog.environment == self.environment)
        if self.error_type is not None:
            found.append(ErrorLog.error_type == self.error_type)
        if self.route is not None:
            found.append(ErrorLog.route == self.route)
        if self.since is not None:
            found.append(ErrorLog.timestamp >= self.since)
        if self.before is not None:
            found.append(ErrorLog.timestamp < self.before)
        if self.source is not None:
            found.append(ErrorLog.source_file == self.source)
        if self.text:
            pattern = "%" + self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            found.append(ErrorLog.message.ilike(pattern))
        return found

    def applied(self, statement: Select[Any]) -> Select[Any]:
        clauses = self.clauses()
        return statement.where(and_(*clauses)) if clauses else statement


async def list_errors(
    session: AsyncSession, found: ErrorFilter, *, cursor: str | None, limit: int
) -> Page[ErrorLog]:
    return await newest_first(
        session, found.applied(select(ErrorLog)), ErrorLog.timestamp, ErrorLog.id, limit=limit, cursor=cursor
    )


async def stats(session: AsyncSession, found: ErrorFilter) -> dict[str, Any]:
    """Counts: the total, by environment, type, route (the 20 most frequent) and UTC day."""

    async def grouped(column: Any, limit: int | None = None) -> list[dict[str, Any]]:
        statement = found.applied(select(column.label("key"), func.count().label("count"))).group_by(column)
        if limit is not None:
            statement = statement.order_by(func.count().desc(), column).limit(limit)
        else:
            statement = statement.order_by(column)
        return [{"key": key, "count": count} for key, count in await session.execute(statement)]

    day = func.to_char(ErrorLog.timestamp, "YYYY-MM-DD")
    total = await session.scalar(found.applied(select(func.count()).select_from(ErrorLog)))
    return {
        "total": total or 0,
        "byEnvironment": await grouped(ErrorLog.environment),
        "byType": await grouped(ErrorLog.error_type, 20),
        "byRoute": await grouped(ErrorLog.route, 20),
        "byDay": await grouped(day),
    }


async def delete_errors(session: AsyncSession, found: ErrorFilter) -> int:
    clauses = found.clauses()
    if not clauses:
        raise ValidationFailed(
            "Say which errors to delete: at least one filter (environment, type, route, source, "
            "since, before or text).",
            code="filter_required",
        )
    result = await session.execute(delete(ErrorLog).where(and_(*clauses)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def purge_old(session: AsyncSession) -> int:
    """Rows older than the retention (daily job ``ops.purge_errors``)."""
    result = await session.execute(delete(ErrorLog).where(ErrorLog.timestamp < utcnow() - RETENTION))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
