"""An album's images: adding (own images only, no duplicates), removing, reordering, the cover image,
and what deleting an image leaves behind.

The rules live in gallery.service, so they are tested there, on the rolled-back ``session`` with
rows from the factories (no upload, no request: a few milliseconds a test). Each route keeps one
HTTP test for its contract (status, envelope, camelCase); the concurrency test goes through HTTP
because it needs committed rows and several transactions.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.errors import ValidationFailed
from spikeland.gallery import service
from spikeland.gallery.schemas import AlbumCreate
from spikeland.gallery.service import AlbumView, ImageInAlbum
from spikeland.identity.models import User
from spikeland.images import service as images
from spikeland.images.service import ImageNotFound
from tests.support import http_client, make_image, make_user, sign_in
from tests.support.albums import API, add, image_ids, make_album
from tests.support.images import picture, upload

NO_SUCH_IMAGE = "cnosuchimage0000000000000"


async def _album(session: AsyncSession, user: User, name: str = "album") -> AlbumView:
    return await service.create_album(session, user.id, AlbumCreate(name=name))


async def _images(session: AsyncSession, user: User, count: int) -> list[str]:
    return [(await make_image(session, user.id)).id for _ in range(count)]


async def _ids(session: AsyncSession, view: AlbumView) -> list[str]:
    return [item.view.image.id for item in await service.album_items(session, view.album)]


# ----------------------------------------------------------------------------- rules (service)


async def test_images_are_appended_in_order_and_counted(session: AsyncSession) -> None:
    user = await make_user(session)
    album = await _album(session, user)
    a, b, c = await _images(session, user, 3)
    added = await service.add_images(session, user.id, album.album.id, [b, a])
    assert [(i.view.image.id, i.sort_order) for i in added] == [(b, 0), (a, 1)]
    await service.add_images(session, user.id, album.album.id, [c])
    assert await _ids(session, album) == [b, a, c]
    assert (await service.read_album(session, album.album.id, user.id)).image_count == 3


async def test_a_duplicate_image_is_refused_and_adds_nothing(session: AsyncSession) -> None:
    user = await make_user(session)
    album = await _album(session, user)
    a, b = await _images(session, user, 2)
    await service.add_images(session, user.id, album.album.id, [a])
    with pytest.raises(ImageInAlbum) as refused:
        await service.add_images(session, user.id, album.album.id, [b, a])
    assert refused.value.code == "image_in_album" and refused.value.details == {"imageIds": [a]}
    assert await _ids(session, album) == [a]  # b was not added either
    with pytest.raises(ValidationFailed) as twice:
        await service.add_images(session, user.id, album.album.id, [b, b])
    assert twice.value.code == "duplicate_image"
    # The same image may be in several albums.
    other = await _album(session, user, "other")
    assert len(await service.add_images(session, user.id, other.album.id, [a])) == 1


async def test_another_users_image_cannot_be_added(session: AsyncSession) -> None:
    user, stranger = await make_user(session), await make_user(session)
    album = await _album(session, user)
    (mine,) = await _images(session, user, 1)
    (theirs,) = await _images(session, stranger, 1)
    for ids in ([mine, theirs], [NO_SUCH_IMAGE]):
        with pytest.raises(ImageNotFound):
            await service.add_images(session, user.id, album.album.id, ids)
    assert await _ids(session, album) == []


async def test_reordering_persists_and_must_name_every_image_once(session: AsyncSession) -> None:
    user, stranger = await make_user(session), await make_user(session)
    album = await _album(session, user)
    a, b, c = await _images(session, user, 3)
    await service.add_images(session, user.id, album.album.id, [a, b, c])

    moved = await service.reorder(session, user.id, album.album.id, [c, a, b])
    assert [(i.view.image.id, i.sort_order) for i in moved] == [(c, 0), (a, 1), (b, 2)]
    # Appends go after the new order.
    (d,) = await _images(session, user, 1)
    await service.add_images(session, user.id, album.album.id, [d])
    assert await _ids(session, album) == [c, a, b, d]

    (outsider,) = await _images(session, user, 1)
    for wrong, code in (
        ([c, a, b], "invalid_order"),  # d is missing
        ([c, a, b, d, d], "invalid_order"),
        ([c, a, b, d, outsider], "image_not_in_album"),
        ([], "invalid_order"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            await service.reorder(session, user.id, album.album.id, wrong)
        assert refused.value.code == code, wrong
    (theirs,) = await _images(session, stranger, 1)
    with pytest.raises(ImageNotFound):
        await service.reorder(session, user.id, album.album.id, [c, a, b, d, theirs])
    assert await _ids(session, album) == [c, a, b, d]

    empty = await _album(session, user, "empty")
    assert await service.reorder(session, user.id, empty.album.id, []) == []


async def test_removing_an_image_keeps_it_and_clears_the_cover(session: AsyncSession) -> None:
    user = await make_user(session)
    album = await _album(session, user)
    a, b = await _images(session, user, 2)
    await service.add_images(session, user.id, album.album.id, [a, b])
    covered = await service.update_album(session, user.id, album.album.id, {"cover_image_id": a})
    assert covered.cover_image_id == a

    await service.remove_image(session, user.id, album.album.id, a)
    assert (await service.read_album(session, album.album.id, user.id)).cover_image_id is None
    assert await _ids(session, album) == [b]
    assert a in await images.views_of(session, [a], owner_id=user.id)  # the image stays
    with pytest.raises(ImageNotFound):
        await service.remove_image(session, user.id, album.album.id, a)


async def test_the_cover_must_be_one_of_the_albums_images(session: AsyncSession) -> None:
    user = await make_user(session)
    album = await _album(session, user)
    inside, outside = await _images(session, user, 2)
    await service.add_images(session, user.id, album.album.id, [inside])
    with pytest.raises(ValidationFailed) as refused:
        await service.update_album(session, user.id, album.album.id, {"cover_image_id": outside})
    assert refused.value.code == "image_not_in_album" and refused.value.details == {"imageIds": [outside]}
    with pytest.raises(ImageNotFound):
        await service.update_album(session, user.id, album.album.id, {"cover_image_id": NO_SUCH_IMAGE})
    set_ = await service.update_album(session, user.id, album.album.id, {"cover_image_id": inside})
    assert set_.cover_image_id == inside
    cleared = await service.update_album(session, user.id, album.album.id, {"cover_image_id": None})
    assert cleared.cover_image_id is None


async def test_deleting_an_image_takes_it_out_of_its_albums(session: AsyncSession) -> None:
    user = await make_user(session)
    album = await _album(session, user)
    a, b = await _images(session, user, 2)
    await service.add_images(session, user.id, album.album.id, [a, b])
    await service.update_album(session, user.id, album.album.id, {"cover_image_id": b})
    await images.delete_image(session, user.id, b)
    after = await service.read_album(session, album.album.id, user.id)
    assert after.image_count == 1 and after.cover_image_id is None  # the cover left with it
    assert await _ids(session, album) == [a]


# ----------------------------------------------------------------------------- contract (HTTP)


async def test_add_route_answers_201_with_the_items_and_409_in_the_envelope(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await sign_in(client)
    album = await make_album(client)
    a = await upload(client, picture(40, 30))
    added = await add(client, album["id"], a)
    assert added.status_code == 201, added.text
    (item,) = added.json()["items"]
    assert item["image"]["id"] == a and item["sortOrder"] == 0 and "addedAt" in item
    again = await add(client, album["id"], a)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "image_in_album"
    assert again.json()["error"]["details"] == {"imageIds": [a]}
    async with http_client(app) as anonymous:
        unsigned = await add(anonymous, album["id"], a)
        assert unsigned.status_code == 401 and unsigned.json()["error"]["code"] == "not_authenticated"


async def test_order_route_answers_200_with_the_items_and_422_in_the_envelope(
    client: httpx.AsyncClient,
) -> None:
    await sign_in(client)
    album = await make_album(client)
    a, b = await upload(client, picture(40, 30)), await upload(client, picture(41, 30))
    await add(client, album["id"], a, b)
    order = f"{API}/albums/{album['id']}/order"
    moved = await client.put(order, json={"imageIds": [b, a]})
    assert moved.status_code == 200, moved.text
    assert [(i["image"]["id"], i["sortOrder"]) for i in moved.json()["items"]] == [(b, 0), (a, 1)]
    short = await client.put(order, json={"imageIds": [b]})
    assert short.status_code == 422 and short.json()["error"]["code"] == "invalid_order"
    assert short.json()["error"]["details"] == {"missing": [a]}


async def test_remove_route_answers_204_then_404(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client)
    a = await upload(client, picture(40, 30))
    await add(client, album["id"], a)
    url = f"{API}/albums/{album['id']}/images/{a}"
    removed = await client.delete(url)
    assert removed.status_code == 204 and removed.content == b""
    assert await image_ids(client, album["id"]) == []
    again = await client.delete(url)
    assert again.status_code == 404 and again.json()["error"]["code"] == "image_not_found"


async def test_concurrent_adds_of_one_image_link_it_once(client: httpx.AsyncClient) -> None:
    """Through HTTP: each request its own committed transaction, racing on the album's lock."""
    await sign_in(client)
    album = await make_album(client)
    image = await upload(client, picture(40, 30))
    others = [await upload(client, picture(41 + i, 30)) for i in range(2)]
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
