"""The public gallery over HTTP: public images and PUBLIC albums, newest first, page by page, for
anyone (signed in or not)."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.support import http_client, sign_in
from tests.support.albums import API, add, make_album
from tests.support.images import picture, upload


async def walk(client: httpx.AsyncClient, path: str, limit: int) -> list[dict[str, Any]]:
    """Every item of a paginated listing, following the cursors."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = await client.get(path, params=params)
        assert page.status_code == 200, page.text
        assert len(page.json()["items"]) <= limit
        items += page.json()["items"]
        cursor = page.json()["nextCursor"]
        if cursor is None:
            return items


def newest_first(items: list[dict[str, Any]]) -> bool:
    keys = [(item["createdAt"], item["id"]) for item in items]
    return keys == sorted(keys, reverse=True) and len(set(keys)) == len(keys)


async def test_public_images_page_newest_first(app: FastAPI, client: httpx.AsyncClient) -> None:
    await sign_in(client)
    ids = [await upload(client, picture(30 + i, 30)) for i in range(4)]
    for image_id in ids[:3]:
        published = await client.patch(f"{API}/images/{image_id}", json={"isPublic": True})
        assert published.status_code == 200
    async with http_client(app) as anonymous:
        items = await walk(anonymous, f"{API}/gallery/images", limit=2)
    assert newest_first(items) and all(item["isPublic"] for item in items)
    seen = [item["id"] for item in items if item["id"] in ids]
    assert seen == list(reversed(ids[:3]))  # the private one is not listed
    assert all(item["shareToken"] is None for item in items)
    bad = await client.get(f"{API}/gallery/images", params={"cursor": "%%%"})
    assert bad.status_code == 422


async def test_public_albums_with_images_page_newest_first(app: FastAPI, client: httpx.AsyncClient) -> None:
    await sign_in(client)
    image = await upload(client)
    public = [await make_album(client, privacy="PUBLIC") for _ in range(3)]
    for album in public:
        await add(client, album["id"], image)
    hidden = [await make_album(client, privacy=p) for p in ("PRIVATE", "UNLISTED")]
    for album in hidden:
        await add(client, album["id"], image)
    empty = await make_album(client, privacy="PUBLIC")

    async with http_client(app) as anonymous:
        items = await walk(anonymous, f"{API}/gallery/albums", limit=2)
    assert newest_first(items) and {item["privacy"] for item in items} == {"PUBLIC"}
    listed = [item["id"] for item in items]
    assert [i for i in listed if i in {a["id"] for a in public}] == [a["id"] for a in reversed(public)]
    assert not {a["id"] for a in [*hidden, empty]} & set(listed)
    assert all(item["shareToken"] is None and item["imageCount"] >= 1 for item in items)
