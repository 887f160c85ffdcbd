import asyncio
import logging
import os
import secrets
import signal
from datetime import timedelta

import pytest
from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from spikeland.core.clock import utcnow
from spikeland.db.cuid import cuid
from spikeland.db.engine import make_sessionmaker, transaction
from spikeland.identity.models import Session, User, VerificationToken
from spikeland.jobs import maintenance_main, worker_main
from spikeland.jobs import schedule as default_schedule
from spikeland.settings import Settings
from spikeland.worker.scheduler import ScheduledJob, run_forever, run_once

Maker = async_sessionmaker[AsyncSession]


async def test_run_once_purges_expired_sessions_and_tokens(engine: AsyncEngine) -> None:
    sessionmaker = make_sessionmaker(engine)
    now, tag = utcnow(), secrets.token_hex(4)
    async with transaction(sessionmaker) as session:
        user = User(email=f"purge-{tag}@example.com")
        session.add(user)
        await session.flush()
        await session.execute(
            insert(Session),
            [
                {
                    "id": cuid(),
                    "session_token": f"old-{tag}",
                    "user_id": user.id,
                    "expires": now - timedelta(seconds=1),
                },
                {
                    "id": cuid(),
                    "session_token": f"live-{tag}",
                    "user_id": user.id,
                    "expires": now + timedelta(days=1),
                },
            ],
        )
        await session.execute(
            insert(VerificationToken),
            [
                {
                    "identifier": f"magic-link:{tag}",
                    "token": f"old-{tag}",
                    "expires": now - timedelta(seconds=1),
                },
                {
                    "identifier": f"magic-link:{tag}",
                    "token": f"live-{tag}",
                    "expires": now + timedelta(hours=1),
                },
            ],
        )

    results = await run_once(sessionmaker, default_schedule())

    purged = results["identity.purge_expired"]
    assert purged["sessions"] >= 1 and purged["verification_tokens"] >= 1
    async with transaction(sessionmaker) as session:
        sessions = (
            await session.scalars(select(Session.session_token).where(Session.user_id == user.id))
        ).all()
        tokens = (
            await session.scalars(
                select(VerificationToken.token).where(VerificationToken.identifier == f"magic-link:{tag}")
            )
        ).all()
        assert (sessions, tokens) == ([f"live-{tag}"], [f"live-{tag}"])
        await session.execute(
            delete(VerificationToken).where(VerificationToken.identifier == f"magic-link:{tag}")
        )
        await session.execute(delete(User).where(User.id == user.id))


def test_the_default_schedule_purges_every_quarter_hour() -> None:
    assert ("identity.purge_expired", 900) in [(job.name, job.interval) for job in default_schedule()]


async def test_a_failing_job_is_logged_and_the_others_still_run(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(sessionmaker: Maker) -> None:
        raise RuntimeError("boom")

    async def fine(sessionmaker: Maker) -> str:
        return "ok"

    jobs = [ScheduledJob("test.broken", 60, broken), ScheduledJob("test.fine", 60, fine)]
    with caplog.at_level(logging.ERROR, logger="spikeland.worker.scheduler"):
        results = await run_once(make_sessionmaker(engine), jobs)
    assert results == {"test.broken": None, "test.fine": "ok"}
    assert "job test.broken failed" in caplog.text and "boom" in caplog.text


async def test_run_forever_repeats_jobs_on_their_interval_until_stopped(engine: AsyncEngine) -> None:
    stop = asyncio.Event()
    runs: list[str] = []

    async def fast(sessionmaker: Maker) -> None:
        runs.append("fast")
        if runs.count("fast") == 3:
            stop.set()

    async def flaky(sessionmaker: Maker) -> None:
        runs.append("flaky")
        raise ValueError("a failure does not stop the loop")

    async def slow(sessionmaker: Maker) -> None:
        runs.append("slow")

    jobs = [
        ScheduledJob("fast", 0.02, fast),
        ScheduledJob("flaky", 0.02, flaky),
        ScheduledJob("slow", 3600, slow),
    ]
    await asyncio.wait_for(run_forever(make_sessionmaker(engine), jobs, stop), timeout=5)
    assert runs.count("fast") == 3 and runs.count("slow") == 1 and runs.count("flaky") >= 2


async def test_cli_entry_points(settings: Settings, database_url: str) -> None:
    results = await maintenance_main(database_url, settings)
    assert set(results["identity.purge_expired"]) == {"sessions", "verification_tokens"}

    # The worker runs until SIGTERM, then returns.
    asyncio.get_running_loop().call_later(0.3, os.kill, os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(worker_main(database_url, settings), timeout=10)


async def test_serve_runs_the_periodic_jobs_in_process(
    settings: Settings, database_url: str, engine: AsyncEngine
) -> None:
    from spikeland.app import create_app

    async with async_sessionmaker(engine, expire_on_commit=False)() as db, db.begin():
        user = User(email=f"worker-{secrets.token_hex(4)}@example.com")
        db.add(user)
        await db.flush()
        db.add(
            Session(
                session_token=secrets.token_hex(16), user_id=user.id, expires=utcnow() - timedelta(hours=1)
            )
        )
    app = create_app(settings.model_copy(update={"worker_in_process": True}), database_url=database_url)
    async with app.router.lifespan_context(app):
        for _ in range(100):
            async with engine.connect() as conn:
                left = (
                    await conn.execute(
                        text('select count(*) from sessions where "userId" = :u'), {"u": user.id}
                    )
                ).scalar_one()
            if left == 0:
                break
            await asyncio.sleep(0.05)
    assert left == 0  # the in-process scheduler purged it; leaving the lifespan stopped it cleanly


async def test_every_scheduled_job_runs_clean(engine: AsyncEngine) -> None:
    results = await run_once(async_sessionmaker(engine, expire_on_commit=False), default_schedule())
    assert set(results) == {job.name for job in default_schedule()}
    assert [name for name, result in results.items() if result is None] == []  # None: the job failed
