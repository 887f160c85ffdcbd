"""The featured gallery over HTTP: admin CRUD and access, items from a finished job, reorder, and the
public listing — active items only, in order, by category, cached and invalidated on change."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, select, text

from spikeland.gallery.featured import FeaturedCache, aspect_ratio
from spikeland.gallery.featured_schemas import FeaturedGallery
from spikeland.gallery.models import FeaturedGalleryItem
from spikeland.identity.models import UserRole
from tests.support import sign_in
from tests.support.fixtures import UserClient
from tests.support.images import picture, upload, work

ADMIN = "/api/v1/admin/featured-gallery"
PUBLIC = "/api/v1/gallery/featured"
PASSWORD = "correct horse battery"


def body(**fields: Any) -> dict[str, Any]:
    tag = secrets.token_hex(3)
    return {
        "title": f"Sunset {tag}",
        "category": "LANDSCAPE",
        "originalUrl": f"https://cdn.example.com/{tag}/before.jpg",
        "enhancedUrl": f"https://cdn.example.com/{tag}/after.jpg",
        **fields,
    }


async def create(admin: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await admin.post(ADMIN, json=body(**fields))
    assert response.status_code == 201, response.text
    return dict(response.json())


@contextmanager
def counted_statements(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement the application's engine sends while the block runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_admin_crud(app: FastAPI, user_client: UserClient) -> None:
    admin, admin_id = await user_client(UserRole.ADMIN)
    first = await create(admin, description="Golden hour", sortOrder=900_000)  # above the others
    assert (first["createdBy"], first["sortOrder"], first["isActive"]) == (admin_id, 900_000, True)
    assert (first["width"], first["height"], first["category"]) == (16, 9, "LANDSCAPE")
    assert first["sourceJobId"] is None and first["sourceImageId"] is None
    second = await create(admin, width=4, height=3, isActive=False)
    assert second["sortOrder"] == 900_001 and (second["width"], second["height"]) == (4, 3)  # appended

    changed = await admin.patch(
        f"{ADMIN}/{first['id']}",
        json={"title": "<b>Dawn</b> light", "description": None, "isActive": False, "category": "PRODUCT"},
    )
    assert changed.status_code == 200, changed.text
    item = changed.json()
    assert (item["title"], item["description"], item["isActive"]) == ("Dawn light", None, False)
    assert item["category"] == "PRODUCT" and item["updatedAt"] > first["updatedAt"]
    assert (await admin.get(f"{ADMIN}/{first['id']}")).json() == item

    listed = await admin.get(ADMIN, params={"category": "PRODUCT", "active": "false", "limit": 100})
    ids = [i["id"] for i in listed.json()["items"]]
    assert first["id"] in ids and second["id"] not in ids  # second is LANDSCAPE
    assert all(i["category"] == "PRODUCT" and not i["isActive"] for i in listed.json()["items"])

    assert (await admin.delete(f"{ADMIN}/{first['id']}")).status_code == 204
    gone = await admin.get(f"{ADMIN}/{first['id']}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "featured_item_not_found"
    assert (await admin.delete(f"{ADMIN}/{first['id']}")).status_code == 404
    assert (await admin.patch(f"{ADMIN}/{first['id']}", json={"title": "x"})).status_code == 404


async def test_admin_list_pages_in_display_order(user_client: UserClient) -> None:
    admin, _ = await user_client(UserRole.ADMIN)
    category = "ARCHITECTURE"
    made = [await create(admin, category=category, sortOrder=order) for order in (2, 1, 1, 0)]
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"category": category, "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await admin.get(ADMIN, params=params)).json()
        seen += page["items"]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    mine = [i["id"] for i in seen if i["id"] in {m["id"] for m in made}]
    # sortOrder ascending, then newest first among equals
    assert mine == [made[3]["id"], made[2]["id"], made[1]["id"], made[0]["id"]]
    assert len(seen) == len({i["id"] for i in seen})
    bad = await admin.get(ADMIN, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    "fields",
    [
        {"title": ""},
        {"title": "<i></i>  "},
        {"title": "x" * 201},
        {"description": "d" * 1001},
        {"category": "SELFIE"},
        {"originalUrl": "ftp://cdn.example.com/a.jpg"},
        {"enhancedUrl": "javascript:alert(1)"},
        {"enhancedUrl": "https:///no-host"},
        {"originalUrl": "https://cdn.example.com/a b.jpg"},
        {"originalUrl": "https://cdn.example.com/" + "a" * 2000},
        {"originalUrl": None},
        {"sourceJobId": "c" * 25},  # and URLs: one source only
        {"width": 0, "height": 9},
        {"width": 101, "height": 9},
        {"width": 16},
        {"sortOrder": -1},
    ],
)
async def test_create_refuses_bad_bodies(user_client: UserClient, fields: dict[str, Any]) -> None:
    admin, _ = await user_client(UserRole.ADMIN)
    response = await admin.post(ADMIN, json=body(**fields))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_update_refuses_nulls_and_bad_values(user_client: UserClient) -> None:
    admin, _ = await user_client(UserRole.ADMIN)
    item = await create(admin)
    for change in ({"title": None}, {"isActive": None}, {"width": 0}, {"title": "<p></p>"}):
        response = await admin.patch(f"{ADMIN}/{item['id']}", json=change)
        assert response.status_code == 422, (change, response.text)


async def test_only_admins(client: httpx.AsyncClient, user_client: UserClient) -> None:
    admin, _ = await user_client(UserRole.ADMIN)
    item = await create(admin)
    user, _ = await user_client(UserRole.USER)
    calls = [
        ("GET", ADMIN, None),
        ("POST", ADMIN, body()),
        ("GET", f"{ADMIN}/{item['id']}", None),
        ("PATCH", f"{ADMIN}/{item['id']}", {"title": "mine"}),
        ("DELETE", f"{ADMIN}/{item['id']}", None),
        ("PUT", f"{ADMIN}/order", {"itemIds": [item["id"]]}),
    ]
    for method, url, payload in calls:
        refused = await user.request(method, url, json=payload)
        assert refused.status_code == 403, (method, url, refused.text)
        assert refused.json()["error"]["code"] == "admin_required"
        anonymous = await client.request(method, url, json=payload)
        assert anonymous.status_code == 401, (method, url, anonymous.text)
    super_admin, _ = await user_client(UserRole.SUPER_ADMIN)
    assert (await super_admin.get(f"{ADMIN}/{item['id']}")).json()["title"] == item["title"]


async def test_item_from_a_completed_job(
    app: FastAPI, client: httpx.AsyncClient, user_client: UserClient
) -> None:
    admin, admin_id = await user_client(UserRole.ADMIN)
    await sign_in(client)
    image_id = await upload(client, picture(320, 200))
    enhanced = await client.post(f"/api/v1/images/{image_id}/enhance", json={"tier": "FREE"})
    assert enhanced.status_code == 202, enhanced.text
    job_id = enhanced.json()["job"]["id"]

    waiting = await admin.post(ADMIN, json={"title": "Too soon", "sourceJobId": job_id})
    assert waiting.status_code == 409 and waiting.json()["error"]["code"] == "job_not_completed"
    assert waiting.json()["error"]["details"] == {"status": "PENDING"}

    await work(app)
    job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
    assert job["status"] == "COMPLETED" and (job["enhancedWidth"], job["enhancedHeight"]) == (320, 200)
    image = (await client.get(f"/api/v1/images/{image_id}")).json()

    response = await admin.post(ADMIN, json={"title": "Before and after", "sourceJobId": job_id})
    assert response.status_code == 201, response.text
    item = response.json()
    assert (item["sourceJobId"], item["sourceImageId"], item["createdBy"]) == (job_id, image_id, admin_id)
    assert (item["width"], item["height"]) == (8, 5)  # 320x200 reduced
    # The job's own URLs answer only its owner: the item serves the files to everyone itself.
    assert item["enhancedUrl"].endswith(f"/api/v1/gallery/featured/{item['id']}/enhanced")
    assert item["originalUrl"].endswith(f"/api/v1/gallery/featured/{item['id']}/original")
    client.cookies.clear()
    enhanced_file = await client.get(f"/api/v1/gallery/featured/{item['id']}/enhanced")
    original_file = await client.get(f"/api/v1/gallery/featured/{item['id']}/original")
    assert enhanced_file.status_code == 200 and enhanced_file.headers["content-type"] == "image/jpeg"
    assert len(enhanced_file.content) == job["enhancedSizeBytes"]
    assert original_file.status_code == 200 and original_file.headers["content-type"] == "image/jpeg"
    assert int(original_file.headers["content-length"]) == image["originalSizeBytes"]
    hidden = await admin.patch(f"{ADMIN}/{item['id']}", json={"isActive": False})
    assert hidden.status_code == 200
    assert (await client.get(f"/api/v1/gallery/featured/{item['id']}/enhanced")).status_code == 404

    given = await admin.post(ADMIN, json={"title": "Square", "sourceJobId": job_id, "width": 1, "height": 1})
    assert (given.json()["width"], given.json()["height"]) == (1, 1)  # the admin's ratio wins

    unknown = await admin.post(ADMIN, json={"title": "Nothing", "sourceJobId": "c" + "0" * 24})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_source_job"


def test_aspect_ratio() -> None:
    assert aspect_ratio(1920, 1080) == (16, 9)
    assert aspect_ratio(320, 200) == (8, 5)
    assert aspect_ratio(1024, 683) == (3, 2)  # 1024:683 does not fit 1..100: the nearest that does
    assert aspect_ratio(683, 1024) == (2, 3)
    assert aspect_ratio(500, 500) == (1, 1)
    assert aspect_ratio(100_000, 7) == (100, 1) and aspect_ratio(7, 100_000) == (1, 100)


async def test_reorder_persists(user_client: UserClient) -> None:
    admin, _ = await user_client(UserRole.ADMIN)
    a, b, c = [await create(admin, category="PORTRAIT", sortOrder=50) for _ in range(3)]
    response = await admin.put(f"{ADMIN}/order", json={"itemIds": [c["id"], a["id"], b["id"]]})
    assert response.status_code == 200, response.text
    assert [(i["id"], i["sortOrder"]) for i in response.json()["items"]] == [
        (c["id"], 0),
        (a["id"], 1),
        (b["id"], 2),
    ]
    for item, order in ((c, 0), (a, 1), (b, 2)):
        assert (await admin.get(f"{ADMIN}/{item['id']}")).json()["sortOrder"] == order

    unknown = await admin.put(f"{ADMIN}/order", json={"itemIds": [b["id"], "c" + "0" * 24]})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_featured_items"
    assert unknown.json()["error"]["details"] == {"itemIds": ["c" + "0" * 24]}
    assert (await admin.get(f"{ADMIN}/{b['id']}")).json()["sortOrder"] == 2  # nothing changed
    twice = await admin.put(f"{ADMIN}/order", json={"itemIds": [a["id"], a["id"]]})
    assert twice.status_code == 422
    assert (await admin.put(f"{ADMIN}/order", json={"itemIds": []})).status_code == 422


async def test_public_listing(client: httpx.AsyncClient, user_client: UserClient) -> None:
    admin, _ = await user_client(UserRole.ADMIN)
    later = await create(admin, category="PRODUCT", sortOrder=2)
    hidden = await create(admin, category="PRODUCT", sortOrder=0, isActive=False)
    first = await create(admin, category="PRODUCT", sortOrder=1)
    newest = await create(admin, category="PRODUCT", sortOrder=1)
    elsewhere = await create(admin, category="PORTRAIT", sortOrder=0)
    mine = {item["id"] for item in (later, hidden, first, newest, elsewhere)}

    response = await client.get(PUBLIC, params={"category": "PRODUCT"})  # anonymous
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "public, max-age=60"
    items = response.json()["items"]
    assert all(i["category"] == "PRODUCT" for i in items)
    assert [i["id"] for i in items if i["id"] in mine] == [newest["id"], first["id"], later["id"]]
    assert set(items[0]) == {
        "id",
        "title",
        "description",
        "category",
        "originalUrl",
        "enhancedUrl",
        "width",
        "height",
        "createdAt",
    }

    everything = [i["id"] for i in (await client.get(PUBLIC)).json()["items"]]
    assert elsewhere["id"] in everything and hidden["id"] not in everything
    assert (await client.get(PUBLIC, params={"category": "SELFIE"})).status_code == 422


async def test_cache_serves_repeats_and_admin_changes_invalidate(
    app: FastAPI, client: httpx.AsyncClient, user_client: UserClient
) -> None:
    admin, _ = await user_client(UserRole.ADMIN)
    item = await create(admin, category="ARCHITECTURE", sortOrder=0)
    params = {"category": "ARCHITECTURE"}

    with counted_statements(app) as first:
        titles = {i["id"]: i["title"] for i in (await client.get(PUBLIC, params=params)).json()["items"]}
    assert first and titles[item["id"]] == item["title"]
    with counted_statements(app) as repeat:
        again = await client.get(PUBLIC, params=params)
    assert repeat == [] and again.status_code == 200
    assert {i["id"]: i["title"] for i in again.json()["items"]} == titles
    with counted_statements(app) as other_category:
        await client.get(PUBLIC, params={"category": "PORTRAIT"})
    assert other_category  # its own entry

    renamed = await admin.patch(f"{ADMIN}/{item['id']}", json={"title": "Renamed"})
    assert renamed.status_code == 200
    after = {i["id"]: i["title"] for i in (await client.get(PUBLIC, params=params)).json()["items"]}
    assert after[item["id"]] == "Renamed"

    await admin.patch(f"{ADMIN}/{item['id']}", json={"isActive": False})
    assert item["id"] not in {i["id"] for i in (await client.get(PUBLIC, params=params)).json()["items"]}
    added = await create(admin, category="ARCHITECTURE", sortOrder=0)
    listed = [i["id"] for i in (await client.get(PUBLIC, params=params)).json()["items"]]
    assert added["id"] in listed
    await admin.put(f"{ADMIN}/order", json={"itemIds": [added["id"]]})
    with counted_statements(app) as after_reorder:
        await client.get(PUBLIC, params=params)
    assert after_reorder
    await admin.delete(f"{ADMIN}/{added['id']}")
    assert added["id"] not in {i["id"] for i in (await client.get(PUBLIC, params=params)).json()["items"]}

    refused = await admin.patch(f"{ADMIN}/{'c' + '0' * 24}", json={"title": "x"})
    assert refused.status_code == 404
    with counted_statements(app) as after_failure:
        await client.get(PUBLIC, params=params)
    assert after_failure == []  # a refused change invalidates nothing


async def test_cache_bumps_only_when_the_transaction_commits(app: FastAPI) -> None:
    cache = FeaturedCache()
    async with app.state.sessionmaker() as session:
        cache.invalidate_after_commit(session)
        await session.execute(text("SELECT 1"))
        await session.rollback()
    assert cache.version == 0
    async with app.state.sessionmaker() as session:
        cache.invalidate_after_commit(session)
        await session.scalar(select(FeaturedGalleryItem.id).limit(1))
        assert cache.version == 0  # not yet: a reader now must still see the old version
        await session.commit()
    assert cache.version == 1


def test_a_reader_older_than_the_change_cannot_refill_the_cache() -> None:
    now = [0.0]
    cache = FeaturedCache(ttl=60, clock=lambda: now[0])
    gallery = FeaturedGallery(items=[])
    noted = cache.version  # a reader notes the version, then queries the old rows...
    cache.invalidate()  # ...while an admin's change commits
    cache.put("*", noted, gallery)
    assert cache.get("*") is None

    cache.put("*", cache.version, gallery)
    assert cache.get("*") is gallery
    now[0] = 59.9
    assert cache.get("*") is gallery
    now[0] = 60.0
    assert cache.get("*") is None  # past its time to live
