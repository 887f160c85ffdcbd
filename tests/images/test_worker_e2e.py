"""The enhancement job runner end to end, on a database of its own: a ``spikeland worker`` process
killed in the middle of a job (the job completes elsewhere, charged once), and a model that keeps
failing (retried with backoff, then refunded exactly once)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from pydantic import SecretStr
from sqlalchemy import select, update

from spikeland.app import create_app
from spikeland.db import migrate
from spikeland.db.engine import transaction
from spikeland.db.enums import JobStatus
from spikeland.images.models import ImageEnhancementJob
from spikeland.images.queue import end_with_refund
from spikeland.settings import Settings
from spikeland.tokens.models import TokenTransaction, TokenTransactionType
from tests.conftest import create_database, drop_database
from tests.integrations.gemini_peer import GeminiPeer, Received, error_answer, gemini_peer, text_answer
from tests.support import client_of, sign_in
from tests.support.images import picture, runner_for, upload

# Slow: end to end, with `spikeland worker` processes and a database of its own.
pytestmark = pytest.mark.slow

ENDED = {"COMPLETED", "FAILED", "REFUNDED", "CANCELLED"}
ANALYSIS = {"mainSubject": "a test card", "imageStyle": "photograph", "defects": {"isBlurry": True}}
OVERLOADED = error_answer(503, "The model is overloaded. Please try again later.", "UNAVAILABLE")


@pytest.fixture(scope="module")
async def own_url(server_url: str) -> AsyncIterator[str]:
    """A database of its own: the runners here claim every PENDING job they see."""
    name = f"spikeland_e2e_{secrets.token_hex(4)}"
    url = await create_database(server_url, name)
    await asyncio.to_thread(migrate.upgrade, url)
    yield url
    await drop_database(server_url, name)


@asynccontextmanager
async def started(
    settings: Settings, url: str, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The application on ``url``, started, and a client on it."""
    app = create_app(settings.model_copy(update={"database_url": url, **overrides}), database_url=url)
    async with app.router.lifespan_context(app), client_of(app) as client:
        yield app, client


def model(peer: GeminiPeer, *, generation: tuple[int, Any] | None) -> None:
    """The peer answers analyses at once; generations with ``generation``, or never (None: it hangs
    until the peer stops)."""

    def respond(request: Received) -> tuple[int, Any]:
        if not request.is_generation:
            return text_answer(json.dumps(ANALYSIS))
        if generation is None:
            peer.closing.wait()
            return OVERLOADED
        return generation

    peer.respond = respond


def generations(peer: GeminiPeer) -> int:
    return sum(1 for request in peer.received if request.is_generation)


async def job_of(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def balance(client: httpx.AsyncClient) -> int:
    return int((await client.get("/api/v1/tokens/balance")).json()["balance"])


async def ledger_of(app: FastAPI, job_id: str) -> list[TokenTransactionType]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(TokenTransaction.type)
            .where(TokenTransaction.source_id == job_id)
            .order_by(TokenTransaction.created_at)
        )
        return list(rows)


async def enhance(client: httpx.AsyncClient, image_id: str, **body: Any) -> str:
    response = await client.post(f"/api/v1/images/{image_id}/enhance", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["job"]["id"])


# ------------------------------------------------------------------ a worker killed mid-job


class Worker:
    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def hanging_peer() -> Iterator[GeminiPeer]:
    with gemini_peer() as peer:
        model(peer, generation=None)
        yield peer


@pytest.fixture
def worker(own_url: str, settings: Settings, hanging_peer: GeminiPeer, tmp_path: Path) -> Iterator[Worker]:
    """A real ``spikeland worker`` process on the test database and the test app's files."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPIKELAND_")}
    env.update(
        SPIKELAND_DATABASE_URL=own_url,
        SPIKELAND_DATA_DIR=str(settings.data_dir),
        SPIKELAND_ENVIRONMENT="test",
        SPIKELAND_GEMINI_API_KEY="x",
        SPIKELAND_GEMINI_API_BASE=hanging_peer.url,
        SPIKELAND_JOB_LEASE_SECONDS="2",
        SPIKELAND_JOB_POLL_SECONDS="0.2",
    )
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        # cwd: away from any .env of the checkout, which Settings would read.
        process = subprocess.Popen(
            [sys.executable, "-m", "spikeland", "worker"], env=env, cwd=tmp_path, stdout=out, stderr=out
        )
        try:
            yield Worker(process, log)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()


async def test_a_killed_workers_job_completes_on_another_worker(
    settings: Settings, own_url: str, worker: Worker, hanging_peer: GeminiPeer
) -> None:
    async with started(settings, own_url) as (app, client):
        await sign_in(client)
        job_id = await enhance(client, await upload(client, picture(320, 200)), tier="TIER_1K")

        # Until the worker is inside the model call (the stage is recorded just before it).
        async with asyncio.timeout(60):
            while not generations(hanging_peer):
                assert worker.process.poll() is None, f"the worker exited:\n{worker.output()}"
                await asyncio.sleep(0.1)
        job = await job_of(client, job_id)
        assert (job["status"], job["currentStage"], job["retryCount"]) == ("PROCESSING", "GENERATING", 0)

        worker.process.kill()
        worker.process.wait()

        runner = runner_for(app, job_lease_seconds=1, job_retry_base_seconds=0.05)
        async with asyncio.timeout(60):
            while (job := await job_of(client, job_id))["status"] not in ENDED:
                await runner.recover()
                await runner.run_until_idle()
                await asyncio.sleep(0.1)

        assert job["status"] == "COMPLETED", job
        assert job["retryCount"] == 1 and job["errorMessage"] is None
        assert job["geminiModel"] == "local-pillow"  # finished by this process, not the killed one
        assert await ledger_of(app, job_id) == [TokenTransactionType.SPEND_ENHANCEMENT]
        assert await balance(client) == 8  # 10 on sign-up, 2 for TIER_1K, once

        file = await client.get(f"/api/v1/jobs/{job_id}/download")
        assert file.status_code == 200 and file.headers["content-type"] == "image/jpeg"
        output = Image.open(io.BytesIO(file.content))
        assert output.format == "JPEG" and output.size == (1024, 640)


# ------------------------------------------------------- a failing model, refunded once


async def give_up_twice(app: FastAPI, job_id: str, fence: int) -> list[ImageEnhancementJob | None]:
    """Put the job in PROCESSING on attempt ``fence`` and end it from two sessions at once."""
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            update(ImageEnhancementJob)
            .where(ImageEnhancementJob.id == job_id)
            .values(status=JobStatus.PROCESSING, retry_count=fence)
        )

    async def give_up() -> ImageEnhancementJob | None:
        async with transaction(app.state.sessionmaker) as session:
            return await end_with_refund(session, job_id, "given up", fence=fence)

    return list(await asyncio.gather(give_up(), give_up()))


async def test_a_failing_model_is_retried_then_refunded_once(settings: Settings, own_url: str) -> None:
    with gemini_peer() as peer:
        model(peer, generation=OVERLOADED)
        gemini = {"gemini_api_key": SecretStr("x"), "gemini_api_base": peer.url}
        async with started(settings, own_url, job_retry_base_seconds=0.05, **gemini) as (app, client):
            await sign_in(client)
            created = await client.post(
                "/api/v1/pipelines", json={"name": "Two retries", "generationConfig": {"retryAttempts": 2}}
            )
            assert created.status_code == 201, created.text
            image_id = await upload(client)
            before = await balance(client)
            job_id = await enhance(client, image_id, tier="TIER_2K", pipelineId=created.json()["id"])
            assert await balance(client) == before - 5

            runner = runner_for(app)
            async with asyncio.timeout(60):
                # A job waiting for its backoff is not claimable yet: come back shortly.
                while (job := await job_of(client, job_id))["status"] not in ENDED:
                    await runner.run_until_idle()
                    await asyncio.sleep(0.05)

            assert job["status"] == "REFUNDED", job
            assert job["maxRetries"] == 2 and job["retryCount"] == 2
            assert "503" in job["errorMessage"] and "UNAVAILABLE" in job["errorMessage"], job
            assert generations(peer) == 3
            assert runner.stats.retried == 2 and runner.stats.given_up == 1
            spent = [TokenTransactionType.SPEND_ENHANCEMENT, TokenTransactionType.REFUND]
            assert await ledger_of(app, job_id) == spent
            assert await balance(client) == before
            gone = await client.get(f"/api/v1/jobs/{job_id}/download")
            assert gone.status_code == 404 and gone.json()["error"]["code"] == "output_not_ready"

            # Two more give-ups at once, on the refunded job reopened and on a fresh one: one of
            # each pair ends the job, and each job has one refund.
            other_id = await enhance(client, image_id, tier="TIER_1K")
            for job_id_, fence in ((job_id, 2), (other_id, 0)):
                ended = [job for job in await give_up_twice(app, job_id_, fence) if job is not None]
                assert len(ended) == 1 and ended[0].status == JobStatus.REFUNDED
                assert (await ledger_of(app, job_id_)).count(TokenTransactionType.REFUND) == 1
            assert await balance(client) == before
