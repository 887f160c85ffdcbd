"""Which background work exists: every domain's job queues and periodic jobs, and the worker's
entry points (``spikeland worker``, ``spikeland maintenance``, the worker ``serve`` runs beside the
API).

The machinery (``worker.runner``, ``worker.table_queue``, ``worker.scheduler``) knows no domain;
like ``routes`` for the routers, this module composes it with the domains' tasks, above them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from spikeland.db.engine import make_engine, make_sessionmaker
from spikeland.integrations.imaging import Imaging, make_imaging
from spikeland.integrations.storage import Storage, make_storage
from spikeland.ops.error_logs import ErrorSink
from spikeland.settings import Settings
from spikeland.worker.runner import Queue, Runner
from spikeland.worker.scheduler import ScheduledJob, in_transaction, run_forever, run_once


def schedule(settings: Settings | None = None) -> list[ScheduledJob]:
    """Every periodic job, with its interval in seconds."""
    from spikeland.analytics.ingest import close_ended_sessions, purge_old
    from spikeland.analytics.metrics import purge_expired as purge_metrics
    from spikeland.billing.tasks import end_of_period, process_webhooks
    from spikeland.boxes.billing import meter as meter_boxes
    from spikeland.boxes.tasks import reap_orphans as reap_boxes
    from spikeland.growth.tasks import settle_vouchers
    from spikeland.identity.tasks import purge_expired
    from spikeland.merch.tasks import local_printer, purge_webhook_events
    from spikeland.ops.error_logs import purge_old as purge_errors
    from spikeland.tokens.tasks import regenerate_due

    settings = settings or Settings()
    return [
        ScheduledJob(
            "agents.sync", settings.agent_sync_seconds, functools.partial(agents_sync, settings=settings)
        ),
        ScheduledJob("analytics.close_sessions", 5 * 60, in_transaction(close_ended_sessions)),
        ScheduledJob("analytics.purge_metrics_cache", 60 * 60, in_transaction(purge_metrics)),
        ScheduledJob("analytics.retention", 24 * 60 * 60, purge_old),
        ScheduledJob(
            "analytics.marketing_sync",
            settings.marketing_sync_minutes * 60,
            functools.partial(marketing_sync, settings=settings),
        ),
        ScheduledJob("billing.process_webhooks", 5, process_webhooks),
        ScheduledJob("billing.end_of_period", 60, end_of_period),
        ScheduledJob("boxes.meter", settings.box_metering_seconds, meter_boxes),
        ScheduledJob("boxes.reap_orphans", 5 * 60, functools.partial(reap_boxes, settings=settings)),
        ScheduledJob("growth.settle_vouchers", 15 * 60, in_transaction(settle_vouchers)),
        ScheduledJob("identity.purge_expired", 15 * 60, in_transaction(purge_expired)),
        ScheduledJob("merch.purge_webhook_events", 60 * 60, purge_webhook_events),
        ScheduledJob(
            "merch.local_printer",
            min(30.0, settings.merch_local_step_seconds / 4),
            functools.partial(local_printer, settings=settings),
        ),
        ScheduledJob("ops.purge_errors", 24 * 60 * 60, in_transaction(purge_errors)),
        ScheduledJob("tokens.regenerate", 60, in_transaction(regenerate_due)),
    ]


async def agents_sync(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> Any:
    """External coding agents' open sessions read back from their providers (``agents.sync``)."""
    from spikeland.agents.sync import sync_all
    from spikeland.integrations.agents import make_coding_agents

    agents = make_coding_agents(settings)
    if not agents:
        return "no coding agent provider configured"
    return await sync_all(sessionmaker, agents, interval=settings.agent_sync_seconds)


async def marketing_sync(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> Any:
    """The ad platforms' campaigns and spend, for every connected account (``analytics.marketing``)."""
    from spikeland.analytics.marketing import sync_all
    from spikeland.core.security import load_keyring
    from spikeland.integrations.ads import make_ad_platforms

    platforms = make_ad_platforms(settings)
    if not platforms:
        return "no ad platform configured"
    return await sync_all(sessionmaker, platforms, load_keyring(settings), settings)


def queues(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    storage: Storage,
    imaging: Imaging,
) -> list[Queue]:
    """Every domain's job queues, for the runner."""
    from spikeland.audio.tasks import audio_queues
    from spikeland.boxes.tasks import box_queues
    from spikeland.generation.tasks import generation_queues
    from spikeland.images.tasks import image_queues
    from spikeland.integrations.boxes import make_box_provider
    from spikeland.integrations.pod import make_print_provider
    from spikeland.integrations.stripe import make_gateway
    from spikeland.merch.fulfilment import Fulfilment, fulfilment_queues

    fulfilment = Fulfilment(make_print_provider(settings, storage), make_gateway(settings), settings)
    return [
        *image_queues(engine, sessionmaker, storage, imaging, settings),
        *generation_queues(engine, sessionmaker, storage, imaging, settings),
        *fulfilment_queues(engine, sessionmaker, fulfilment, settings),
        *audio_queues(engine, sessionmaker, storage, settings),
        *box_queues(engine, sessionmaker, make_box_provider(settings), storage, settings),
    ]


def build_runner(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    storage: Storage,
    imaging: Imaging,
    *,
    concurrency: int | None = None,
) -> Runner:
    return Runner(
        engine,
        queues(engine, sessionmaker, settings, storage, imaging),
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
    """The periodic scheduler and the job runner side by side, until ``stop`` is set.

    ``spikeland worker`` runs one per process; ``serve`` runs one beside the API unless
    ``SPIKELAND_WORKER_IN_PROCESS`` is false. Any number may run against one database.
    """
    runner = build_runner(engine, sessionmaker, settings, storage, imaging)
    await asyncio.gather(run_forever(sessionmaker, schedule(settings), stop=stop), runner.run(stop))


async def maintenance_main(url: str, settings: Settings) -> dict[str, Any]:
    """``spikeland maintenance``: every scheduled job once, on its own engine."""
    engine = make_engine(url, settings)
    try:
        return await run_once(make_sessionmaker(engine), schedule(settings))
    finally:
        await engine.dispose()


async def worker_main(url: str, settings: Settings) -> None:
    """``spikeland worker``: scheduler and job runner until SIGINT/SIGTERM, finishing the jobs in hand."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)
    for signum in signals:
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signum, stop.set)
    engine = make_engine(url, settings)
    sessionmaker = make_sessionmaker(engine)
    errors = ErrorSink(sessionmaker)  # the worker's ERROR records into error_logs, as the API's
    errors.start()
    try:
        await run_worker(engine, sessionmaker, settings, make_storage(settings), make_imaging(settings), stop)
    finally:
        await errors.aclose()
        for signum in signals:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(signum)
        await engine.dispose()
