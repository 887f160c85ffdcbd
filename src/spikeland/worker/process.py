"""A worker: the periodic scheduler and the job runner side by side, until told to stop.

``spikeland worker`` runs one per process; ``serve`` runs one beside the API unless
``SPIKELAND_WORKER_IN_PROCESS`` is false. Any number may run against one database.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from spikeland.integrations.imaging import Imaging
from spikeland.integrations.storage import Storage
from spikeland.settings import Settings
from spikeland.worker.runner import Queue, Runner
from spikeland.worker.scheduler import run_forever


def build_runner(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    storage: Storage,
    imaging: Imaging,
    *,
    concurrency: int | None = None,
) -> Runner:
    from spikeland.generation.tasks import generation_queues
    from spikeland.images.tasks import image_queues

    queues: list[Queue] = [
        *image_queues(engine, sessionmaker, storage, imaging, settings),
        *generation_queues(engine, sessionmaker, storage, imaging, settings),
    ]
    return Runner(
        engine,
        queues,
        concurrency=concurrency or settings.worker_concurrency,
        poll=settings.job_poll_seconds,
        lease=settings.job_lease_seconds,
        retry_base=settings.job_retry_base_seconds,
    )


async def run_worker(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    storage: Storage,
    imaging: Imaging,
    stop: asyncio.Event,
) -> None:
    runner = build_runner(engine, sessionmaker, settings, storage, imaging)
    await asyncio.gather(run_forever(sessionmaker, stop=stop), runner.run(stop))
