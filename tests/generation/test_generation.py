"""Generation jobs over HTTP: pay and queue, at most three unfinished, processed by the worker
through the local renderer, refunded once on failure, private to their owner."""

from __future__ import annotations

import asyncio
import base64
import io

import httpx
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from spikeland.db.engine import make_sessionmaker
from spikeland.tokens.models import TokenTransaction, TokenTransactionType
from tests.support import http_client, sign_in
from tests.support.images import picture, upload, work


async def balance(client: httpx.AsyncClient) -> int:
    return int((await client.get("/api/v1/tokens/balance")).json()["balance"])


async def ledger_for(engine: AsyncEngine, job_id: str) -> list[TokenTransaction]:
    async with make_sessionmaker(engine)() as session:
        rows = await session.scalars(
            select(TokenTransaction).where(TokenTransaction.source_id == job_id).order_by("createdAt")
        )
        return list(rows)


async def test_generate_with_an_api_key_renders_at_the_tier_size(
    client: httpx.AsyncClient, app: FastAPI, engine: AsyncEngine
) -> None:
    await sign_in(client)
    key = (await client.post("/api/v1/api-keys", json={"name": "mcp"})).json()
    async with http_client(app) as agent:
        agent.headers["Authorization"] = f"Bearer {key['key']}"
        response = await agent.post("/api/v1/generation/generate", json={"prompt": "a red fox at sunset"})
        assert response.status_code == 202, response.text
        job = response.json()["job"]
        assert job["type"] == "GENERATE" and job["tier"] == "TIER_1K" and job["tokensCost"] == 2
        assert job["apiKeyId"] == key["id"] and response.json()["balance"] == 8
        await work(app)
        done = (await agent.get(f"/api/v1/generation/jobs/{job['id']}")).json()
        assert done["status"] == "COMPLETED", done
        assert done["geminiModel"] == "local-render"  # the local renderer says what it is
        assert (done["outputWidth"], done["outputHeight"]) == (1024, 1024)
        image = await agent.get(f"/api/v1/generation/jobs/{job['id']}/image")
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        assert Image.open(io.BytesIO(image.content)).size == (1024, 1024)
        assert len(image.content) == done["outputSizeBytes"]
    assert [r.type for r in await ledger_for(engine, job["id"])] == [
        TokenTransactionType.SPEND_MCP_GENERATION
    ]


async def test_four_at_once_three_accepted_one_refused(client: httpx.AsyncClient, app: FastAPI) -> None:
    await sign_in(client)
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/generation/generate", json={"prompt": f"p{i}", "tier": "FREE"})
            for i in range(4)
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [202, 202, 202, 429], [r.text for r in responses]
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.json()["error"]["code"] == "too_many_generation_jobs"
    history = (await client.get("/api/v1/generation/jobs")).json()["items"]
    assert len(history) == 3
    await work(app)  # once they end, new ones are accepted
    again = await client.post("/api/v1/generation/generate", json={"prompt": "next", "tier": "FREE"})
    assert again.status_code == 202
    await work(app)


async def test_a_short_balance_is_402_and_no_job(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    response = await client.post("/api/v1/generation/generate", json={"prompt": "big", "tier": "TIER_4K"})
    assert response.status_code == 202  # 10 of 10 tokens
    refused = await client.post("/api/v1/generation/generate", json={"prompt": "more", "tier": "TIER_1K"})
    assert refused.status_code == 402 and refused.json()["error"]["details"] == {
        "required": 2,
        "available": 0,
    }
    assert len((await client.get("/api/v1/generation/jobs")).json()["items"]) == 1


async def test_modify_an_own_image_or_an_inline_one(client: httpx.AsyncClient, app: FastAPI) -> None:
    await sign_in(client)
    image_id = await upload(client, picture(300, 200))
    by_id = await client.post(
        "/api/v1/generation/modify", json={"prompt": "black and white", "imageId": image_id, "tier": "FREE"}
    )
    inline = await client.post(
        "/api/v1/generation/modify",
        json={"prompt": "flip", "imageBase64": base64.b64encode(picture(120, 80, fmt="PNG")).decode()},
    )
    assert by_id.status_code == inline.status_code == 202, (by_id.text, inline.text)
    await work(app)
    first = (await client.get(f"/api/v1/generation/jobs/{by_id.json()['job']['id']}")).json()
    second = (await client.get(f"/api/v1/generation/jobs/{inline.json()['job']['id']}")).json()
    assert first["status"] == second["status"] == "COMPLETED"
    assert (first["outputWidth"], first["outputHeight"]) == (1024, 683)  # the input's aspect
    assert (second["outputWidth"], second["outputHeight"]) == (1024, 683)
    kept = await client.get(f"/api/v1/generation/jobs/{second['id']}/input")
    assert kept.status_code == 200 and kept.headers["content-type"] == "image/png"

    for body in (
        {"prompt": "x"},  # no image
        {"prompt": "x", "imageId": image_id, "imageBase64": "AAAA"},  # two images
        {"prompt": "x", "imageBase64": "not base64!"},
        {"prompt": "", "imageId": image_id},
        {"prompt": "x" * 4001, "imageId": image_id},
    ):
        response = await client.post("/api/v1/generation/modify", json=body)
        assert response.status_code == 422, (body, response.text)
    text = base64.b64encode(b"just some text, not an image").decode()
    response = await client.post("/api/v1/generation/modify", json={"prompt": "x", "imageBase64": text})
    assert response.status_code == 415


async def test_a_failed_job_is_refunded_once(
    client: httpx.AsyncClient, app: FastAPI, engine: AsyncEngine
) -> None:
    await sign_in(client)
    image_id = await upload(client)
    job = (
        await client.post(
            "/api/v1/generation/modify", json={"prompt": "sepia", "imageId": image_id, "tier": "TIER_2K"}
        )
    ).json()["job"]
    assert await balance(client) == 5
    assert (await client.delete(f"/api/v1/images/{image_id}")).status_code == 204  # its input is gone
    await work(app)
    done = (await client.get(f"/api/v1/generation/jobs/{job['id']}")).json()
    assert done["status"] == "REFUNDED" and "missing" in done["errorMessage"]
    assert await balance(client) == 10
    rows = await ledger_for(engine, job["id"])
    assert sorted(r.type.value for r in rows) == ["REFUND", "SPEND_MCP_GENERATION"]
    assert (await client.get(f"/api/v1/generation/jobs/{job['id']}/image")).status_code == 404


async def test_jobs_are_private_to_their_owner(client: httpx.AsyncClient, app: FastAPI) -> None:
    await sign_in(client)
    job = (await client.post("/api/v1/generation/generate", json={"prompt": "mine", "tier": "FREE"})).json()[
        "job"
    ]
    await work(app)
    mine = await upload(client)
    await sign_in(client)
    for path in ("", "/image", "/input"):
        assert (await client.get(f"/api/v1/generation/jobs/{job['id']}{path}")).status_code == 404
    assert (await client.get("/api/v1/generation/jobs")).json()["items"] == []
    stolen = await client.post("/api/v1/generation/modify", json={"prompt": "x", "imageId": mine})
    assert stolen.status_code == 404
    anonymous = await client.post(
        "/api/v1/generation/generate", json={"prompt": "x"}, headers={"Authorization": "Bearer sk_live_nope"}
    )
    assert anonymous.status_code == 401
