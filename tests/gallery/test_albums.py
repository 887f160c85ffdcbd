"""Albums: the default albums of a new user, CRUD, duplicates, privacy and share links, who may read
an album, pipelines, and another user's 404.

The rules live in gallery.service (and the bodies' limits in gallery.schemas), so they are tested
there, on the rolled-back ``session`` with rows from the factories: no request, no upload, no
commit. Each route keeps an HTTP test for its contract (status, envelope, camelCase, who may call
it); test_ownership.py calls every album route as a stranger. The concurrency test goes through
HTTP: it needs committed rows and transactions of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.errors import Conflict, ValidationFailed
from spikeland.gallery import reads, service
from spikeland.gallery.models import AlbumPrivacy
from spikeland.gallery.schemas import AlbumCreate, AlbumUpdate
from spikeland.gallery.service import AlbumExists, AlbumNotFound, AlbumView
from spikeland.identity.models import User
from spikeland.identity.service import create_user
from spikeland.images import pipelines
from spikeland.images import service as images
from spikeland.images.pipelines import PipelineInUse, PipelineNotFound
from spikeland.images.service import ImageNotFound, ShareNotFound
from tests.support import http_client, make_image, make_pipeline, make_user, new_email, sign_in
from tests.support.albums import API, add, make_album, path_of
from tests.support.images import picture, upload
from tests.support.statements import OnSession

PRIVATE, UNLISTED, PUBLIC = AlbumPrivacy.PRIVATE, AlbumPrivacy.UNLISTED, AlbumPrivacy.PUBLIC


async def _album(session: AsyncSession, user: User, **fields: Any) -> AlbumView:
    """A new album of ``user`` through the service, from the body's fields (snake_case)."""
    fields.setdefault("name", "album")
    return await service.create_album(session, user.id, AlbumCreate(**fields))


async def _update(session: AsyncSession, user: User, album_id: str, **changes: Any) -> AlbumView:
    return await service.update_album(session, user.id, album_id, changes)


async def _albums(
    session: AsyncSession, user: User, *, limit: int = 50, cursor: str | None = None
) -> dict[str, Any]:
    """The user's album list as its route reads it (``gallery.reads``), on the test's session."""
    return await reads.list_albums(
        OnSession(session), user.id, "https://spike.test", limit=limit, cursor=cursor
    )


# ----------------------------------------------------------------------------- rules (service)


async def test_a_new_user_has_one_default_album_per_privacy_level(session: AsyncSession) -> None:
    # create_user runs the sign-up hooks, as a real sign-up does: they make the default albums.
    user = await create_user(session, email=new_email())
    page = await _albums(session, user)
    assert [(a["name"], a["privacy"]) for a in page["items"]] == [
        ("Private Gallery", PRIVATE),
        ("Unlisted Gallery", UNLISTED),
        ("Public Gallery", PUBLIC),
    ]
    assert all(a["defaultTier"] == "TIER_1K" and a["imageCount"] == 0 for a in page["items"])
    # Only the private one has no share link.
    assert [a["shareToken"] is not None for a in page["items"]] == [False, True, True]
    assert page["nextCursor"] is None
    # Running the hook again keeps them as they are.
    await service.create_default_albums(session, user.id)
    assert [a["id"] for a in (await _albums(session, user))["items"]] == [a["id"] for a in page["items"]]


async def test_create_update_delete(session: AsyncSession) -> None:
    user = await create_user(session, email=new_email())
    body = AlbumCreate.model_validate(
        {"name": "  Holidays  ", "description": "Summer", "privacy": "PRIVATE", "defaultTier": "TIER_2K"}
    )
    album = await service.create_album(session, user.id, body)
    assert (album.album.name, album.album.description) == ("Holidays", "Summer")
    assert album.album.privacy == PRIVATE and album.album.default_tier == "TIER_2K"
    assert album.album.share_token is None and album.album.sort_order == 3  # after the three defaults

    changed = await _update(session, user, album.album.id, name="Winter", description=None, sort_order=0)
    assert (changed.album.name, changed.album.description, changed.album.sort_order) == ("Winter", None, 0)

    image = await make_image(session, user.id)
    await service.add_images(session, user.id, album.album.id, [image.id])
    await service.delete_album(session, user.id, album.album.id)
    with pytest.raises(AlbumNotFound):
        await service.read_album(session, album.album.id, user.id)
    with pytest.raises(AlbumNotFound):
        await service.delete_album(session, user.id, album.album.id)
    # The album's images stay.
    assert image.id in await images.views_of(session, [image.id], owner_id=user.id)


@pytest.mark.parametrize(
    "body",
    [
        {"name": "   "},
        {"name": "x" * 101},
        {"name": "ok", "description": "d" * 1001},
        {"name": "ok", "privacy": "SECRET"},
        {"name": "ok", "defaultTier": "TIER_8K"},
        {"name": "bad\x00name"},
        {"name": "ok", "sortOrder": "1"},
    ],
)
def test_invalid_album_bodies_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AlbumCreate.model_validate(body)


def test_an_update_cannot_null_the_required_fields() -> None:
    assert AlbumCreate.model_validate({"name": "x" * 100}).name == "x" * 100
    for change in ({"name": None}, {"privacy": None}, {"defaultTier": None}, {"name": ""}):
        with pytest.raises(ValidationError):
            AlbumUpdate.model_validate(change)
    # The nullable ones may be cleared; only the fields sent are changes.
    cleared = AlbumUpdate.model_validate({"description": None, "pipelineId": None, "coverImageId": None})
    assert cleared.model_dump(include=cleared.model_fields_set) == {
        "description": None,
        "pipeline_id": None,
        "cover_image_id": None,
    }


async def test_a_duplicate_name_and_privacy_is_refused(session: AsyncSession) -> None:
    user = await create_user(session, email=new_email())
    await _album(session, user, name="Trips", privacy=PUBLIC)
    with pytest.raises(AlbumExists) as again:
        await _album(session, user, name="Trips", privacy=PUBLIC)
    assert again.value.code == "album_exists"
    # The default albums' names are taken too, per privacy level.
    with pytest.raises(AlbumExists):
        await _album(session, user, name="Private Gallery")

    # The same name at another privacy level is another album; moving it onto the first is refused.
    # (Ids are kept aside: the refused savepoint's rollback expires the rows it touched.)
    other = (await _album(session, user, name="Trips", privacy=PRIVATE)).album.id
    with pytest.raises(AlbumExists):  # refused inside its savepoint: the session goes on
        await _update(session, user, other, privacy=PUBLIC)
    assert (await service.read_album(session, other, user.id)).album.privacy == PRIVATE

    # Another user may use the same name.
    stranger = await make_user(session)
    assert (await _album(session, stranger, name="Trips", privacy=PUBLIC)).album.user_id == stranger.id


async def test_a_rename_onto_a_taken_name_with_a_pipeline_or_cover_is_refused(session: AsyncSession) -> None:
    """The pipeline and cover checks query the database: they must not flush the new name first
    (that raised the duplicate outside the 409 guard: a 500)."""
    user = await make_user(session)
    await _album(session, user, name="Taken")
    pipeline = await make_pipeline(session, user.id)
    # (Ids are kept aside: the refused savepoint's rollback expires the rows it touched.)
    album = (await _album(session, user, name="Free")).album.id
    pipeline_id, image_id = pipeline.id, (await make_image(session, user.id)).id
    await service.add_images(session, user.id, album, [image_id])
    for extra in ({"pipeline_id": pipeline_id}, {"cover_image_id": image_id}):
        with pytest.raises(AlbumExists):
            await _update(session, user, album, name="Taken", **extra)
    after = (await service.read_album(session, album, user.id)).album
    assert (after.name, after.pipeline_id, after.cover_image_id) == ("Free", None, None)


async def test_listing_pages_in_sort_order(session: AsyncSession) -> None:
    user = await create_user(session, email=new_email())
    made = [
        await _album(session, user, name=f"a{order}-{i}", sort_order=order)
        for i, order in enumerate((7, 5, 5))
    ]
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await _albums(session, user, limit=2, cursor=cursor)
        assert len(page["items"]) <= 2
        seen += page["items"]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert [a["sortOrder"] for a in seen] == [0, 1, 2, 5, 5, 7]
    assert [a["id"] for a in seen[3:]] == [made[1].album.id, made[2].album.id, made[0].album.id]
    with pytest.raises(ValidationFailed) as bad:
        await _albums(session, user, cursor="not-a-cursor")
    assert bad.value.code == "invalid_cursor"


async def test_privacy_decides_who_reads_an_album_by_id(session: AsyncSession) -> None:
    owner, stranger = await make_user(session), await make_user(session)
    albums = {p: await _album(session, owner, privacy=p) for p in (PRIVATE, UNLISTED, PUBLIC)}
    for privacy, album in albums.items():
        assert (await service.read_album(session, album.album.id, owner.id)).album.id == album.album.id
        for viewer in (None, stranger.id):
            if privacy == PUBLIC:
                assert (await service.read_album(session, album.album.id, viewer)).album.id == album.album.id
                assert (await service.readable_items(session, album.album.id, viewer))[1] == []
            else:
                with pytest.raises(AlbumNotFound):
                    await service.read_album(session, album.album.id, viewer)
                with pytest.raises(AlbumNotFound):
                    await service.readable_items(session, album.album.id, viewer)


async def test_an_unlisted_album_opens_through_its_share_link(session: AsyncSession) -> None:
    owner = await make_user(session)
    album = await _album(session, owner, name="For friends", privacy=UNLISTED)
    token = album.album.share_token
    assert token
    first, second, outsider = [await make_image(session, owner.id) for _ in range(3)]
    await service.add_images(session, owner.id, album.album.id, [second.id, first.id])

    with pytest.raises(AlbumNotFound):
        await service.read_album(session, album.album.id, None)
    opened = await service.shared_album(session, token)
    assert opened.album.id == album.album.id and opened.image_count == 2
    assert [i.view.image.id for i in await service.album_items(session, opened.album)] == [
        second.id,
        first.id,
    ]
    # The album's images open through the same link, and only those images.
    assert (await service.shared_image(session, token, first.id)).image.id == first.id
    with pytest.raises(ImageNotFound):
        await service.shared_image(session, token, outsider.id)
    for wrong in ("x" * 65, "no/such", "nosuchtoken"):
        with pytest.raises(ShareNotFound):
            await service.shared_album(session, wrong)

    # The link is idempotent; PRIVATE revokes it; UNLISTED again draws a new one.
    assert await service.share_album(session, owner.id, album.album.id) == token
    private = await _update(session, owner, album.album.id, privacy=PRIVATE)
    assert private.album.share_token is None
    with pytest.raises(ShareNotFound) as gone:
        await service.shared_album(session, token)
    assert gone.value.code == "share_not_found"
    with pytest.raises(Conflict) as refused:
        await service.share_album(session, owner.id, album.album.id)
    assert refused.value.code == "album_private"
    again = (await _update(session, owner, album.album.id, privacy=UNLISTED)).album.share_token
    assert again not in (None, token)
    assert (await service.shared_album(session, again or "")).album.id == album.album.id


async def test_a_public_albums_images_are_readable_through_it(session: AsyncSession) -> None:
    owner = await make_user(session)
    album = await _album(session, owner, privacy=PUBLIC)
    inside, outside = await make_image(session, owner.id), await make_image(session, owner.id)
    await service.add_images(session, owner.id, album.album.id, [inside.id])
    assert (await service.shared_album(session, album.album.share_token or "")).album.id == album.album.id
    _, items = await service.readable_items(session, album.album.id, None)
    assert [i.view.image.id for i in items] == [inside.id]
    assert (await service.readable_image(session, album.album.id, inside.id, None)).image.id == inside.id
    with pytest.raises(ImageNotFound):
        await service.readable_image(session, album.album.id, outside.id, None)


async def test_the_album_pipeline_must_be_usable_by_the_owner(session: AsyncSession) -> None:
    owner, stranger = await make_user(session), await make_user(session)
    own = await make_pipeline(session, owner.id)
    album = await _album(session, owner, pipeline_id=own.id)
    assert album.album.pipeline_id == own.id
    # A pipeline in use by an album cannot be deleted.
    with pytest.raises(PipelineInUse) as in_use:
        await pipelines.delete_pipeline(session, own.id, owner.id)
    assert in_use.value.code == "pipeline_in_use"
    assert (await _update(session, owner, album.album.id, pipeline_id=None)).album.pipeline_id is None
    await pipelines.delete_pipeline(session, own.id, owner.id)

    theirs = await make_pipeline(session, stranger.id)
    with pytest.raises(PipelineNotFound) as refused:
        await _album(session, owner, name="x", pipeline_id=theirs.id)
    assert refused.value.code == "pipeline_not_found"
    with pytest.raises(PipelineNotFound):
        await _update(session, owner, album.album.id, pipeline_id=theirs.id)
    # A system pipeline is everyone's to use.
    system = await make_pipeline(session, None, visibility="PUBLIC")
    assert (
        await _update(session, owner, album.album.id, pipeline_id=system.id)
    ).album.pipeline_id == system.id


async def test_another_users_album_is_not_found(session: AsyncSession) -> None:
    owner, stranger = await make_user(session), await make_user(session)
    album = await _album(session, owner, privacy=UNLISTED)
    image = await make_image(session, owner.id)
    await service.add_images(session, owner.id, album.album.id, [image.id])
    album_id, b = album.album.id, stranger.id
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: service.read_album(session, album_id, b),
        lambda: service.readable_items(session, album_id, b),
        lambda: service.readable_image(session, album_id, image.id, b),
        lambda: service.update_album(session, b, album_id, {"name": "taken over", "privacy": PUBLIC}),
        lambda: service.share_album(session, b, album_id),
        lambda: service.add_images(session, b, album_id, [image.id]),
        lambda: service.reorder(session, b, album_id, [image.id]),
        lambda: service.remove_image(session, b, album_id, image.id),
        lambda: service.delete_album(session, b, album_id),
    ]
    for call in calls:
        with pytest.raises(AlbumNotFound):
            await call()
    # The stranger's own album cannot take the owner's image either, nor have it as cover.
    theirs = await _album(session, stranger)
    own_image = await make_image(session, stranger.id)
    with pytest.raises(ImageNotFound):
        await service.add_images(session, b, theirs.album.id, [image.id])
    assert len(await service.add_images(session, b, theirs.album.id, [own_image.id])) == 1
    with pytest.raises(ImageNotFound):
        await _update(session, stranger, theirs.album.id, cover_image_id=image.id)
    after = await service.read_album(session, album_id, owner.id)
    assert (after.album.name, after.album.privacy, after.image_count) == ("album", UNLISTED, 1)


# ----------------------------------------------------------------------------- contract (HTTP)


async def test_album_routes_create_read_update_delete(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client, name="Holidays", privacy="PRIVATE", defaultTier="TIER_2K")
    assert {"id", "name", "privacy", "defaultTier", "shareToken", "shareUrl", "sortOrder"} <= set(album)
    assert album["imageCount"] == 0 and album["coverImageId"] is None and album["pipelineId"] is None
    url = f"{API}/albums/{album['id']}"
    assert (await client.get(url)).json() == album

    changed = await client.patch(url, json={"name": "Winter", "description": None, "sortOrder": 0})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["description"], body["sortOrder"]) == ("Winter", None, 0)
    assert body["updatedAt"] > album["updatedAt"]

    invalid = await client.post(f"{API}/albums", json={"name": "   "})
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "validation_error"
    nulled = await client.patch(url, json={"name": None})
    assert nulled.status_code == 422 and nulled.json()["error"]["code"] == "validation_error"
    duplicate = await client.post(f"{API}/albums", json={"name": "Winter"})
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "album_exists"

    deleted = await client.delete(url)
    assert deleted.status_code == 204 and deleted.content == b""
    gone = await client.get(url)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "album_not_found"


async def test_album_list_route_pages_with_a_cursor(app: FastAPI, client: httpx.AsyncClient) -> None:
    await sign_in(client)  # the sign-up hooks make the three default albums
    first = await client.get(f"{API}/albums", params={"limit": 2})
    assert first.status_code == 200, first.text
    assert [a["name"] for a in first.json()["items"]] == ["Private Gallery", "Unlisted Gallery"]
    rest = await client.get(f"{API}/albums", params={"limit": 2, "cursor": first.json()["nextCursor"]})
    assert [a["name"] for a in rest.json()["items"]] == ["Public Gallery"]
    assert rest.json()["nextCursor"] is None
    bad = await client.get(f"{API}/albums", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cursor"
    async with http_client(app) as anonymous:
        refused = await anonymous.get(f"{API}/albums")
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "not_authenticated"


async def test_share_routes_open_an_unlisted_album_and_its_files(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await sign_in(client)
    album = await make_album(client, name="For friends", privacy="UNLISTED")
    token = album["shareToken"]
    assert token and album["shareUrl"].endswith(f"/share/{token}")
    image = await upload(client, picture(80, 60))
    assert (await add(client, album["id"], image)).status_code == 201
    shared = await client.post(f"{API}/albums/{album['id']}/share")
    assert shared.status_code == 200 and shared.json()["shareToken"] == token

    async with http_client(app) as anonymous:
        assert (await anonymous.get(f"{API}/albums/{album['id']}")).status_code == 404
        opened = await anonymous.get(f"{API}/share/{token}")
        assert opened.status_code == 200, opened.text
        body = opened.json()
        assert body["type"] == "album"
        assert body["album"]["id"] == album["id"] and body["album"]["name"] == "For friends"
        # A visitor is not shown the owner's tokens.
        assert body["album"]["shareToken"] is None and body["album"]["imageCount"] == 1
        assert [i["image"]["id"] for i in body["images"]] == [image]
        assert all(i["image"]["shareToken"] is None for i in body["images"])
        file = await anonymous.get(path_of(body["images"][0]["originalDownloadUrl"]))
        assert file.status_code == 200 and file.content[:3] == b"\xff\xd8\xff"
        assert (await anonymous.get(f"{API}/share/{token}/original")).status_code == 404  # an image route

        await client.patch(f"{API}/albums/{album['id']}", json={"privacy": "PRIVATE"})
        gone = await anonymous.get(f"{API}/share/{token}")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "share_not_found"
        refused = await client.post(f"{API}/albums/{album['id']}/share")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "album_private"


async def test_a_public_albums_routes_serve_anyone(app: FastAPI, client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client, privacy="PUBLIC")
    image = await upload(client)
    await add(client, album["id"], image)
    async with http_client(app) as anonymous:
        read = await anonymous.get(f"{API}/albums/{album['id']}")
        assert read.status_code == 200
        assert read.json()["shareToken"] is None and read.json()["shareUrl"] is None
        assert (await anonymous.get(f"{API}/share/{album['shareToken']}")).json()["type"] == "album"
        listed = await anonymous.get(f"{API}/albums/{album['id']}/images")
        assert listed.status_code == 200
        assert [i["image"]["id"] for i in listed.json()["items"]] == [image]
        # The image itself is not public, but readable as part of the public album.
        assert (await anonymous.get(f"{API}/images/{image}/original")).status_code == 404
        file = await anonymous.get(f"{API}/albums/{album['id']}/images/{image}/file")
        assert file.status_code == 200 and file.headers["content-type"] == "image/jpeg"
        no_output = await anonymous.get(f"{API}/albums/{album['id']}/images/{image}/file?variant=enhanced")
        assert no_output.status_code == 404


async def test_concurrent_duplicates_make_one_album(client: httpx.AsyncClient) -> None:
    """No check-then-insert race: the unique index decides, and the loser gets 409, not 500."""
    await sign_in(client)
    body = {"name": "Race", "privacy": "UNLISTED"}
    responses = await asyncio.gather(*(client.post(f"{API}/albums", json=body) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409], [r.text for r in responses]
    names = [a["name"] for a in (await client.get(f"{API}/albums")).json()["items"]]
    assert names.count("Race") == 1
