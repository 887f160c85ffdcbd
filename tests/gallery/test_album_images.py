"""An album's images over HTTP: adding (own images only, no duplicates), removing, reordering, the
cover image, and what deleting an image leaves behind."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from tests.support import http_client, sign_in
from tests.support.albums import API, add, image_ids, make_album
from tests.support.images import picture, upload


async def _images(client: httpx.AsyncClient, count: int) -> list[str]:
    return [await upload(client, picture(40 + i, 30)) for i in range(count)]


async def test_images_are_appended_in_order_and_counted(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client)
    a, b, c = await _images(client, 3)
    added = await add(client, album["id"], b, a)
    assert added.status_code == 201, added.text
    assert [(i["image"]["id"], i["sortOrder"]) for i in added.json()["items"]] == [(b, 0), (a, 1)]
    await add(client, album["id"], c)
    assert await image_ids(client, album["id"]) == [b, a, c]
    assert (await client.get(f"{API}/albums/{album['id']}")).json()["imageCount"] == 3


async def test_a_duplicate_image_is_409_and_adds_nothing(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client)
    a, b = await _images(client, 2)
    await add(client, album["id"], a)
    again = await add(client, album["id"], b, a)
    assert again.status_code == 409 and again.json()["error"]["code"] == "image_in_album"
    assert again.json()["error"]["details"] == {"imageIds": [a]}
    assert await image_ids(client, album["id"]) == [a]  # b was not added either
    twice = await add(client, album["id"], b, b)
    assert twice.status_code == 422 and twice.json()["error"]["code"] == "duplicate_image"
    # The same image may be in several albums.
    other = await make_album(client)
    assert (await add(client, other["id"], a)).status_code == 201


async def test_concurrent_adds_of_one_image_link_it_once(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client)
    (image,) = await _images(client, 1)
    others = await _images(client, 2)
    responses = await asyncio.gather(
        add(client, album["id"], image), add(client, album["id"], image), add(client, album["id"], *others)
    )
    assert sorted(r.status_code for r in responses) == [201, 201, 409]
    ids = await image_ids(client, album["id"])
    assert sorted(ids) == sorted([image, *others])
    # Appends that ran at the same time still got distinct places.
    orders = [
        i["sortOrder"] for i in (await client.get(f"{API}/albums/{album['id']}/images")).json()["items"]
    ]
    assert orders == [0, 1, 2]


async def test_another_users_image_cannot_be_added(app: FastAPI, client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client)
    mine = await upload(client)
    async with http_client(app) as stranger:
        await sign_in(stranger)
        theirs = await upload(stranger)
    refused = await add(client, album["id"], mine, theirs)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "image_not_found"
    assert await image_ids(client, album["id"]) == []
    assert (await add(client, album["id"], "cnosuchimage0000000000000")).status_code == 404


async def test_reordering_persists_and_must_name_every_image_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await sign_in(client)
    album = await make_album(client)
    a, b, c = await _images(client, 3)
    await add(client, album["id"], a, b, c)
    order = f"{API}/albums/{album['id']}/order"

    moved = await client.put(order, json={"imageIds": [c, a, b]})
    assert moved.status_code == 200, moved.text
    assert [(i["image"]["id"], i["sortOrder"]) for i in moved.json()["items"]] == [(c, 0), (a, 1), (b, 2)]
    # Persisted: a fresh read (another request, another transaction) sees it; appends go after.
    d = await upload(client)
    await add(client, album["id"], d)
    assert await image_ids(client, album["id"]) == [c, a, b, d]

    outsider = await upload(client)
    for wrong in ([c, a, b], [c, a, b, d, d], [c, a, b, d, outsider], []):
        response = await client.put(order, json={"imageIds": wrong})
        assert response.status_code == 422, (wrong, response.text)
    async with http_client(app) as stranger:
        await sign_in(stranger)
        theirs = await upload(stranger)
    not_mine = await client.put(order, json={"imageIds": [c, a, b, d, theirs]})
    assert not_mine.status_code == 404
    assert await image_ids(client, album["id"]) == [c, a, b, d]

    empty = await make_album(client)
    assert (await client.put(f"{API}/albums/{empty['id']}/order", json={"imageIds": []})).status_code == 200


async def test_removing_an_image_keeps_it_and_clears_the_cover(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client)
    url = f"{API}/albums/{album['id']}"
    a, b = await _images(client, 2)
    await add(client, album["id"], a, b)
    cover = await client.patch(url, json={"coverImageId": a})
    assert cover.status_code == 200 and cover.json()["coverImageId"] == a

    assert (await client.delete(f"{url}/images/{a}")).status_code == 204
    assert (await client.get(url)).json()["coverImageId"] is None
    assert await image_ids(client, album["id"]) == [b]
    assert (await client.get(f"{API}/images/{a}")).status_code == 200  # the image stays
    again = await client.delete(f"{url}/images/{a}")
    assert again.status_code == 404


async def test_the_cover_must_be_one_of_the_albums_images(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client)
    url = f"{API}/albums/{album['id']}"
    inside, outside = await _images(client, 2)
    await add(client, album["id"], inside)
    refused = await client.patch(url, json={"coverImageId": outside})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "image_not_in_album"
    assert (await client.patch(url, json={"coverImageId": "cnosuchimage0000000000000"})).status_code == 404
    assert (await client.patch(url, json={"coverImageId": inside})).json()["coverImageId"] == inside
    assert (await client.patch(url, json={"coverImageId": None})).json()["coverImageId"] is None


async def test_deleting_an_image_takes_it_out_of_its_albums(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client)
    url = f"{API}/albums/{album['id']}"
    a, b = await _images(client, 2)
    await add(client, album["id"], a, b)
    await client.patch(url, json={"coverImageId": b})
    assert (await client.delete(f"{API}/images/{b}")).status_code == 204
    after = (await client.get(url)).json()
    assert after["imageCount"] == 1 and after["coverImageId"] is None  # the cover left with it
    assert await image_ids(client, album["id"]) == [a]
