"""The job runner: claims work from queues, runs up to N jobs at once, retries failures with
backoff and takes back jobs whose worker died.

A *queue* is any table of jobs that can hand out work with ``FOR UPDATE SKIP LOCKED`` (see
``Queue``): image enhancement jobs today, generation jobs and box actions later. The runner
knows nothing of their tables; it owns the loop:

- wake-ups: LISTEN on every queue's channel (a job's insert NOTIFYs in its own transaction, so
  the wake-up arrives exactly when the job becomes visible), with a polling fallback so a lost
  notification or a dropped listening connection costs at most ``poll`` seconds;
- slots: ``concurrency`` jobs in hand at most; each slot claims its next job as soon as it is free;
- leases: while a job runs its heartbeat refreshes the lease; ``recover`` (every queue, every
  ``lease / 2`` seconds, by any worker) treats a job not heard from for ``lease`` seconds as a
  failed attempt — so a killed worker's job is retried elsewhere, and a job that kills every
  worker still ends after ``maxRetries``;
- failures: ``PermanentFailure`` ends the job at once; any other exception is retried after
  ``backoff(attempt)`` while attempts remain, then the queue gives up (e.g. refunds).

Many processes may run runners on the same queues: every state change is a conditional update
fenced by the attempt number, so a job is processed by one worker at a time and finished once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from spikeland.core.metrics import JOB_SECONDS, JOBS

_log = logging.getLogger(__name__)


class PermanentFailure(Exception):
    """The job cannot succeed (bad input, refused credentials): do not retry it."""


class LeaseLost(Exception):
    """The job is no longer this worker's (its lease expired, or it was cancelled): stop quietly."""


@dataclass(frozen=True)
class Claimed:
    """A job in hand: its id, the attempt it is on (the fence of every write) and its row."""

    id: str
    attempt: int
    max_attempts: int
    row: dict[str, Any] = field(default_factory=dict)

    @property
    def retries_left(self) -> bool:
        return self.attempt < self.max_attempts


class Queue(Protocol):
    name: str
    channel: str  # NOTIFY channel that announces new work

    async def claim(self, limit: int) -> list[Claimed]: ...

    async def process(self, job: Claimed) -> None: ...

    async def heartbeat(self, job: Claimed) -> bool:
        """Refresh the job's lease; False when the job is no longer this worker's."""
        ...

    async def retry(self, job: Claimed, error: str, delay: float) -> None: ...

    async def give_up(self, job: Claimed, error: str) -> None: ...

    async def recover(self, lease: float) -> int:
        """Treat jobs whose lease expired as failed attempts; returns how many were found."""
        ...


def backoff(attempt: int, base: float, cap: float = 3600.0) -> float:
    """Seconds before retry ``attempt + 1``: base·2^attempt, jittered ±50 % so retries spread out."""
    return float(min(cap, base * 2**attempt) * random.uniform(0.5, 1.5))


# The connection a runner slot holds for its queue statements (None outside a slot, e.g. in the
# heartbeat task, which must not share it: asyncpg runs one operation per connection at a time).
_held: ContextVar[asyncpg.Connection | None] = ContextVar("spikeland_runner_connection", default=None)


@asynccontextmanager
async def driver(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """An asyncpg connection in autocommit (one statement, one transaction): the calling slot's own
    when it holds one, else one from the engine's pool.

    The hot statements of the queue (claim, heartbeat, finish) go straight to the driver; the ORM
    session would cost more than the statement itself, and a pool checkout (~165 µs here) as much
    as the statement — hence the held connection.
    """
    held = _held.get()
    if held is not None and not held.is_closed():
        yield held
        return
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        yield raw.driver_connection


@asynccontextmanager
async def _holding(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold one pooled connection for the queue statements of the current task."""
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        token = _held.set(raw.driver_connection)
        try:
            yield
        finally:
            _held.reset(token)


def error_text(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:2000]


@dataclass
class RunnerStats:
    claimed: int = 0
    completed: int = 0
    retried: int = 0
    given_up: int = 0
    lost: int = 0
    recovered: int = 0


class Runner:
    def __init__(
        self,
        engine: AsyncEngine,
        queues: Sequence[Queue],
        *,
        concurrency: int,
        poll: float,
        lease: float,
        retry_base: float,
    ) -> None:
        self.engine = engine
        self.queues = list(queues)
        self.concurrency = concurrency
        self.poll = poll
        self.lease = lease
        self.retry_base = retry_base
        self.stats = RunnerStats()
        self._wake = asyncio.Event()
        self._turn = 0
        self._in_hand: dict[tuple[str, str], tuple[Queue, Claimed]] = {}

    # -------------------------------------------------------------------------------- the loop

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and run jobs until ``stop`` is set; then finish the jobs in hand."""
        helpers = [
            asyncio.create_task(self._listen(stop), name="runner-listen"),
            asyncio.create_task(self._recover_loop(stop), name="runner-recover"),
            asyncio.create_task(self._heartbeats(stop), name="runner-heartbeat"),
        ]
        try:
            await asyncio.gather(*(self._slot(stop) for _ in range(self.concurrency)))
        finally:
            for task in helpers:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _slot(self, stop: asyncio.Event) -> None:
        """One job at a time: claim, run, claim the next at once; wait for a wake-up when idle."""
        while not stop.is_set():
            try:
                async with _holding(self.engine):
                    while not stop.is_set():
                        if await self._take_one():
                            continue
                        self._wake.clear()
                        await _first(stop.wait(), self._wake.wait(), asyncio.sleep(self.poll))
            except (OSError, SQLAlchemyError, asyncpg.PostgresError) as exc:
                _log.warning("runner slot lost its connection (%s); retrying in %.1f s", exc, self.poll)
                await _first(stop.wait(), asyncio.sleep(self.poll))

    async def _take_one(self) -> bool:
        """Claim one job from the first queue that has one, and run it; False when none had work."""
        for _ in range(len(self.queues)):
            queue = self.queues[self._turn % len(self.queues)]
            self._turn += 1
            try:
                jobs = await queue.claim(1)
            except Exception:
                _log.exception("claiming from %s failed", queue.name)
                continue
            if jobs:
                self.stats.claimed += 1
                await self._run_one(queue, jobs[0])
                return True
        return False

    async def run_until_idle(self) -> None:
        """Claim and run jobs until no queue has work (tests; jobs waiting for a retry are not due)."""

        async def slot() -> None:
            async with _holding(self.engine):
                while await self._take_one():
                    pass

        await asyncio.gather(*(slot() for _ in range(self.concurrency)))

    # -------------------------------------------------------------------------------- one job

    async def _run_one(self, queue: Queue, job: Claimed) -> None:
        key = (queue.name, job.id)
        self._in_hand[key] = (queue, job)
        started, outcome = time.monotonic(), "completed"
        try:
            await queue.process(job)
            self.stats.completed += 1
        except LeaseLost:
            self.stats.lost += 1
            outcome = "lost"
            _log.info("%s %s: no longer ours, dropped", queue.name, job.id)
        except Exception as exc:
            outcome = await self._failed(queue, job, exc)
        finally:
            del self._in_hand[key]
            JOB_SECONDS.labels(queue.name).observe(time.monotonic() - started)
            JOBS.labels(queue.name, outcome).inc()

    async def _failed(self, queue: Queue, job: Claimed, exc: Exception) -> str:
        """Record the failure (given up, or retried later); the outcome, for the metrics."""
        message = error_text(exc)
        try:
            if isinstance(exc, PermanentFailure) or not job.retries_left:
                _log.warning("%s %s failed for good: %s", queue.name, job.id, message)
                await queue.give_up(job, message)
                self.stats.given_up += 1
                return "failed"
            delay = backoff(job.attempt, self.retry_base)
            _log.info("%s %s failed (%s); retry in %.1f s", queue.name, job.id, message, delay)
            await queue.retry(job, message, delay)
            self.stats.retried += 1
            return "retried"
        except LeaseLost:
            self.stats.lost += 1
            return "lost"
        except Exception:
            # The lease will expire and recovery will count this attempt: nothing is lost.
            _log.exception("%s %s: recording the failure failed", queue.name, job.id)
            return "unrecorded"

    async def _heartbeats(self, stop: asyncio.Event) -> None:
        """Every lease/4, refresh the lease of every job in hand (one task for all the slots)."""
        while not stop.is_set():
            await _first(stop.wait(), asyncio.sleep(self.lease / 4))
            for queue, job in list(self._in_hand.values()):
                try:
                    await queue.heartbeat(job)
                except Exception:
                    _log.warning("%s %s: heartbeat failed", queue.name, job.id, exc_info=True)

    # ------------------------------------------------------------------------ wake-ups, recovery

    async def _listen(self, stop: asyncio.Event) -> None:
        """LISTEN on the queues' channels; reconnect after a failure (polling covers the gap)."""
        channels = sorted({queue.channel for queue in self.queues})
        while not stop.is_set():
            connection: asyncpg.Connection | None = None
            try:
                connection = await asyncpg.connect(self._dsn())
                for channel in channels:
                    await connection.add_listener(channel, self._notified)
                lost = asyncio.Event()
                connection.add_termination_listener(lambda _connection, lost=lost: lost.set())
                self._wake.set()  # anything queued while we were not listening
                await _first(stop.wait(), lost.wait())
            except (OSError, asyncpg.PostgresError) as exc:
                _log.warning("job listener: %s; polling every %.1f s", exc, self.poll)
                await _first(stop.wait(), asyncio.sleep(self.poll))
            finally:
                if connection is not None and not connection.is_closed():
                    with contextlib.suppress(Exception):
                        await connection.close(timeout=2)

    def _notified(self, *_args: Any) -> None:
        self._wake.set()

    def _dsn(self) -> str:
        url = self.engine.url.set(drivername="postgresql")
        return url.render_as_string(hide_password=False)

    async def _recover_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.recover()
            await _first(stop.wait(), asyncio.sleep(self.lease / 2))

    async def recover(self) -> int:
        found = 0
        for queue in self.queues:
            try:
                found += await queue.recover(self.lease)
            except Exception:
                _log.exception("recovering %s failed", queue.name)
        if found:
            self.stats.recovered += found
            self._wake.set()
        return found


async def _first(*waits: Any) -> None:
    """Wait for the first of ``waits`` (coroutines) and cancel the rest."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
