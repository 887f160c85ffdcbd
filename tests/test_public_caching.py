"""HTTP caching of the public reads everyone sees (gallery, public albums, featured gallery,
catalogue): an ETag stable for the same content and new for new content, 304 on If-None-Match,
``Cache-Control`` public only where the answer is the same for everyone; none on private reads."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.support import http_client, sign_in
from tests.support.albums import API, add, make_album
from tests.support.images import upload


async def fetch(client: httpx.AsyncClient, path: str, **params: object) -> httpx.Response:
    answer = await client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    assert answer.headers["etag"]
    return answer


async def revalidate(client: httpx.AsyncClient, path: str, etag: str, **params: object) -> httpx.Response:
    return await client.get(path, params=params, headers={"If-None-Match": etag})


async def assert_304(client: httpx.AsyncClient, path: str, answer: httpx.Response, **params: object) -> None:
    again = await revalidate(client, path, answer.headers["etag"], **params)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == answer.headers["etag"]
    assert again.headers["cache-control"] == answer.headers["cache-control"]
    stale = await revalidate(client, path, '"not-this-one"', **params)
    assert stale.status_code == 200 and stale.json() == answer.json()


@pytest.mark.parametrize(
    "path", ["/api/v1/billing/packages", "/api/v1/billing/plans", f"{API}/gallery/featured"]
)
async def test_catalogue_and_featured_gallery(client: httpx.AsyncClient, path: str) -> None:
    answer = await fetch(client, path)
    assert answer.headers["cache-control"] == "public, max-age=60"
    assert (await fetch(client, path)).headers["etag"] == answer.headers["etag"]
    await assert_304(client, path, answer)


async def test_public_images(app: FastAPI, client: httpx.AsyncClient) -> None:
    await sign_in(client)
    first, second = await upload(client), await upload(client)
    assert (await client.patch(f"{API}/images/{first}", json={"isPublic": True})).status_code == 200
    path = f"{API}/gallery/images"
    async with http_client(app) as anonymous:
        answer = await fetch(anonymous, path, limit=5)
        assert answer.headers["cache-control"] == "public, max-age=30"
        assert "vary" not in answer.headers  # the same answer for everyone
        await assert_304(anonymous, path, answer, limit=5)

        assert (await client.patch(f"{API}/images/{second}", json={"isPublic": True})).status_code == 200
        # The first page is kept in process a few seconds: the same answer until it expires.
        assert (await fetch(anonymous, path, limit=5)).headers["etag"] == answer.headers["etag"]
        app.state.gallery_first_page.clear()
        changed = await fetch(anonymous, path, limit=5)
        assert changed.headers["etag"] != answer.headers["etag"]
        assert changed.json()["items"][0]["id"] == second
        assert (await revalidate(anonymous, path, answer.headers["etag"], limit=5)).status_code == 200

        # A deeper page is not kept: it reads the database every time.
        cursor = (await fetch(anonymous, path, limit=1)).json()["nextCursor"]
        deeper = await fetch(anonymous, path, limit=1, cursor=cursor)
        assert deeper.json()["items"][0]["id"] == first
        await assert_304(anonymous, path, deeper, limit=1, cursor=cursor)


async def test_public_albums(app: FastAPI, client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client, privacy="PUBLIC")
    await add(client, album["id"], await upload(client))
    listing, page, images = (
        f"{API}/gallery/albums",
        f"{API}/albums/{album['id']}",
        f"{API}/albums/{album['id']}/images",
    )
    async with http_client(app) as anonymous:
        answer = await fetch(anonymous, listing)
        assert answer.headers["cache-control"] == "public, max-age=30"
        await assert_304(anonymous, listing, answer)

        for path in (page, images):
            seen = await fetch(anonymous, path)
            assert seen.headers["cache-control"] == "public, max-age=30"
            assert seen.headers["vary"] == "Authorization, Cookie"  # the owner is answered differently
            await assert_304(anonymous, path, seen)
            # The owner's view (with the share link) is personal: private, revalidated each time.
            own = await fetch(client, path)
            assert own.headers["cache-control"] == "private, no-cache"
            assert own.headers["vary"] == "Authorization, Cookie"
            await assert_304(client, path, own)

        before = await fetch(anonymous, page)
        renamed = await client.patch(page, json={"name": "Renamed"})
        assert renamed.status_code == 200, renamed.text
        after = await fetch(anonymous, page)
        assert after.headers["etag"] != before.headers["etag"] and after.json()["name"] == "Renamed"


async def test_private_reads_carry_no_cache_validators(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    await upload(client)
    for path in (f"{API}/images", f"{API}/albums", f"{API}/tokens/balance"):
        answer = await client.get(path)
        assert answer.status_code == 200, answer.text
        assert "etag" not in answer.headers
        assert "public" not in answer.headers.get("cache-control", "")
