"""Job control for admins: every user's enhancement jobs filtered, cancel (waiting or running) with
one refund, rerun (free after a failure, charged after a cancel, never a completed job), and the
stuck and slow jobs beside the queue's depth and lag."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update

from spikeland.core.clock import utcnow
from spikeland.db.engine import transaction
from spikeland.db.enums import JobStatus
from spikeland.generation.models import McpGenerationJob
from spikeland.identity.models import UserRole
from spikeland.images.models import ImageEnhancementJob
from spikeland.images.queue import end_with_refund
from spikeland.tokens.models import TokenTransaction
from tests.support import sign_in
from tests.support.fixtures import UserClient
from tests.support.images import upload

API = "/api/v1"
ADMIN_JOBS = f"{API}/admin/jobs/enhancements"


async def _balance(client: httpx.AsyncClient) -> int:
    return int((await client.get(f"{API}/tokens/balance")).json()["balance"])


async def _enhance(client: httpx.AsyncClient) -> str:
    image = await upload(client)
    answer = await client.post(f"{API}/images/{image}/enhance", json={"tier": "TIER_1K"})
    assert answer.status_code == 202, answer.text
    job_id: str = answer.json()["job"]["id"]
    return job_id


async def _set(app: FastAPI, job_id: str, **values: object) -> None:
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            update(ImageEnhancementJob).where(ImageEnhancementJob.id == job_id).values(**values)
        )


async def _refunds(app: FastAPI, job_id: str) -> int:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(TokenTransaction).where(
                TokenTransaction.source_id == job_id, TokenTransaction.type == "REFUND"
            )
        )
        return len(rows.all())


async def test_cancel_rerun_and_filters(
    app: FastAPI, client: httpx.AsyncClient, user_client: UserClient
) -> None:
    owner = await sign_in(client)
    start = await _balance(client)
    waiting, running = await _enhance(client), await _enhance(client)
    paid = start - await _balance(client)
    admin, _ = await user_client(role=UserRole.ADMIN)

    listed = await admin.get(ADMIN_JOBS, params={"userId": owner.id, "status": "PENDING", "tier": "TIER_1K"})
    assert listed.status_code == 200, listed.text
    assert {j["id"] for j in listed.json()["items"]} == {waiting, running}
    assert listed.json()["items"][0]["userId"] == owner.id
    old = {"userId": owner.id, "createdBefore": "2000-01-01T00:00:00Z"}
    assert (await admin.get(ADMIN_JOBS, params=old)).json()["items"] == []

    # A waiting job and a running one (a worker holds attempt 0) are both cancelled and refunded.
    await _set(app, running, status=JobStatus.PROCESSING, processing_started_at=utcnow())
    for job_id in (waiting, running):
        answer = await admin.post(f"{ADMIN_JOBS}/{job_id}/cancel")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "CANCELLED"
    assert await _balance(client) == start
    # The worker that held the running one ends it late: refused by the fence, no second refund.
    async with transaction(app.state.sessionmaker) as session:
        assert await end_with_refund(session, running, "model failed", fence=0) is None
    assert [await _refunds(app, j) for j in (waiting, running)] == [1, 1]
    again = await admin.post(f"{ADMIN_JOBS}/{waiting}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_not_cancellable"

    detail = (await admin.get(f"{ADMIN_JOBS}/{running}")).json()
    assert (
        detail["job"]["errorMessage"] == "Cancelled by an admin." and detail["timings"]["workedSeconds"] >= 0
    )

    # Rerun: a cancelled job is charged to its owner; a failed one is free; a completed one is not rerun.
    charged = await admin.post(f"{ADMIN_JOBS}/{waiting}/rerun")
    assert charged.status_code == 201, charged.text
    assert charged.json()["free"] is False and charged.json()["job"]["tokensCost"] == paid // 2
    assert await _balance(client) == start - paid // 2
    # Asked again (a double click, a retry, two admins at once): the same job, charged once.
    again = await asyncio.gather(*(admin.post(f"{ADMIN_JOBS}/{waiting}/rerun") for _ in range(3)))
    assert {answer.json()["job"]["id"] for answer in again} == {charged.json()["job"]["id"]}
    assert await _balance(client) == start - paid // 2
    await _set(app, running, status=JobStatus.REFUNDED, error_message="model overloaded")
    free = (await admin.post(f"{ADMIN_JOBS}/{running}/rerun")).json()
    assert free["free"] is True and free["job"]["tokensCost"] == 0 and free["job"]["status"] == "PENDING"
    assert (await admin.post(f"{ADMIN_JOBS}/{running}/rerun")).json()["job"]["id"] == free["job"]["id"]
    assert await _balance(client) == start - paid // 2
    await _set(app, free["job"]["id"], status=JobStatus.COMPLETED)
    done = await admin.post(f"{ADMIN_JOBS}/{free['job']['id']}/rerun")
    assert done.status_code == 409 and done.json()["error"]["code"] == "job_not_rerunnable"
    assert (await admin.post(f"{ADMIN_JOBS}/nope/cancel")).status_code == 404

    member, _ = await user_client()
    for method, path in (("GET", ""), ("GET", "/health"), ("POST", f"/{waiting}/rerun")):
        assert (await member.request(method, f"{ADMIN_JOBS}{path}")).status_code == 403


async def test_stuck_and_slow_jobs(app: FastAPI, client: httpx.AsyncClient, user_client: UserClient) -> None:
    await sign_in(client)
    stuck, slow, fine = await _enhance(client), await _enhance(client), await _enhance(client)
    lease = app.state.settings.job_lease_seconds
    long_ago = utcnow() - timedelta(seconds=lease * 3)
    await _set(app, stuck, status=JobStatus.PROCESSING, processing_started_at=long_ago, updated_at=long_ago)
    await _set(app, slow, status=JobStatus.PROCESSING, processing_started_at=utcnow() - timedelta(hours=1))
    await _set(app, fine, created_at=utcnow() - timedelta(minutes=5))
    admin, _ = await user_client(role=UserRole.ADMIN)
    health = (await admin.get(f"{ADMIN_JOBS}/health")).json()
    assert stuck in [j["id"] for j in health["stuck"]] and stuck not in [j["id"] for j in health["slow"]]
    assert slow in [j["id"] for j in health["slow"]] and slow not in [j["id"] for j in health["stuck"]]
    assert health["pending"] >= 1 and health["processing"] >= 2 and health["oldestPendingSeconds"] >= 290


async def test_generation_jobs_are_controlled_alike(
    app: FastAPI, client: httpx.AsyncClient, user_client: UserClient
) -> None:
    await sign_in(client)
    start = await _balance(client)
    made = await client.post(f"{API}/generation/generate", json={"prompt": "a red fox", "tier": "TIER_1K"})
    assert made.status_code in (201, 202), made.text
    job_id = made.json()["job"]["id"]
    cost = start - await _balance(client)
    admin, _ = await user_client(role=UserRole.ADMIN)
    jobs = f"{API}/admin/jobs/generations"
    assert job_id in [j["id"] for j in (await admin.get(jobs, params={"status": "PENDING"})).json()["items"]]
    assert (await admin.post(f"{jobs}/{job_id}/cancel")).json()["status"] == "CANCELLED"
    assert await _balance(client) == start
    charged = (await admin.post(f"{jobs}/{job_id}/rerun")).json()
    assert charged["free"] is False and await _balance(client) == start - cost
    assert (await admin.post(f"{jobs}/{job_id}/rerun")).json()["job"]["id"] == charged["job"]["id"]
    assert await _balance(client) == start - cost  # once
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            update(McpGenerationJob)
            .where(McpGenerationJob.id == charged["job"]["id"])
            .values(status=JobStatus.REFUNDED)
        )
    free = (await admin.post(f"{jobs}/{charged['job']['id']}/rerun")).json()
    assert free["free"] is True and free["job"]["tokensCost"] == 0 and free["job"]["prompt"] == "a red fox"
    assert (await admin.get(f"{jobs}/missing")).json()["error"]["code"] == "generation_job_not_found"
    assert (await admin.get(f"{jobs}/health")).status_code == 200
