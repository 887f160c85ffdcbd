"""Job progress notifications for the API process: one LISTEN connection, many subscribers.

Workers NOTIFY ``channel`` with ``"<jobId> <status> <stage>"`` in the transaction of each change.
Each subscriber (a progress stream) gets the messages of its job, in order, on a queue. When the
listening connection cannot be had, subscribers still work: they re-read the job on a timer, and
only the stages passed between two reads go unseen.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobEvent:
    job_id: str
    status: str
    stage: str | None


def parse(payload: str) -> JobEvent | None:
    parts = payload.split(" ")
    if len(parts) != 3:
        return None
    return JobEvent(parts[0], parts[1], parts[2] or None)


class JobEvents:
    def __init__(self, dsn: str, channel: str) -> None:
        self._dsn = dsn
        self._channel = channel
        self._subscribers: dict[str, set[asyncio.Queue[JobEvent]]] = {}
        self._connection: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()

    @property
    def listening(self) -> bool:
        return self._connection is not None and not self._connection.is_closed()

    async def _ensure_listening(self) -> None:
        if self.listening:
            return
        async with self._lock:
            if self.listening:
                return
            try:
                connection = await asyncpg.connect(self._dsn, timeout=5)
                await connection.add_listener(self._channel, self._deliver)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                _log.warning("job events: cannot listen (%s); streams fall back to polling", exc)
                return
            self._connection = connection

    def _deliver(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        event = parse(payload)
        if event is None:
            return
        for queue in self._subscribers.get(event.job_id, ()):
            queue.put_nowait(event)

    @asynccontextmanager
    async def subscribe(self, job_id: str) -> AsyncIterator[asyncio.Queue[JobEvent]]:
        await self._ensure_listening()
        queue: asyncio.Queue[JobEvent] = asyncio.Queue()
        self._subscribers.setdefault(job_id, set()).add(queue)
        try:
            yield queue
        finally:
            waiting = self._subscribers.get(job_id)
            if waiting is not None:
                waiting.discard(queue)
                if not waiting:
                    del self._subscribers[job_id]

    async def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close(timeout=2)
            self._connection = None


async def _hub(request: Request) -> JobEvents:
    hub: JobEvents = request.app.state.job_events
    return hub


JobEventsDep = Annotated[JobEvents, Depends(_hub)]  # the API process's one listener, for the streams
TERMINAL = frozenset({"COMPLETED", "FAILED", "REFUNDED", "CANCELLED"})  # JobStatus labels that end a job
STREAM_POLL_SECONDS = 5.0  # re-read the job this often when no notification arrives


def sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def job_stream(
    job_id: str,
    hub: JobEvents,
    read: Callable[[], Awaitable[dict[str, Any] | None]],
    disconnected: Callable[[], Awaitable[bool]],
) -> AsyncIterator[str]:
    """A job's progress as server-sent events, for any job table: a ``status`` event with the whole
    job (``read``: its JSON body, None once gone) on each change, a ``stage`` event for every change
    notified (so a stage passed before the next read still shows), the stream closing after the
    job ends; a keep-alive comment while nothing happens, until the client goes."""
    async with hub.subscribe(job_id) as events:
        last: str | None = None
        while True:
            body = await read()
            if body is None:
                yield sse("error", {"code": "job_not_found"})
                return
            text = json.dumps(body, sort_keys=True)
            if text != last:
                last = text
                yield sse("status", body)
            if body.get("status") in TERMINAL:
                return
            try:
                event = await asyncio.wait_for(events.get(), timeout=STREAM_POLL_SECONDS)
            except TimeoutError:
                if await disconnected():
                    return
                yield ": keep-alive\n\n"
                continue
            pending = [event]
            while not events.empty():
                pending.append(events.get_nowait())
            for change in pending:
                yield sse("stage", {"id": change.job_id, "status": change.status, "stage": change.stage})
