"""Visitors without an account: upload, FREE enhancement, progress and download, limited per IP."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI
from PIL import Image

from spikeland.app import body_cap
from spikeland.images.jobs import ANONYMOUS_USER_ID
from spikeland.settings import Settings
from tests.support import sign_in
from tests.support.images import app_with, picture, upload, work


async def anonymous_upload(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post("/api/v1/anonymous/images", files={"file": ("me.png", picture(fmt="PNG"))})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_a_visitor_uploads_and_enhances_for_free(client: httpx.AsyncClient, app: FastAPI) -> None:
    uploaded = await anonymous_upload(client)
    assert len(uploaded["shareToken"]) >= 12 and uploaded["shareUrl"].endswith(uploaded["shareToken"])
    shared = await client.get(f"/api/v1/share/{uploaded['shareToken']}")
    assert shared.status_code == 200

    response = await client.post(
        f"/api/v1/anonymous/images/{uploaded['imageId']}/enhance", json={"shareToken": uploaded["shareToken"]}
    )
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["isAnonymous"] is True and job["tier"] == "FREE" and job["tokensCost"] == 0
    await work(app)

    done = (await client.get(f"/api/v1/jobs/{job['id']}")).json()
    assert done["status"] == "COMPLETED"
    output = await client.get(f"/api/v1/jobs/{job['id']}/download")
    assert output.status_code == 200
    assert Image.open(io.BytesIO(output.content)).format == "JPEG"

    # Anyone with the id may read an anonymous job — but not change it.
    await sign_in(client)
    assert (await client.get(f"/api/v1/jobs/{job['id']}")).status_code == 200
    assert (await client.post(f"/api/v1/jobs/{job['id']}/cancel")).status_code == 404


async def test_without_the_share_token_there_is_nothing_to_enhance(client: httpx.AsyncClient) -> None:
    uploaded = await anonymous_upload(client)
    for token in ("wrong-token-123456", ""):
        response = await client.post(
            f"/api/v1/anonymous/images/{uploaded['imageId']}/enhance", json={"shareToken": token}
        )
        assert response.status_code in (404, 422)
    # A member's image is not an anonymous upload, even with its share token.
    await sign_in(client)
    image_id = await upload(client)
    token = (await client.post(f"/api/v1/images/{image_id}/share")).json()["shareToken"]
    client.cookies.clear()
    refused = await client.post(f"/api/v1/anonymous/images/{image_id}/enhance", json={"shareToken": token})
    assert refused.status_code == 404
    # Anonymous uploads are private: not readable by id.
    assert (await client.get(f"/api/v1/images/{uploaded['imageId']}")).status_code == 404


async def test_visitors_are_limited_per_ip(settings: Settings, database_url: str) -> None:
    async with app_with(settings, database_url, anonymous_enhancements_per_minute=1) as (_app, client):
        await anonymous_upload(client)
        limited = await client.post("/api/v1/anonymous/images", files={"file": ("a.png", picture(fmt="PNG"))})
        assert limited.status_code == 429 and "retry-after" in limited.headers


async def test_the_anonymous_owner_is_a_system_user(client: httpx.AsyncClient) -> None:
    await anonymous_upload(client)
    await anonymous_upload(client)  # created once, reused
    assert ANONYMOUS_USER_ID == "anonymous-system-user"


async def test_a_body_over_the_cap_is_refused_before_it_is_read(
    settings: Settings, database_url: str
) -> None:
    async with app_with(settings, database_url, upload_max_bytes=1000) as (_app, client):
        cap = body_cap(settings.model_copy(update={"upload_max_bytes": 1000}))
        declared = await client.post("/api/v1/anonymous/images", content=b"x" * (cap + 1))
        assert declared.status_code == 413 and declared.json()["error"]["code"] == "payload_too_large"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
            yield b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
            for _ in range(cap // 65536 + 2):
                yield b"y" * 65536

        streamed = await client.post(
            "/api/v1/anonymous/images",
            content=chunks(),
            headers={"content-type": "multipart/form-data; boundary=xyz"},
        )
        assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "payload_too_large"
