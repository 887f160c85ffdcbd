"""The job runner on its own database: many workers never share a job, a dead worker's job is
taken again, a job that keeps failing ends refunded exactly once."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from spikeland.core.metrics import REGISTRY
from spikeland.db import migrate
from spikeland.db.engine import make_engine, make_sessionmaker, transaction
from spikeland.db.enums import EnhancementTier, JobStatus
from spikeland.images.models import EnhancedImage, ImageEnhancementJob
from spikeland.images.queue import LOST_LEASE, EnhancementQueue
from spikeland.images.tasks import enhancement_processor
from spikeland.integrations.imaging.local import LocalImaging
from spikeland.integrations.storage import original_key
from spikeland.integrations.storage.local import LocalStorage
from spikeland.settings import Settings
from spikeland.tokens import service as tokens
from spikeland.tokens.models import TokenTransaction, TokenTransactionType
from spikeland.worker.runner import Claimed, LeaseLost, Runner
from tests.conftest import create_database, drop_database
from tests.support import make_user
from tests.support.images import picture


@pytest.fixture(scope="module")
async def queue_url(server_url: str) -> AsyncIterator[str]:
    """A database of its own: the runner claims every PENDING job it sees."""
    name = f"spikeland_queue_{secrets.token_hex(4)}"
    url = await create_database(server_url, name)
    await asyncio.to_thread(migrate.upgrade, url)
    yield url
    await drop_database(server_url, name)


@pytest.fixture
async def engine(queue_url: str, settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(queue_url, settings)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


async def queue_jobs(
    sessions: async_sessionmaker[AsyncSession],
    storage: LocalStorage,
    count: int,
    *,
    tier: EnhancementTier = EnhancementTier.FREE,
    max_retries: int = 3,
) -> tuple[str, list[str]]:
    """A user with one stored image and ``count`` paid PENDING jobs on it."""
    async with transaction(sessions) as session:
        user = await make_user(session)
        image = EnhancedImage(
            user_id=user.id,
            name="p.jpg",
            original_url="-",
            original_r2_key="-",
            original_width=64,
            original_height=48,
            original_size_bytes=1,
            original_format="jpeg",
        )
        session.add(image)
        await session.flush()
        image.original_r2_key = original_key(user.id, image.id, "jpg")
        await storage.put(image.original_r2_key, picture(64, 48), "image/jpeg")
        await tokens.credit(session, user.id, 1000, TokenTransactionType.EARN_BONUS, source="test")
        ids = []
        for _ in range(count):
            job = ImageEnhancementJob(
                image_id=image.id,
                user_id=user.id,
                tier=tier,
                tokens_cost=2 if tier != "FREE" else 0,
                status=JobStatus.PENDING,
                max_retries=max_retries,
            )
            session.add(job)
            await session.flush()
            if job.tokens_cost:
                await tokens.spend(
                    session,
                    user.id,
                    job.tokens_cost,
                    TokenTransactionType.SPEND_ENHANCEMENT,
                    source="image_enhancement",
                    source_id=job.id,
                )
            ids.append(job.id)
    return user.id, ids


async def statuses(
    sessions: async_sessionmaker[AsyncSession], ids: list[str]
) -> dict[str, ImageEnhancementJob]:
    async with sessions() as session:
        rows = await session.scalars(select(ImageEnhancementJob).where(ImageEnhancementJob.id.in_(ids)))
        return {job.id: job for job in rows}


async def test_four_workers_process_two_hundred_jobs_each_exactly_once(
    queue_url: str, settings: Settings, sessions: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    _user, ids = await queue_jobs(sessions, storage, 200)
    processed: Counter[str] = Counter()

    async def count_and_complete(queue: EnhancementQueue, job: Claimed) -> None:
        processed[job.id] += 1
        await asyncio.sleep(0)  # let the other workers run between claim and completion
        await queue.complete(job, enhancedWidth=1)

    engines = [make_engine(queue_url, settings) for _ in range(4)]
    runners = [
        Runner(
            e,
            [EnhancementQueue(e, make_sessionmaker(e), count_and_complete, retry_base=0.01)],
            concurrency=4,
            poll=0.05,
            lease=30,
            retry_base=0.01,
        )
        for e in engines
    ]
    try:
        await asyncio.gather(*(r.run_until_idle() for r in runners))
    finally:
        for e in engines:
            await e.dispose()
    assert set(processed) == set(ids)
    assert max(processed.values()) == 1
    assert all(r.stats.claimed > 0 for r in runners), [r.stats for r in runners]  # all four took part
    jobs = await statuses(sessions, ids)
    assert {j.status for j in jobs.values()} == {JobStatus.COMPLETED}


async def test_a_dead_workers_job_is_taken_again_and_its_late_writes_are_refused(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], storage: LocalStorage, settings: Settings
) -> None:
    _user, [job_id] = await queue_jobs(sessions, storage, 1)
    processor = enhancement_processor(storage, LocalImaging(), settings)
    dead = EnhancementQueue(engine, sessions, processor, retry_base=0.01)
    [claimed] = await dead.claim(1)  # ... and then its process is killed: no heartbeat, no result
    assert claimed.id == job_id and claimed.attempt == 0

    alive = Runner(
        engine,
        [EnhancementQueue(engine, sessions, processor, retry_base=0.01)],
        concurrency=2,
        poll=0.05,
        lease=0.3,
        retry_base=0.01,
    )
    assert await alive.recover() == 0  # the lease has not run out yet
    await asyncio.sleep(0.4)
    assert await alive.recover() == 1
    for _ in range(100):
        await alive.run_until_idle()
        if (await statuses(sessions, [job_id]))[job_id].status == JobStatus.COMPLETED:
            break
        await asyncio.sleep(0.02)
    job = (await statuses(sessions, [job_id]))[job_id]
    assert job.status == JobStatus.COMPLETED and job.retry_count == 1
    assert job.enhanced_r2_key is not None

    # The first worker was only slow, not dead: whatever it writes now matches no row.
    with pytest.raises(LeaseLost):
        await dead.complete(claimed, enhancedWidth=1)
    with pytest.raises(LeaseLost):
        await dead.retry(claimed, "late", 1.0)


async def test_a_job_that_always_loses_its_worker_ends_refunded_once(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    user_id, [job_id] = await queue_jobs(sessions, storage, 1, tier=EnhancementTier.TIER_1K, max_retries=2)

    async def never(queue: EnhancementQueue, job: Claimed) -> None:
        raise AssertionError("not run in this test")

    queue = EnhancementQueue(engine, sessions, never, retry_base=0.001)
    for attempt in range(3):  # the first try and two retries, each claimed by a worker that dies
        await asyncio.sleep(0.01)
        claimed: list[Claimed] = []
        for _ in range(100):
            claimed = await queue.claim(1)
            if claimed:
                break
            await asyncio.sleep(0.01)
        assert [c.attempt for c in claimed] == [attempt]
        await asyncio.sleep(0.06)
        # Two recoverers at once (two worker processes): the attempt is counted once.
        found = await asyncio.gather(queue.recover(0.05), queue.recover(0.05))
        assert sum(found) >= 1
    job = (await statuses(sessions, [job_id]))[job_id]
    assert job.status == JobStatus.REFUNDED and job.error_message == LOST_LEASE
    assert job.retry_count == 2
    async with sessions() as session:
        refunds = await session.scalar(
            select(func.count()).where(
                TokenTransaction.user_id == user_id,
                TokenTransaction.type == TokenTransactionType.REFUND,
                TokenTransaction.source_id == job_id,
            )
        )
        assert refunds == 1
        assert (await tokens.get_balance(session, user_id)).balance == 1010


async def test_a_failing_stage_is_retried_with_backoff_then_refunded_once(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], storage: LocalStorage
) -> None:
    user_id, [job_id] = await queue_jobs(sessions, storage, 1, tier=EnhancementTier.TIER_1K, max_retries=3)
    attempts: list[tuple[int, float]] = []
    loop = asyncio.get_running_loop()
    queue_name = EnhancementQueue.name

    def counted(outcome: str) -> float:
        return (
            REGISTRY.get_sample_value("spikeland_jobs_total", {"queue": queue_name, "outcome": outcome}) or 0
        )

    before = {outcome: counted(outcome) for outcome in ("retried", "failed")}

    async def flaky(queue: EnhancementQueue, job: Claimed) -> None:
        attempts.append((job.attempt, loop.time()))
        raise RuntimeError(f"model overloaded (attempt {job.attempt})")

    runner = Runner(
        engine,
        [EnhancementQueue(engine, sessions, flaky, retry_base=0.05)],
        concurrency=1,
        poll=0.01,
        lease=30,
        retry_base=0.05,
    )
    for _ in range(400):
        await runner.run_until_idle()
        if (await statuses(sessions, [job_id]))[job_id].status != JobStatus.PENDING:
            break
        await asyncio.sleep(0.01)
    job = (await statuses(sessions, [job_id]))[job_id]
    assert [a for a, _ in attempts] == [0, 1, 2, 3]
    assert job.status == JobStatus.REFUNDED and job.error_message == "model overloaded (attempt 3)"
    assert runner.stats.retried == 3 and runner.stats.given_up == 1
    # The metrics (core.metrics) saw the same: three retried attempts, one given up.
    assert (counted("retried") - before["retried"], counted("failed") - before["failed"]) == (3, 1)
    # Backoff grows: base·2^n jittered ±50 %, so each wait is at least half its nominal value.
    waits = [b - a for (_, a), (_, b) in itertools.pairwise(attempts)]
    assert all(w >= 0.05 * 2**n * 0.5 for n, w in enumerate(waits)), waits
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(TokenTransaction).where(
                    TokenTransaction.user_id == user_id, TokenTransaction.source_id == job_id
                )
            )
        ).all()
        assert sorted(r.type.value for r in rows) == ["REFUND", "SPEND_ENHANCEMENT"]
        assert sum(r.amount for r in rows) == 0
