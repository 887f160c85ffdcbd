"""The image CRUD over HTTP: uploads (and what refused ones leave behind), reading, listing, editing,
public reads and view counts, share links, downloads, deletion, and another user's 404s."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image
from sqlalchemy import func, select

from spikeland.db.engine import transaction
from spikeland.db.enums import EnhancementTier, JobStatus
from spikeland.images.models import EnhancedImage, ImageEnhancementJob
from spikeland.integrations.storage import enhanced_key
from spikeland.integrations.storage.local import LocalStorage
from spikeland.settings import Settings
from tests.support import http_client, sign_in
from tests.support.images import app_with
from tests.support.statements import statements_sent

API = "/api/v1"
PASSWORD = "long enough password"


def picture(fmt: str, size: tuple[int, int] = (24, 16), color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


def noise_png(side: int = 64) -> bytes:
    out = io.BytesIO()
    Image.merge("RGB", [Image.effect_noise((side, side), 80) for _ in range(3)]).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
async def clients(app: FastAPI) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Three clients on the app: two to sign in as different users, one that stays anonymous."""
    async with AsyncExitStack() as stack:
        yield [await stack.enter_async_context(http_client(app)) for _ in range(3)]


async def upload(
    client: httpx.AsyncClient, data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg"
) -> httpx.Response:
    return await client.post(f"{API}/images", files={"file": (filename, data, content_type)})


async def uploaded(
    client: httpx.AsyncClient, fmt: str = "JPEG", filename: str = "photo.jpg"
) -> dict[str, Any]:
    response = await upload(client, picture(fmt), filename)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def storage_root(app: FastAPI) -> Path:
    storage = app.state.storage
    assert isinstance(storage, LocalStorage)
    return storage.root


def stored_files(root: Path, user_id: str) -> list[Path]:
    return [p for p in (root / "users" / user_id).rglob("*") if p.is_file()]


async def image_rows(app: FastAPI, user_id: str) -> int:
    async with transaction(app.state.sessionmaker) as session:
        count = await session.scalar(
            select(func.count()).select_from(EnhancedImage).where(EnhancedImage.user_id == user_id)
        )
    return int(count or 0)


async def completed_job(app: FastAPI, image_id: str, user_id: str, tier: EnhancementTier) -> str:
    """A finished enhancement of the image, as the worker leaves it: the row and its JPEG."""
    async with transaction(app.state.sessionmaker) as session:
        job = ImageEnhancementJob(
            image_id=image_id,
            user_id=user_id,
            tier=tier,
            tokens_cost=2,
            status=JobStatus.COMPLETED,
            enhanced_width=48,
            enhanced_height=32,
        )
        session.add(job)
        await session.flush()
        job.enhanced_r2_key = enhanced_key(user_id, job.id)
        job.enhanced_url = f"http://test/api/v1/jobs/{job.id}/download"
        job_id, key = job.id, job.enhanced_r2_key
    await app.state.storage.put(key, picture("JPEG", (48, 32)), "image/jpeg")
    return job_id


@pytest.mark.parametrize(
    ("fmt", "filename", "content_type", "ext"),
    [
        ("JPEG", "holiday.jpg", "image/jpeg", "jpg"),
        ("PNG", "diagram.png", "image/png", "png"),
        ("WEBP", "sticker.webp", "image/webp", "webp"),
    ],
)
async def test_upload_stores_row_and_file(
    app: FastAPI, client: httpx.AsyncClient, fmt: str, filename: str, content_type: str, ext: str
) -> None:
    user_id = (await sign_in(client)).id
    data = picture(fmt)
    created = await upload(client, data, filename, "application/octet-stream")
    assert created.status_code == 201, created.text
    image = created.json()
    assert image["name"] == filename
    assert image["originalFormat"] == fmt.lower()
    assert (image["originalWidth"], image["originalHeight"]) == (24, 16)
    assert image["originalSizeBytes"] == len(data)
    assert image["isPublic"] is False and image["viewCount"] == 0 and image["latestEnhancement"] is None
    assert image["originalUrl"] == f"{app.state.settings.public_url}/api/v1/images/{image['id']}/original"

    stored = storage_root(app) / "users" / user_id / "originals" / f"{image['id']}.{ext}"
    assert stored.read_bytes() == data
    read = await client.get(f"{API}/images/{image['id']}")
    assert read.status_code == 200 and read.json()["id"] == image["id"]

    original = await client.get(f"{API}/images/{image['id']}/original")
    assert original.status_code == 200
    assert original.content == data
    assert original.headers["content-type"] == content_type
    stem = filename.rsplit(".", 1)[0]
    assert original.headers["content-disposition"] == f'inline; filename="{stem}.{ext}"'
    assert original.headers["cache-control"] == "private"


async def test_refused_files_leave_nothing_behind(app: FastAPI, client: httpx.AsyncClient) -> None:
    user_id = (await sign_in(client)).id
    empty = await upload(client, b"")
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "empty_file"
    text = await upload(client, b"just some text, not a picture\n" * 10, "notes.jpg")
    assert text.status_code == 415 and text.json()["error"]["code"] == "unsupported_image_type"
    jpeg = picture("JPEG", (64, 64))
    truncated = await upload(client, jpeg[: len(jpeg) // 2])
    assert truncated.status_code == 422 and truncated.json()["error"]["code"] == "invalid_image"
    no_file = await client.post(f"{API}/images", data={"other": "x"})
    assert no_file.status_code == 422

    assert (await client.get(f"{API}/images")).json() == {"items": [], "nextCursor": None}
    assert await image_rows(app, user_id) == 0
    assert stored_files(storage_root(app), user_id) == []


async def test_upload_over_the_size_limit_is_413(settings: Settings, database_url: str) -> None:
    data = noise_png()
    async with app_with(settings, database_url, upload_max_bytes=len(data) - 1) as (app, client):
        user_id = (await sign_in(client)).id
        refused = await upload(client, data, "big.png", "image/png")
        assert refused.status_code == 413 and refused.json()["error"]["code"] == "file_too_large"
        assert await image_rows(app, user_id) == 0
        assert stored_files(storage_root(app), user_id) == []
        small = await upload(client, picture("PNG"), "small.png", "image/png")
        assert small.status_code == 201


async def test_uploads_are_rate_limited_per_user(settings: Settings, database_url: str) -> None:
    async with app_with(settings, database_url, uploads_per_minute=2) as (_, client):
        await sign_in(client)
        for _ in range(2):
            assert (await upload(client, picture("JPEG"))).status_code == 201
        limited = await upload(client, picture("JPEG"))
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        # Someone else is not held back by this user's uploads.
        client.cookies.clear()
        await sign_in(client)
        assert (await upload(client, picture("JPEG"))).status_code == 201


async def test_upload_when_the_store_fails_is_503_without_a_row(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    user_id = (await sign_in(client)).id
    # A plain file where the user's directory would go: the store cannot write under it.
    blocker = storage_root(app) / "users" / user_id
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_bytes(b"in the way")
    failed = await upload(client, picture("JPEG"))
    assert failed.status_code == 503 and failed.json()["error"]["code"] == "storage_unavailable"
    assert await image_rows(app, user_id) == 0


async def test_list_is_newest_first_in_pages(
    client: httpx.AsyncClient, clients: list[httpx.AsyncClient]
) -> None:
    await sign_in(client)
    ids = [(await uploaded(client, filename=f"n{i}.jpg"))["id"] for i in range(3)]
    other = clients[0]
    await sign_in(other)
    await uploaded(other)

    first = (await client.get(f"{API}/images", params={"limit": 2})).json()
    assert [i["id"] for i in first["items"]] == [ids[2], ids[1]] and first["nextCursor"]
    rest = (await client.get(f"{API}/images", params={"limit": 2, "cursor": first["nextCursor"]})).json()
    assert [i["id"] for i in rest["items"]] == [ids[0]] and rest["nextCursor"] is None
    everything = (await client.get(f"{API}/images")).json()
    assert [i["id"] for i in everything["items"]] == ids[::-1]

    bad = await client.get(f"{API}/images", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cursor"
    assert (await client.get(f"{API}/images", params={"limit": 101})).status_code == 422
    client.cookies.clear()
    assert (await client.get(f"{API}/images")).status_code == 401


async def test_a_page_with_enhancements_is_one_query(app: FastAPI, client: httpx.AsyncClient) -> None:
    user_id = (await sign_in(client)).id
    ids = [(await uploaded(client))["id"] for _ in range(3)]
    jobs = [await completed_job(app, image_id, user_id, EnhancementTier.TIER_1K) for image_id in ids]
    async with statements_sent(app) as statements:
        await client.get(f"{API}/images")  # a new connection first learns the enum types
        statements.clear()
        page = (await client.get(f"{API}/images")).json()
    assert [i["latestEnhancement"]["jobId"] for i in page["items"]] == jobs[::-1]
    assert len([s for s in statements if "image_enhancement_jobs" in s]) == 1
    assert len(statements) == 2  # the session's owner, the page (no BEGIN: it only reads)


async def test_rename_and_describe(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    image_id = (await uploaded(client))["id"]
    url = f"{API}/images/{image_id}"

    renamed = await client.patch(url, json={"name": "  Holiday 2024  ", "description": "Beach\nday"})
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "Holiday 2024" and renamed.json()["description"] == "Beach\nday"
    kept = (await client.patch(url, json={"isPublic": False})).json()
    assert kept["name"] == "Holiday 2024" and kept["description"] == "Beach\nday"
    cleared = (await client.patch(url, json={"description": None})).json()
    assert cleared["description"] is None and cleared["name"] == "Holiday 2024"
    assert cleared["updatedAt"] >= renamed.json()["updatedAt"]

    for body in (
        {"name": ""},
        {"name": "   "},
        {"name": None},
        {"name": "x" * 256},
        {"name": "bad\x00name"},
        {"name": "line\nbreak"},
        {"description": "x" * 2001},
        {"description": "nul\x00"},
        {"isPublic": None},
    ):
        refused = await client.patch(url, json=body)
        assert refused.status_code == 422, body
    assert (await client.get(url)).json()["name"] == "Holiday 2024"
    assert (await client.patch(url, json={"name": "x" * 255})).status_code == 200


async def test_public_images_are_readable_by_anyone_and_count_views(
    client: httpx.AsyncClient, clients: list[httpx.AsyncClient]
) -> None:
    other, anonymous = clients[0], clients[2]
    await sign_in(client)
    await sign_in(other)
    image_id = (await uploaded(client))["id"]
    url = f"{API}/images/{image_id}"
    await client.post(f"{url}/share")

    for caller in (other, anonymous):
        hidden = await caller.get(url)
        assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "image_not_found"
        assert (await caller.get(f"{url}/original")).status_code == 404

    assert (await client.patch(url, json={"isPublic": True})).json()["isPublic"] is True
    seen = await anonymous.get(url)
    assert seen.status_code == 200 and seen.json()["viewCount"] == 1
    assert seen.json()["shareToken"] is None  # the owner's link is not handed out
    assert (await other.get(url)).json()["viewCount"] == 2
    own = (await client.get(url)).json()
    assert own["viewCount"] == 2 and own["shareToken"]  # the owner's reads are not views
    public_file = await anonymous.get(f"{url}/original")
    assert public_file.status_code == 200 and public_file.headers["content-type"] == "image/jpeg"

    await client.patch(url, json={"isPublic": False})
    assert (await anonymous.get(url)).status_code == 404
    assert (await anonymous.get(f"{url}/original")).status_code == 404


async def test_share_link_flow(
    app: FastAPI, client: httpx.AsyncClient, clients: list[httpx.AsyncClient]
) -> None:
    anonymous = clients[2]
    user_id = (await sign_in(client)).id
    image = await uploaded(client, filename="My café photo.jpg")
    image_url = f"{API}/images/{image['id']}"

    shared = await client.post(f"{image_url}/share")
    assert shared.status_code == 200
    token = shared.json()["shareToken"]
    assert len(token) >= 12
    assert shared.json()["shareUrl"] == f"{app.state.settings.public_url}/share/{token}"
    assert (await client.post(f"{image_url}/share")).json()["shareToken"] == token

    opened = await anonymous.get(f"{API}/share/{token}")
    assert opened.status_code == 200
    body = opened.json()
    assert body["type"] == "image" and body["image"]["id"] == image["id"]
    assert body["image"]["viewCount"] == 1 and body["image"]["shareToken"] is None
    assert body["originalDownloadUrl"].endswith(f"/api/v1/share/{token}/original")
    assert body["enhancedDownloadUrl"] is None
    original = await anonymous.get(f"{API}/share/{token}/original")
    assert original.status_code == 200 and original.headers["content-type"] == "image/jpeg"
    assert original.headers["content-disposition"] == 'inline; filename="My_caf_photo_original.jpg"'
    none_yet = await anonymous.get(f"{API}/share/{token}/enhanced")
    assert none_yet.status_code == 404 and none_yet.json()["error"]["code"] == "enhancement_not_found"

    await completed_job(app, image["id"], user_id, EnhancementTier.TIER_1K)
    newest = await completed_job(app, image["id"], user_id, EnhancementTier.TIER_2K)
    latest = (await anonymous.get(f"{API}/share/{token}")).json()["image"]["latestEnhancement"]
    assert latest["jobId"] == newest and latest["tier"] == "TIER_2K" and latest["width"] == 48
    enhanced = await anonymous.get(f"{API}/share/{token}/enhanced")
    assert enhanced.status_code == 200 and enhanced.headers["content-type"] == "image/jpeg"
    assert enhanced.headers["content-disposition"] == 'inline; filename="My_caf_photo_enhanced_2k.jpg"'
    assert Image.open(io.BytesIO(enhanced.content)).size == (48, 32)
    assert (await client.get(image_url)).json()["latestEnhancement"]["jobId"] == newest
    assert (await client.get(f"{API}/images")).json()["items"][0]["latestEnhancement"]["jobId"] == newest

    assert (await client.delete(f"{image_url}/share")).status_code == 204
    for path in ("", "/original", "/enhanced"):
        gone = await anonymous.get(f"{API}/share/{token}{path}")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "share_not_found"
    again = (await client.post(f"{image_url}/share")).json()["shareToken"]
    assert again != token
    assert (await anonymous.get(f"{API}/share/{again}")).status_code == 200
    for unknown in ("doesnotexist1234", "x" * 300, "bad token!"):
        assert (await anonymous.get(f"{API}/share/{unknown}")).status_code == 404


async def test_share_pages_are_rate_limited_per_ip(client: httpx.AsyncClient) -> None:
    for _ in range(100):
        assert (await client.get(f"{API}/share/unknowntoken0000")).status_code == 404
    limited = await client.get(f"{API}/share/unknowntoken0000/original")
    assert limited.status_code == 429 and "retry-after" in limited.headers


async def test_delete_removes_row_jobs_and_files(app: FastAPI, client: httpx.AsyncClient) -> None:
    user_id = (await sign_in(client)).id
    image = await uploaded(client)
    kept = await uploaded(client)
    job_id = await completed_job(app, image["id"], user_id, EnhancementTier.TIER_1K)
    root = storage_root(app)
    assert len(stored_files(root, user_id)) == 3

    deleted = await client.delete(f"{API}/images/{image['id']}")
    assert deleted.status_code == 204
    assert (await client.get(f"{API}/images/{image['id']}")).status_code == 404
    assert await image_rows(app, user_id) == 1
    async with transaction(app.state.sessionmaker) as session:
        assert await session.get(ImageEnhancementJob, job_id) is None
    assert [p.name for p in stored_files(root, user_id)] == [f"{kept['id']}.jpg"]
    assert (await client.delete(f"{API}/images/{image['id']}")).status_code == 404


async def test_another_user_gets_404_on_every_owner_endpoint(
    client: httpx.AsyncClient, clients: list[httpx.AsyncClient]
) -> None:
    other = clients[0]
    await sign_in(client)
    await sign_in(other)
    image_id = (await uploaded(client))["id"]
    url = f"{API}/images/{image_id}"
    await client.post(f"{url}/share")

    async def refused_everywhere(include_reads: bool) -> None:
        calls: list[tuple[str, str, dict[str, Any]]] = [
            ("PATCH", url, {"json": {"name": "mine now"}}),
            ("DELETE", url, {}),
            ("POST", f"{url}/share", {}),
            ("DELETE", f"{url}/share", {}),
        ]
        if include_reads:
            calls += [("GET", url, {}), ("GET", f"{url}/original", {})]
        for method, path, options in calls:
            response = await other.request(method, path, **options)
            assert response.status_code == 404, (method, path)
            assert response.json()["error"]["code"] == "image_not_found"

    await refused_everywhere(include_reads=True)
    await client.patch(url, json={"isPublic": True})
    await refused_everywhere(include_reads=False)  # public means readable, not writable
    own = (await client.get(url)).json()
    assert own["name"] == "photo.jpg" and own["shareToken"]
    assert (await other.get(f"{API}/images")).json()["items"] == []
