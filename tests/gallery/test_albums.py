"""Albums over HTTP: the default albums of a new user, CRUD, duplicates, privacy and share links, who
may read an album, pipelines, and another user's 404 on every album endpoint."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from tests.support import http_client, sign_in
from tests.support.albums import API, add, make_album, path_of
from tests.support.images import picture, upload


async def test_a_new_user_has_one_default_album_per_privacy_level(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    listed = await client.get(f"{API}/albums")
    assert listed.status_code == 200, listed.text
    albums = listed.json()["items"]
    assert [(a["name"], a["privacy"]) for a in albums] == [
        ("Private Gallery", "PRIVATE"),
        ("Unlisted Gallery", "UNLISTED"),
        ("Public Gallery", "PUBLIC"),
    ]
    assert all(a["defaultTier"] == "TIER_1K" and a["imageCount"] == 0 for a in albums)
    # Only the private one has no share link.
    assert [a["shareToken"] is not None for a in albums] == [False, True, True]
    assert listed.json()["nextCursor"] is None


async def test_create_read_update_delete(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(
        client, name="  Holidays  ", description="Summer", privacy="PRIVATE", defaultTier="TIER_2K"
    )
    assert album["name"] == "Holidays" and album["description"] == "Summer"
    assert album["privacy"] == "PRIVATE" and album["defaultTier"] == "TIER_2K"
    assert album["shareToken"] is None and album["sortOrder"] == 3  # after the three defaults
    url = f"{API}/albums/{album['id']}"
    assert (await client.get(url)).json() == album

    changed = await client.patch(url, json={"name": "Winter", "description": None, "sortOrder": 0})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["name"], body["description"], body["sortOrder"]) == ("Winter", None, 0)
    assert body["updatedAt"] > album["updatedAt"]

    image = await upload(client)
    assert (await add(client, album["id"], image)).status_code == 201
    assert (await client.delete(url)).status_code == 204
    assert (await client.get(url)).status_code == 404
    # The album's images stay.
    assert (await client.get(f"{API}/images/{image}")).status_code == 200


async def test_invalid_albums_are_422(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    for body in (
        {"name": "   "},
        {"name": "x" * 101},
        {"name": "ok", "description": "d" * 1001},
        {"name": "ok", "privacy": "SECRET"},
        {"name": "ok", "defaultTier": "TIER_8K"},
        {"name": "bad\x00name"},
    ):
        response = await client.post(f"{API}/albums", json=body)
        assert response.status_code == 422, (body, response.text)
    album = await make_album(client, name="x" * 100)
    for change in ({"name": None}, {"privacy": None}, {"defaultTier": None}, {"name": ""}):
        response = await client.patch(f"{API}/albums/{album['id']}", json=change)
        assert response.status_code == 422, (change, response.text)


async def test_a_duplicate_name_and_privacy_is_409(app: FastAPI, client: httpx.AsyncClient) -> None:
    await sign_in(client)
    await make_album(client, name="Trips", privacy="PUBLIC")
    again = await client.post(f"{API}/albums", json={"name": "Trips", "privacy": "PUBLIC"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "album_exists"
    # The default albums' names are taken too, per privacy level.
    default = await client.post(f"{API}/albums", json={"name": "Private Gallery"})
    assert default.status_code == 409

    # The same name at another privacy level is another album; moving it onto the first is 409.
    other = await make_album(client, name="Trips", privacy="PRIVATE")
    moved = await client.patch(f"{API}/albums/{other['id']}", json={"privacy": "PUBLIC"})
    assert moved.status_code == 409 and moved.json()["error"]["code"] == "album_exists"
    assert (await client.get(f"{API}/albums/{other['id']}")).json()["privacy"] == "PRIVATE"

    # Another user may use the same name.
    async with http_client(app) as stranger:
        await sign_in(stranger)
        same = await stranger.post(f"{API}/albums", json={"name": "Trips", "privacy": "PUBLIC"})
        assert same.status_code == 201


async def test_a_rename_onto_a_taken_name_with_a_pipeline_or_cover_is_409(client: httpx.AsyncClient) -> None:
    """The pipeline and cover checks query the database: they must not flush the new name first
    (that raised the duplicate outside the 409 guard: a 500)."""
    await sign_in(client)
    await make_album(client, name="Taken", privacy="PRIVATE")
    pipeline = (await client.post(f"{API}/pipelines", json={"name": "mine"})).json()
    album = await make_album(client, name="Free", privacy="PRIVATE")
    url = f"{API}/albums/{album['id']}"
    image = await upload(client)
    assert (await add(client, album["id"], image)).status_code == 201
    for extra in ({"pipelineId": pipeline["id"]}, {"coverImageId": image}):
        renamed = await client.patch(url, json={"name": "Taken", **extra})
        assert renamed.status_code == 409, (extra, renamed.text)
        assert renamed.json()["error"]["code"] == "album_exists"
    after = (await client.get(url)).json()
    assert (after["name"], after["pipelineId"], after["coverImageId"]) == ("Free", None, None)


async def test_concurrent_duplicates_make_one_album(client: httpx.AsyncClient) -> None:
    """No check-then-insert race: the unique index decides, and the loser gets 409, not 500."""
    await sign_in(client)
    body = {"name": "Race", "privacy": "UNLISTED"}
    responses = await asyncio.gather(*(client.post(f"{API}/albums", json=body) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409], [r.text for r in responses]
    names = [a["name"] for a in (await client.get(f"{API}/albums")).json()["items"]]
    assert names.count("Race") == 1


async def test_listing_pages_in_sort_order(client: httpx.AsyncClient) -> None:
    await sign_in(client)
    made = [await make_album(client, sortOrder=order) for order in (7, 5, 5)]
    seen, cursor = [], None
    while True:
        page = await client.get(
            f"{API}/albums", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        assert page.status_code == 200, page.text
        seen += page.json()["items"]
        cursor = page.json()["nextCursor"]
        if cursor is None:
            break
    assert [a["sortOrder"] for a in seen] == [0, 1, 2, 5, 5, 7]
    assert [a["id"] for a in seen[3:]] == [made[1]["id"], made[2]["id"], made[0]["id"]]
    bad = await client.get(f"{API}/albums", params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cursor"


async def test_privacy_decides_who_reads_an_album_by_id(app: FastAPI, client: httpx.AsyncClient) -> None:
    await sign_in(client)
    albums = {p: await make_album(client, privacy=p) for p in ("PRIVATE", "UNLISTED", "PUBLIC")}
    async with http_client(app) as anonymous, http_client(app) as stranger:
        await sign_in(stranger)
        for privacy, album in albums.items():
            url = f"{API}/albums/{album['id']}"
            assert (await client.get(url)).status_code == 200
            for caller in (anonymous, stranger):
                response = await caller.get(url)
                if privacy == "PUBLIC":
                    assert response.status_code == 200
                    assert response.json()["shareToken"] is None and response.json()["shareUrl"] is None
                else:
                    assert response.status_code == 404, (privacy, response.text)
                    assert response.json()["error"]["code"] == "album_not_found"
                images = await caller.get(f"{url}/images")
                assert images.status_code == (200 if privacy == "PUBLIC" else 404)


async def test_an_unlisted_album_opens_through_its_share_link(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await sign_in(client)
    album = await make_album(client, name="For friends", privacy="UNLISTED")
    token = album["shareToken"]
    assert token and album["shareUrl"].endswith(f"/share/{token}")
    first, second = await upload(client, picture(80, 60)), await upload(client, picture(60, 80))
    assert (await add(client, album["id"], second, first)).status_code == 201

    async with http_client(app) as anonymous:
        assert (await anonymous.get(f"{API}/albums/{album['id']}")).status_code == 404
        opened = await anonymous.get(f"{API}/share/{token}")
        assert opened.status_code == 200, opened.text
        body = opened.json()
        assert body["type"] == "album"
        assert body["album"]["id"] == album["id"] and body["album"]["name"] == "For friends"
        assert body["album"]["shareToken"] is None and body["album"]["imageCount"] == 2
        assert [i["image"]["id"] for i in body["images"]] == [second, first]
        assert all(i["image"]["shareToken"] is None for i in body["images"])

        # The files of the album's images open through the same link (and only those images).
        file = await anonymous.get(path_of(body["images"][0]["originalDownloadUrl"]))
        assert file.status_code == 200 and file.content[:3] == b"\xff\xd8\xff"
        outsider = await upload(client)
        assert (await anonymous.get(f"{API}/share/{token}/images/{outsider}/file")).status_code == 404
        assert (await anonymous.get(f"{API}/share/{token}/original")).status_code == 404  # an image route

        # The link is idempotent; PRIVATE revokes it; UNLISTED again draws a new one.
        assert (await client.post(f"{API}/albums/{album['id']}/share")).json()["shareToken"] == token
        private = await client.patch(f"{API}/albums/{album['id']}", json={"privacy": "PRIVATE"})
        assert private.json()["shareToken"] is None
        gone = await anonymous.get(f"{API}/share/{token}")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "share_not_found"
        refused = await client.post(f"{API}/albums/{album['id']}/share")
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "album_private"
        again = (await client.patch(f"{API}/albums/{album['id']}", json={"privacy": "UNLISTED"})).json()
        assert again["shareToken"] not in (None, token)
        assert (await anonymous.get(f"{API}/share/{again['shareToken']}")).status_code == 200


async def test_a_public_album_opens_by_id_and_by_link(app: FastAPI, client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client, privacy="PUBLIC")
    image = await upload(client)
    await add(client, album["id"], image)
    async with http_client(app) as anonymous:
        assert (await anonymous.get(f"{API}/share/{album['shareToken']}")).json()["type"] == "album"
        listed = (await anonymous.get(f"{API}/albums/{album['id']}/images")).json()["items"]
        assert [i["image"]["id"] for i in listed] == [image]
        # The image itself is not public, but readable as part of the public album.
        assert (await anonymous.get(f"{API}/images/{image}/original")).status_code == 404
        file = await anonymous.get(f"{API}/albums/{album['id']}/images/{image}/file")
        assert file.status_code == 200 and file.headers["content-type"] == "image/jpeg"
        no_output = await anonymous.get(f"{API}/albums/{album['id']}/images/{image}/file?variant=enhanced")
        assert no_output.status_code == 404


async def test_the_album_pipeline_must_be_usable_by_the_owner(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await sign_in(client)
    own = (await client.post(f"{API}/pipelines", json={"name": "mine"})).json()
    album = await make_album(client, pipelineId=own["id"])
    assert album["pipelineId"] == own["id"]
    # A pipeline in use by an album cannot be deleted.
    in_use = await client.delete(f"{API}/pipelines/{own['id']}")
    assert in_use.status_code == 409 and in_use.json()["error"]["code"] == "pipeline_in_use"
    cleared = await client.patch(f"{API}/albums/{album['id']}", json={"pipelineId": None})
    assert cleared.json()["pipelineId"] is None
    assert (await client.delete(f"{API}/pipelines/{own['id']}")).status_code == 204

    async with http_client(app) as stranger:
        await sign_in(stranger)
        private = (await stranger.post(f"{API}/pipelines", json={"name": "theirs"})).json()
    refused = await client.post(f"{API}/albums", json={"name": "x", "pipelineId": private["id"]})
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "pipeline_not_found"
    patched = await client.patch(f"{API}/albums/{album['id']}", json={"pipelineId": private["id"]})
    assert patched.status_code == 404


async def test_every_album_endpoint_is_404_to_another_user(app: FastAPI, client: httpx.AsyncClient) -> None:
    await sign_in(client)
    album = await make_album(client, privacy="UNLISTED")
    image = await upload(client, picture(60, 40))
    await add(client, album["id"], image)
    url = f"{API}/albums/{album['id']}"
    calls: list[tuple[str, str, dict[str, object] | None]] = [
        ("GET", url, None),
        ("GET", f"{url}/images", None),
        ("GET", f"{url}/images/{image}/file", None),
        ("PATCH", url, {"name": "taken over", "privacy": "PUBLIC"}),
        ("POST", f"{url}/share", None),
        ("POST", f"{url}/images", {"imageIds": [image]}),
        ("PUT", f"{url}/order", {"imageIds": [image]}),
        ("POST", f"{url}/enhance", {"tier": "FREE"}),
        ("DELETE", f"{url}/images/{image}", None),
        ("DELETE", url, None),
    ]
    before = (await client.get(url)).json()
    async with http_client(app) as stranger:
        await sign_in(stranger)
        own_image = await upload(stranger, picture(50, 40))
        for method, path, body in calls:
            response = await stranger.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
        uploaded = await stranger.post(
            f"{url}/upload", files={"file": ("x.jpg", picture(40, 30), "application/octet-stream")}
        )
        assert uploaded.status_code == 404, uploaded.text
        # The stranger's own album cannot take the owner's image either.
        theirs = await make_album(stranger)
        assert (await add(stranger, theirs["id"], image)).status_code == 404
        assert (await add(stranger, theirs["id"], own_image)).status_code == 201
        cover = await stranger.patch(f"{API}/albums/{theirs['id']}", json={"coverImageId": image})
        assert cover.status_code == 404
    assert (await client.get(url)).json() == before
    assert [i["image"]["id"] for i in (await client.get(f"{url}/images")).json()["items"]] == [image]
