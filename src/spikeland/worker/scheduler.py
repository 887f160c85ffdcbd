"""A minimal periodic scheduler: named jobs, each run every N seconds in its own transaction.

One process runs the loop (``spikeland worker``); ``run_once`` runs every job one time
(``spikeland maintenance``, tests). Which jobs exist is not this module's business: the list is
``spikeland.jobs.schedule()``, above the domains whose tasks it names. A failing job is logged
and tried again at its next turn; it never stops the others. Queued work (jobs) is the runner's
(``worker.runner``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.db.engine import transaction

_log = logging.getLogger(__name__)

Sessionmaker = async_sessionmaker[AsyncSession]
JobFunction = Callable[[Sessionmaker], Awaitable[Any]]


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    interval: float  # seconds between the starts of two runs
    run: JobFunction


def in_transaction(work: Callable[[AsyncSession], Awaitable[Any]]) -> JobFunction:
    """A job from a function of one session: it commits when the function returns, else rolls back."""

    async def job(sessionmaker: Sessionmaker) -> Any:
        async with transaction(sessionmaker) as session:
            return await work(session)

    return job


async def _run(job: ScheduledJob, sessionmaker: Sessionmaker) -> tuple[bool, Any]:
    started = time.monotonic()
    try:
        result = await job.run(sessionmaker)
    except Exception:
        _log.exception("job %s failed", job.name)
        return False, None
    _log.info("job %s done in %.2f s: %s", job.name, time.monotonic() - started, result)
    return True, result


async def run_once(sessionmaker: Sessionmaker, jobs: Sequence[ScheduledJob]) -> dict[str, Any]:
    """Run every job once, in order; returns each job's result (None for a job that failed)."""
    results: dict[str, Any] = {}
    for job in jobs:
        _ok, results[job.name] = await _run(job, sessionmaker)
    return results


async def run_forever(
    sessionmaker: Sessionmaker,
    jobs: Sequence[ScheduledJob],
    stop: asyncio.Event | None = None,
) -> None:
    """Run each job when it falls due (every job once at start), until ``stop`` is set."""
    stop = stop or asyncio.Event()
    due = {job.name: time.monotonic() for job in jobs}
    _log.info("scheduler started: %s", ", ".join(f"{j.name} every {j.interval:g} s" for j in jobs))
    while not stop.is_set():
        for job in jobs:
            if time.monotonic() >= due[job.name] and not stop.is_set():
                # Counted from this start: a run that overruns its interval is followed at once by
                # the next one, never by a backlog of missed runs.
                due[job.name] = time.monotonic() + job.interval
                await _run(job, sessionmaker)
        pause = max(0.0, min(due.values()) - time.monotonic()) if due else 60.0
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)
    _log.info("scheduler stopped")
