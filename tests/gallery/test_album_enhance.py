"""Uploads into an album and album batch enhancement over HTTP: the album's tier and pipeline are
applied, each image is paid once, and a short balance leaves nothing behind (no job, no image row,
no stored file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from spikeland.db.engine import transaction
from spikeland.images.models import EnhancedImage, ImageEnhancementJob
from spikeland.integrations.storage.local import LocalStorage
from tests.support import http_client, sign_in
from tests.support.albums import API, add, image_ids, make_album, path_of
from tests.support.images import picture, upload, work


async def balance(client: httpx.AsyncClient) -> int:
    return int((await client.get(f"{API}/tokens/balance")).json()["balance"])


async def spends(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    items = (await client.get(f"{API}/tokens/transactions", params={"limit": 100})).json()["items"]
    return [t for t in items if t["type"] == "SPEND_ENHANCEMENT"]


async def count_rows(
    app: FastAPI, model: type[EnhancedImage] | type[ImageEnhancementJob], user_id: str
) -> int:
    async with transaction(app.state.sessionmaker) as session:
        return int(await session.scalar(select(func.count()).where(model.user_id == user_id)) or 0)


def stored_files(app: FastAPI, user_id: str) -> list[Path]:
    storage = app.state.storage
    assert isinstance(storage, LocalStorage)
    return [p for p in (storage.root / "users" / user_id).rglob("*") if p.is_file()]


async def post_upload(client: httpx.AsyncClient, album_id: str, data: bytes | None = None) -> httpx.Response:
    files = {"file": ("shot.jpg", data or picture(120, 90), "application/octet-stream")}
    return await client.post(f"{API}/albums/{album_id}/upload", files=files)


async def test_an_upload_takes_the_albums_tier_and_pipeline(app: FastAPI, client: httpx.AsyncClient) -> None:
    await sign_in(client)
    pipeline = (await client.post(f"{API}/pipelines", json={"name": "album look"})).json()
    album = await make_album(client, defaultTier="TIER_2K", pipelineId=pipeline["id"])

    response = await post_upload(client, album["id"])
    assert response.status_code == 201, response.text
    body = response.json()
    job = body["job"]
    assert (job["tier"], job["pipelineId"], job["tokensCost"]) == ("TIER_2K", pipeline["id"], 5)
    assert job["imageId"] == body["image"]["id"] and job["status"] == "PENDING"
    assert body["balance"] == 5 == await balance(client)
    assert await image_ids(client, album["id"]) == [body["image"]["id"]]
    assert [s["metadata"]["jobId"] for s in await spends(client)] == [job["id"]]

    await work(app)
    assert (await client.get(f"{API}/jobs/{job['id']}")).json()["status"] == "COMPLETED"
    # The finished enhancement shows in the album, and its file opens through the album.
    item = (await client.get(f"{API}/albums/{album['id']}/images")).json()["items"][0]
    assert item["image"]["latestEnhancement"]["tier"] == "TIER_2K"
    enhanced = await client.get(path_of(item["enhancedDownloadUrl"]))
    assert enhanced.status_code == 200 and enhanced.headers["content-type"] == "image/jpeg"


async def test_an_upload_the_balance_cannot_pay_keeps_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user_id = (await sign_in(client)).id
    album = await make_album(client, defaultTier="TIER_4K")
    assert (await post_upload(client, album["id"])).status_code == 201  # 10 of 10 tokens
    assert len(stored_files(app, user_id)) == 1

    refused = await post_upload(client, album["id"], picture(90, 120))
    assert refused.status_code == 402, refused.text
    assert refused.json()["error"]["code"] == "insufficient_tokens"
    assert await count_rows(app, EnhancedImage, user_id) == 1
    assert await count_rows(app, ImageEnhancementJob, user_id) == 1
    assert len(stored_files(app, user_id)) == 1  # the refused upload's file was removed
    assert len(await image_ids(client, album["id"])) == 1
    assert await balance(client) == 0


async def test_a_free_album_uploads_at_no_cost(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client, defaultTier="FREE")
    response = await post_upload(client, album["id"])
    assert response.status_code == 201, response.text
    assert response.json()["job"]["tier"] == "FREE" and response.json()["balance"] == 10


async def test_upload_into_another_users_album_is_404_and_stores_nothing(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await sign_in(client)
    album = await make_album(client)
    async with http_client(app) as stranger:
        stranger_id = (await sign_in(stranger)).id
        assert (await post_upload(stranger, album["id"])).status_code == 404
        assert stored_files(app, stranger_id) == []


async def test_album_batch_enhance_charges_each_image_once(app: FastAPI, client: httpx.AsyncClient) -> None:
    await sign_in(client)
    pipeline = (await client.post(f"{API}/pipelines", json={"name": "batch look"})).json()
    album = await make_album(client, defaultTier="TIER_1K", pipelineId=pipeline["id"])
    ids = [await upload(client, picture(60 + i, 40)) for i in range(3)]
    await add(client, album["id"], *ids)

    response = await client.post(f"{API}/albums/{album['id']}/enhance", json={})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["totalCost"] == 6 and body["balance"] == 4 == await balance(client)
    jobs = body["jobs"]
    assert [j["imageId"] for j in jobs] == ids  # in the album's order
    assert {(j["tier"], j["pipelineId"], j["tokensCost"]) for j in jobs} == {("TIER_1K", pipeline["id"], 2)}
    ledger = await spends(client)
    assert sorted(s["metadata"]["jobId"] for s in ledger) == sorted(j["id"] for j in jobs)
    assert all(s["amount"] == -2 and s["metadata"]["tier"] == "TIER_1K" for s in ledger)
    assert (await client.get(f"{API}/pipelines/{pipeline['id']}")).json()["usageCount"] == 3

    # 6 more do not fit in 4: nothing is queued or charged.
    refused = await client.post(f"{API}/albums/{album['id']}/enhance")
    assert refused.status_code == 402
    assert refused.json()["error"]["details"] == {"required": 6, "available": 4}
    assert await balance(client) == 4 and len(await spends(client)) == 3
    for image_id in ids:
        assert len((await client.get(f"{API}/images/{image_id}/jobs")).json()["items"]) == 1

    # A tier in the body overrides the album's.
    free = await client.post(f"{API}/albums/{album['id']}/enhance", json={"tier": "FREE"})
    assert free.status_code == 202 and {j["tier"] for j in free.json()["jobs"]} == {"FREE"}
    assert free.json()["totalCost"] == 0 and free.json()["balance"] == 4
    await work(app)
    for job in [*jobs, *free.json()["jobs"]]:
        assert (await client.get(f"{API}/jobs/{job['id']}")).json()["status"] == "COMPLETED"


async def test_album_batch_enhance_with_an_idempotency_key_runs_once(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client)
    await add(client, album["id"], await upload(client), await upload(client))
    headers = {"Idempotency-Key": "album-once"}
    first = await client.post(f"{API}/albums/{album['id']}/enhance", headers=headers)
    again = await client.post(f"{API}/albums/{album['id']}/enhance", headers=headers)
    assert first.status_code == again.status_code == 202
    assert [j["id"] for j in first.json()["jobs"]] == [j["id"] for j in again.json()["jobs"]]
    assert await balance(client) == 6 and len(await spends(client)) == 2


async def test_album_batch_enhance_needs_images(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client)
    empty = await client.post(f"{API}/albums/{album['id']}/enhance")
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "album_empty"


async def test_album_batch_enhance_with_a_reused_key_and_another_tier_is_refused(
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client)
    album = await make_album(client)
    await add(client, album["id"], await upload(client))
    headers = {"Idempotency-Key": "album-tier"}
    first = await client.post(
        f"{API}/albums/{album['id']}/enhance", json={"tier": "TIER_1K"}, headers=headers
    )
    assert first.status_code == 202, first.text
    other = await client.post(
        f"{API}/albums/{album['id']}/enhance", json={"tier": "TIER_2K"}, headers=headers
    )
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"
    assert await balance(client) == 8 and len(await spends(client)) == 1
