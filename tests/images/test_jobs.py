"""Enhancement jobs end to end over HTTP: pay, queue, process by the worker, read, download, cancel."""

from __future__ import annotations

import asyncio
import io

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from spikeland.db.engine import make_sessionmaker, transaction
from spikeland.images.queue import EVENTS_CHANNEL
from spikeland.tokens import service
from spikeland.tokens.models import TokenTransaction, TokenTransactionType
from tests.support import sign_in
from tests.support.clients import parse_sse
from tests.support.images import picture, upload, work

# FREE never enlarges: its output is the input's size up to 1024 on the long side.
TIER_SIDE = {"FREE": 300, "TIER_1K": 1024, "TIER_2K": 2048, "TIER_4K": 4096}
TIER_COST = {"FREE": 0, "TIER_1K": 2, "TIER_2K": 5, "TIER_4K": 10}


async def balance(client: httpx.AsyncClient) -> int:
    return int((await client.get("/api/v1/tokens/balance")).json()["balance"])


async def ledger_rows(engine: AsyncEngine, user_id: str) -> list[TokenTransaction]:
    async with make_sessionmaker(engine)() as session:
        rows = await session.scalars(
            select(TokenTransaction)
            .where(TokenTransaction.user_id == user_id)
            .order_by(TokenTransaction.created_at)
        )
        return list(rows)


async def credit(engine: AsyncEngine, user_id: str, tokens: int) -> None:
    async with transaction(make_sessionmaker(engine)) as session:
        await service.credit(session, user_id, tokens, TokenTransactionType.EARN_BONUS, source="test")


@pytest.mark.parametrize("tier", ["FREE", "TIER_1K", "TIER_2K", "TIER_4K"])
async def test_each_tier_completes_with_its_long_side(
    client: httpx.AsyncClient, app: FastAPI, engine: AsyncEngine, tier: str
) -> None:
    user_id = (await sign_in(client)).id
    await credit(engine, user_id, 20)
    image_id = await upload(client, picture(300, 200))
    before = await balance(client)

    response = await client.post(f"/api/v1/images/{image_id}/enhance", json={"tier": tier})
    assert response.status_code == 202, response.text
    job = response.json()["job"]
    assert job["status"] == "PENDING" and job["tokensCost"] == TIER_COST[tier]
    assert response.json()["balance"] == before - TIER_COST[tier]

    await work(app)
    done = (await client.get(f"/api/v1/jobs/{job['id']}")).json()
    assert done["status"] == "COMPLETED", done
    assert done["currentStage"] is None and done["processingCompletedAt"] is not None
    assert max(done["enhancedWidth"], done["enhancedHeight"]) == TIER_SIDE[tier]
    assert done["enhancedHeight"] == round(done["enhancedWidth"] * 2 / 3)  # aspect kept (300x200)
    assert done["analysisSource"] and done["analysisResult"]["defects"] is not None
    assert done["geminiPrompt"] and done["geminiModel"] == "local-pillow"

    file = await client.get(f"/api/v1/jobs/{job['id']}/download")
    assert file.status_code == 200 and file.headers["content-type"] == "image/jpeg"
    assert len(file.content) == done["enhancedSizeBytes"]
    assert Image.open(io.BytesIO(file.content)).size == (done["enhancedWidth"], done["enhancedHeight"])


async def test_short_balance_is_402_and_creates_no_job(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    await sign_in(client)
    image_id = await upload(client)
    paid = await client.post(f"/api/v1/images/{image_id}/enhance", json={"tier": "TIER_4K"})
    assert paid.status_code == 202
    response = await client.post(f"/api/v1/images/{image_id}/enhance", json={"tier": "TIER_2K"})
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_tokens"
    assert response.json()["error"]["details"] == {"required": 5, "available": 0}
    jobs = (await client.get(f"/api/v1/images/{image_id}/jobs")).json()["items"]
    assert [j["id"] for j in jobs] == [paid.json()["job"]["id"]]
    assert (await client.post(f"/api/v1/jobs/{jobs[0]['id']}/cancel")).status_code == 200


async def test_batch_is_all_or_nothing(client: httpx.AsyncClient, engine: AsyncEngine, app: FastAPI) -> None:
    await sign_in(client)
    ids = [await upload(client) for _ in range(3)]
    # 3 x 5 = 15 > 10: refused whole.
    refused = await client.post("/api/v1/images/batch-enhance", json={"imageIds": ids, "tier": "TIER_2K"})
    assert refused.status_code == 402
    assert await balance(client) == 10
    for image_id in ids:
        assert (await client.get(f"/api/v1/images/{image_id}/jobs")).json()["items"] == []
    # 3 x 2 = 6: all three queued and charged once each.
    accepted = await client.post("/api/v1/images/batch-enhance", json={"imageIds": ids, "tier": "TIER_1K"})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["totalCost"] == 6 and accepted.json()["balance"] == 4
    await work(app)
    for job in accepted.json()["jobs"]:
        assert (await client.get(f"/api/v1/jobs/{job['id']}")).json()["status"] == "COMPLETED"


async def test_idempotency_key_queues_and_charges_once(client: httpx.AsyncClient, app: FastAPI) -> None:
    await sign_in(client)
    image_id = await upload(client)
    headers = {"Idempotency-Key": "enhance-once"}
    first = await client.post(f"/api/v1/images/{image_id}/enhance", json={"tier": "TIER_1K"}, headers=headers)
    again = await client.post(f"/api/v1/images/{image_id}/enhance", json={"tier": "TIER_1K"}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["job"]["id"] == again.json()["job"]["id"]
    assert await balance(client) == 8
    assert len((await client.get(f"/api/v1/images/{image_id}/jobs")).json()["items"]) == 1
    await work(app)


async def test_cancel_refunds_a_waiting_job_once_and_refuses_a_finished_one(
    client: httpx.AsyncClient, app: FastAPI, engine: AsyncEngine
) -> None:
    user_id = (await sign_in(client)).id
    image_id = await upload(client)
    job = (await client.post(f"/api/v1/images/{image_id}/enhance", json={"tier": "TIER_2K"})).json()["job"]
    assert await balance(client) == 5

    cancelled = await client.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    assert await balance(client) == 10
    again = await client.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 409 and again.json()["error"]["code"] == "job_not_cancellable"
    refunds = [r for r in await ledger_rows(engine, user_id) if r.type.value == "REFUND"]
    assert len(refunds) == 1 and refunds[0].source_id == job["id"]

    other = (await client.post(f"/api/v1/images/{image_id}/enhance", json={"tier": "FREE"})).json()["job"]
    await work(app)
    finished = await client.post(f"/api/v1/jobs/{other['id']}/cancel")
    assert finished.status_code == 409


async def test_a_pipeline_is_applied_and_counted(client: httpx.AsyncClient, app: FastAPI) -> None:
    await sign_in(client)
    created = await client.post(
        "/api/v1/pipelines",
        json={
            "name": "No crop, custom words",
            "autoCropConfig": {"enabled": False},
            "promptConfig": {"customInstructions": "Keep the film grain of the original."},
            "generationConfig": {"retryAttempts": 1},
        },
    )
    assert created.status_code == 201, created.text
    pipeline = created.json()
    # A picture with black bars that the default pipeline would crop.
    framed = Image.new("RGB", (400, 300), (0, 0, 0))
    framed.paste(Image.open(io.BytesIO(picture(300, 200))), (50, 50))
    out = io.BytesIO()
    framed.save(out, "PNG")
    image_id = await upload(client, out.getvalue(), "framed.png")

    with_pipeline = (
        await client.post(
            f"/api/v1/images/{image_id}/enhance", json={"tier": "TIER_1K", "pipelineId": pipeline["id"]}
        )
    ).json()["job"]
    default = (await client.post(f"/api/v1/images/{image_id}/enhance", json={"tier": "FREE"})).json()["job"]
    assert with_pipeline["maxRetries"] == 1 and with_pipeline["pipelineId"] == pipeline["id"]
    await work(app)

    applied = (await client.get(f"/api/v1/jobs/{with_pipeline['id']}")).json()
    assert applied["status"] == "COMPLETED"
    assert applied["wasCropped"] is False and applied["cropDimensions"] is None
    assert "Keep the film grain of the original." in applied["geminiPrompt"]
    assert (applied["enhancedWidth"], applied["enhancedHeight"]) == (1024, 768)

    plain = (await client.get(f"/api/v1/jobs/{default['id']}")).json()
    assert plain["wasCropped"] is True
    assert plain["cropDimensions"] == {"x": 50, "y": 50, "width": 300, "height": 200}
    assert (plain["enhancedWidth"], plain["enhancedHeight"]) == (300, 200)  # FREE: the cropped size

    assert (await client.get(f"/api/v1/pipelines/{pipeline['id']}")).json()["usageCount"] == 1


async def test_another_users_pipeline_or_blend_source_is_404(client: httpx.AsyncClient, app: FastAPI) -> None:
    await sign_in(client)
    private = (await client.post("/api/v1/pipelines", json={"name": "Mine"})).json()
    foreign_image = await upload(client)
    await sign_in(client)  # the same client, now someone else
    image_id = await upload(client)
    for body in (
        {"tier": "FREE", "pipelineId": private["id"]},
        {"tier": "FREE", "sourceImageId": foreign_image},
    ):
        response = await client.post(f"/api/v1/images/{image_id}/enhance", json=body)
        assert response.status_code == 404, response.text
    assert await balance(client) == 10


async def test_blend_uses_the_second_image(client: httpx.AsyncClient, app: FastAPI) -> None:
    await sign_in(client)
    target = await upload(client)
    source = await upload(client, picture(200, 200, color=(200, 20, 20)))
    job = (
        await client.post(f"/api/v1/images/{target}/enhance", json={"tier": "FREE", "sourceImageId": source})
    ).json()["job"]
    assert job["isBlend"] is True and job["sourceImageId"] == source
    await work(app)
    done = (await client.get(f"/api/v1/jobs/{job['id']}")).json()
    assert done["status"] == "COMPLETED"


async def test_jobs_are_private_to_their_owner(client: httpx.AsyncClient, app: FastAPI) -> None:
    await sign_in(client)
    image_id = await upload(client)
    job = (await client.post(f"/api/v1/images/{image_id}/enhance", json={"tier": "FREE"})).json()["job"]
    await work(app)
    await sign_in(client)
    for method, path in [
        ("GET", f"/api/v1/jobs/{job['id']}"),
        ("GET", f"/api/v1/jobs/{job['id']}/download"),
        ("GET", f"/api/v1/jobs/{job['id']}/events"),
        ("POST", f"/api/v1/jobs/{job['id']}/cancel"),
        ("GET", f"/api/v1/images/{image_id}/jobs"),
    ]:
        response = await client.request(method, path)
        assert response.status_code == 404, (path, response.status_code)


async def test_stage_history_is_recorded_in_order(
    client: httpx.AsyncClient, app: FastAPI, engine: AsyncEngine
) -> None:
    """The stream's source: each stage change NOTIFYs with the job's status and stage."""
    await sign_in(client)
    image_id = await upload(client)
    job = (await client.post(f"/api/v1/images/{image_id}/enhance", json={"tier": "FREE"})).json()["job"]
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    listener = await asyncpg.connect(url)
    heard: list[str] = []
    await listener.add_listener(EVENTS_CHANNEL, lambda *args: heard.append(args[3]))
    try:
        await work(app)
        for _ in range(100):  # notifications arrive asynchronously
            if any(" COMPLETED " in h for h in heard if h.startswith(job["id"])):
                break
            await asyncio.sleep(0.05)
    finally:
        await listener.close()
    mine = [h.split(" ", 1)[1] for h in heard if h.startswith(job["id"])]
    assert mine == [
        "PROCESSING ANALYZING",
        "PROCESSING CROPPING",
        "PROCESSING PROMPTING",
        "PROCESSING GENERATING",
        "COMPLETED ",
    ]


async def test_the_progress_stream_pushes_every_stage_and_the_end(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await sign_in(client)
    image_id = await upload(client)
    job = (await client.post(f"/api/v1/images/{image_id}/enhance", json={"tier": "TIER_1K"})).json()["job"]

    stream = asyncio.create_task(client.get(f"/api/v1/jobs/{job['id']}/events"))
    await asyncio.sleep(0.3)  # subscribed before the worker starts
    await work(app)
    response = await asyncio.wait_for(stream, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    assert events[0][0] == "status" and events[0][1]["status"] == "PENDING"
    stages = [data["stage"] for kind, data in events if kind == "stage" and data["status"] == "PROCESSING"]
    assert stages == ["ANALYZING", "CROPPING", "PROMPTING", "GENERATING"]
    last_kind, last = events[-1]
    assert last_kind == "status" and last["status"] == "COMPLETED" and last["enhancedWidth"] == 1024


async def test_the_stream_of_a_finished_job_is_its_final_state(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await sign_in(client)
    image_id = await upload(client)
    job = (await client.post(f"/api/v1/images/{image_id}/enhance", json={"tier": "FREE"})).json()["job"]
    await work(app)
    events = parse_sse((await client.get(f"/api/v1/jobs/{job['id']}/events")).text)
    assert [(kind, data["status"]) for kind, data in events] == [("status", "COMPLETED")]


async def test_deleting_an_image_refunds_its_unfinished_jobs_once(
    client: httpx.AsyncClient, app: FastAPI, engine: AsyncEngine
) -> None:
    user_id = (await sign_in(client)).id
    image_id = await upload(client)
    response = await client.post(f"/api/v1/images/{image_id}/enhance", json={"tier": "TIER_2K"})
    waiting = response.json()["job"]
    assert await balance(client) == 5
    assert (await client.delete(f"/api/v1/images/{image_id}")).status_code == 204
    assert await balance(client) == 10
    refunds = [r for r in await ledger_rows(engine, user_id) if r.type == TokenTransactionType.REFUND]
    assert [(r.source_id, r.amount) for r in refunds] == [(waiting["id"], 5)]
    await work(app)  # nothing left to run for it
    assert (await client.get(f"/api/v1/jobs/{waiting['id']}")).status_code == 404


async def test_an_idempotency_key_reused_for_another_enhancement_is_refused(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await sign_in(client)
    image_id, other_id = await upload(client), await upload(client)
    headers = {"Idempotency-Key": "enhance-one"}
    first = await client.post(f"/api/v1/images/{image_id}/enhance", json={"tier": "TIER_1K"}, headers=headers)
    assert first.status_code == 202, first.text
    for url, body in (
        (f"/api/v1/images/{image_id}/enhance", {"tier": "TIER_2K"}),
        (f"/api/v1/images/{other_id}/enhance", {"tier": "TIER_1K"}),
    ):
        refused = await client.post(url, json=body, headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "idempotency_key_reused"
    # A spend of the tokens API under the same key is another request too.
    spent = await client.post(
        "/api/v1/tokens/spend", json={"amount": 2, "purpose": "enhancement"}, headers=headers
    )
    assert spent.status_code == 422 and spent.json()["error"]["code"] == "idempotency_key_reused"
    assert await balance(client) == 8
    await work(app)
