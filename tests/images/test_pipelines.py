"""Enhancement pipelines over HTTP: CRUD, visibility, forks, the per-user limit, system pipelines.

The app's requests commit, so every user made here (and with them their pipelines, albums, images
and jobs, by cascade) and every system pipeline is deleted when the test ends.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from spikeland.core.errors import SpikelandError
from spikeland.db.engine import transaction
from spikeland.db.enums import EnhancementTier, JobStatus
from spikeland.gallery.models import Album
from spikeland.identity.models import User
from spikeland.images import pipelines
from spikeland.images.models import EnhancedImage, EnhancementPipeline, ImageEnhancementJob
from spikeland.images.pipeline_schemas import PipelineCreate
from tests.support import http_client, make_user
from tests.support.fixtures import UserClient

URL = "/api/v1/pipelines"


@pytest.fixture
async def made(app: FastAPI) -> AsyncIterator[dict[str, list[str]]]:
    """Ids of committed users and system pipelines to delete after the test."""
    rows: dict[str, list[str]] = {"users": [], "system": []}
    yield rows
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(delete(EnhancementPipeline).where(EnhancementPipeline.id.in_(rows["system"])))
        await session.execute(delete(User).where(User.id.in_(rows["users"])))


@pytest.fixture
def user_client(user_client: UserClient, made: dict[str, list[str]]) -> UserClient:
    """The shared ``user_client``, its users recorded in ``made`` to be deleted after the test."""

    async def make(*args: Any, **kwargs: Any) -> tuple[httpx.AsyncClient, str]:
        client, user_id = await user_client(*args, **kwargs)
        made["users"].append(user_id)
        return client, user_id

    return make


async def create(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    body.setdefault("name", f"pipe {secrets.token_hex(3)}")
    response = await client.post(URL, json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def listed(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """Every pipeline the caller's list shows, by id (following the cursors)."""
    seen: dict[str, dict[str, Any]] = {}
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = (await client.get(URL, params=params)).json()
        seen.update((item["id"], item) for item in page["items"])
        if not page["nextCursor"]:
            return seen
        params["cursor"] = page["nextCursor"]


async def stored(app: FastAPI, pipeline_id: str) -> EnhancementPipeline | None:
    async with transaction(app.state.sessionmaker) as session:
        return await session.get(EnhancementPipeline, pipeline_id)


async def add_rows(app: FastAPI, *rows: Any) -> None:
    async with transaction(app.state.sessionmaker) as session:
        session.add_all(rows)


async def system_pipeline(app: FastAPI, made: dict[str, list[str]], **fields: Any) -> EnhancementPipeline:
    fields.setdefault("name", f"System {secrets.token_hex(3)}")
    pipeline = EnhancementPipeline(user_id=None, prompt_config={"customInstructions": "Be gentle."}, **fields)
    await add_rows(app, pipeline)
    made["system"].append(pipeline.id)
    return pipeline


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def test_create_read_update_delete(app: FastAPI, user_client: UserClient) -> None:
    client, user_id = await user_client()
    created = await create(
        client,
        name="  Night shots  ",
        description="Dark scenes",
        tier="TIER_2K",
        autoCropConfig={"enabled": False, "allowUIElementCrop": False},
        generationConfig={"temperature": 0.4, "retryAttempts": 5},
    )
    assert created["name"] == "Night shots" and created["tier"] == "TIER_2K"
    assert (created["visibility"], created["shareToken"], created["usageCount"]) == ("PRIVATE", None, 0)
    assert created["isOwner"] is True and created["isSystem"] is False
    row = await stored(app, created["id"])
    assert row is not None and row.user_id == user_id
    assert row.auto_crop_config == {"enabled": False, "allowUIElementCrop": False}  # camelCase, as sent
    assert row.generation_config == {"temperature": 0.4, "retryAttempts": 5}
    assert row.analysis_config is None and row.prompt_config is None  # NULL: the system default

    fetched = (await client.get(f"{URL}/{created['id']}")).json()
    assert fetched == created
    assert (await listed(client))[created["id"]]["isOwner"] is True

    patched = await client.patch(
        f"{URL}/{created['id']}",
        json={"name": " Night ", "description": None, "autoCropConfig": None, "promptConfig": {}},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert (body["name"], body["description"], body["tier"]) == ("Night", None, "TIER_2K")
    assert (body["autoCropConfig"], body["promptConfig"]) == (None, {})
    assert body["generationConfig"] == {"temperature": 0.4, "retryAttempts": 5}  # not sent: unchanged

    assert (await client.delete(f"{URL}/{created['id']}")).status_code == 204
    gone = await client.get(f"{URL}/{created['id']}")
    assert (gone.status_code, error_code(gone)) == (404, "pipeline_not_found")
    assert await stored(app, created["id"]) is None


@pytest.mark.parametrize(
    "body",
    [
        {"analysisConfig": {"enabled": True, "colour": "blue"}},  # unknown key
        {"generationConfig": {"temperature": 3}},
        {"promptConfig": {"skipCorrections": ["isDark"] * 8}},
        {"promptConfig": {"skipCorrections": ["isPurple"]}},
        {"autoCropConfig": {"minCropRatio": 1.5}},
        {"tier": "FREE"},
        {"tier": "TIER_8K"},
        {"visibility": "SECRET"},
        {"name": "   "},
        {"name": "x" * 101},
        {"description": "d" * 1001},
        {"usageCount": 1000},  # not the client's to set
    ],
)
async def test_invalid_bodies_are_422(user_client: UserClient, body: dict[str, Any]) -> None:
    client, _ = await user_client()
    response = await client.post(URL, json={"name": "ok", **body})
    assert (response.status_code, error_code(response)) == (422, "validation_error"), response.text
    pipeline = await create(client)
    patched = await client.patch(f"{URL}/{pipeline['id']}", json=body)
    assert patched.status_code == 422, patched.text


async def test_required_fields_cannot_be_patched_to_null(user_client: UserClient) -> None:
    client, _ = await user_client()
    pipeline = await create(client)
    for field in ("name", "tier", "visibility"):
        assert (await client.patch(f"{URL}/{pipeline['id']}", json={field: None})).status_code == 422


async def test_anonymous_callers_read_but_do_not_write(app: FastAPI, user_client: UserClient) -> None:
    owner, _ = await user_client()
    public = await create(owner, visibility="PUBLIC")
    async with http_client(app) as anonymous:
        assert (await anonymous.get(f"{URL}/{public['id']}")).json()["isOwner"] is False
        assert public["id"] in await listed(anonymous)
        assert (await anonymous.post(URL, json={"name": "x"})).status_code == 401
        assert (await anonymous.post(f"{URL}/{public['id']}/fork")).status_code == 401


async def test_visibility_rules(app: FastAPI, user_client: UserClient) -> None:
    owner, _ = await user_client()
    other, _ = await user_client()
    private = await create(owner)
    public = await create(owner, visibility="PUBLIC")
    link = await create(owner, visibility="LINK")
    token = link["shareToken"]
    assert isinstance(token, str) and len(token) >= 22

    theirs = await listed(other)
    assert public["id"] in theirs and private["id"] not in theirs and link["id"] not in theirs
    assert {k: theirs[public["id"]][k] for k in ("isOwner", "isSystem", "shareToken")} == {
        "isOwner": False,
        "isSystem": False,
        "shareToken": None,
    }
    assert {private["id"], public["id"], link["id"]} <= set(await listed(owner))

    for path, params in [
        (private["id"], {}),
        (private["id"], {"token": token}),  # another pipeline's token opens nothing
        (link["id"], {}),
        (link["id"], {"token": token[:-1] + ("A" if token[-1] != "A" else "B")}),
        (link["id"], {"token": "é" * 22}),
        ("c" + "0" * 24, {}),
    ]:
        response = await other.get(f"{URL}/{path}", params=params)
        assert (response.status_code, error_code(response)) == (404, "pipeline_not_found"), params
    shared = await other.get(f"{URL}/{link['id']}", params={"token": token})
    assert shared.status_code == 200 and shared.json()["shareToken"] is None  # only the owner sees it
    assert (await other.get(f"{URL}/{public['id']}")).status_code == 200

    for pipeline in (private, public, link):
        path = f"{URL}/{pipeline['id']}"
        assert (await other.patch(path, json={"name": "mine now"})).status_code == 404
        assert (await other.delete(path)).status_code == 404
    assert (await stored(app, private["id"])) is not None

    # Away from LINK the token grants nothing; back to LINK the same token works again.
    hidden = await owner.patch(f"{URL}/{link['id']}", json={"visibility": "PRIVATE"})
    assert hidden.json()["shareToken"] == token
    assert (await other.get(f"{URL}/{link['id']}", params={"token": token})).status_code == 404
    relinked = await owner.patch(f"{URL}/{link['id']}", json={"visibility": "LINK"})
    assert relinked.json()["shareToken"] == token
    assert (await other.get(f"{URL}/{link['id']}", params={"token": token})).status_code == 200
    made_link = (await owner.patch(f"{URL}/{private['id']}", json={"visibility": "LINK"})).json()
    assert made_link["shareToken"] and made_link["shareToken"] != token


async def test_list_is_paginated_newest_first(user_client: UserClient) -> None:
    client, _ = await user_client()
    ids = [(await create(client))["id"] for _ in range(3)]
    first = (await client.get(URL, params={"limit": 2})).json()
    assert first["nextCursor"]
    second = (await client.get(URL, params={"limit": 2, "cursor": first["nextCursor"]})).json()
    mine = [p["id"] for p in first["items"] + second["items"] if p["isOwner"]]
    assert mine[:3] == ids[::-1]
    bad = await client.get(URL, params={"cursor": "not-a-cursor"})
    assert (bad.status_code, error_code(bad)) == (422, "invalid_cursor")


async def test_fork_copies_and_follows_the_access_rule(user_client: UserClient) -> None:
    owner, _ = await user_client()
    other, _ = await user_client()
    link = await create(
        owner,
        name="n" * 100,
        description="Old photos",
        visibility="LINK",
        tier="TIER_4K",
        promptConfig={"customInstructions": "Restore scratches."},
    )
    assert (await other.post(f"{URL}/{link['id']}/fork")).status_code == 404
    forked = await other.post(f"{URL}/{link['id']}/fork", params={"token": link["shareToken"]})
    assert forked.status_code == 201, forked.text
    fork = forked.json()
    assert fork["name"] == "n" * 93 + " (copy)" and len(fork["name"]) == 100
    assert (fork["visibility"], fork["shareToken"], fork["isOwner"]) == ("PRIVATE", None, True)
    assert (fork["tier"], fork["description"]) == ("TIER_4K", "Old photos")
    assert fork["promptConfig"] == {"customInstructions": "Restore scratches."}
    assert fork["id"] != link["id"] and fork["usageCount"] == 0

    named = await other.post(f"{URL}/{fork['id']}/fork", json={"name": "  Mine  "})
    assert named.status_code == 201 and named.json()["name"] == "Mine"
    private = await create(owner)
    assert (await other.post(f"{URL}/{private['id']}/fork")).status_code == 404


async def test_fifty_pipelines_per_user_forks_included(app: FastAPI, user_client: UserClient) -> None:
    client, user_id = await user_client()
    public = await create(client, visibility="PUBLIC")
    await add_rows(app, *(EnhancementPipeline(name=f"p{i}", user_id=user_id) for i in range(48)))
    last = await create(client)  # the 50th

    over = await client.post(URL, json={"name": "one more"})
    assert (over.status_code, error_code(over)) == (429, "pipeline_limit")
    fork = await client.post(f"{URL}/{public['id']}/fork")
    assert (fork.status_code, error_code(fork)) == (429, "pipeline_limit")

    assert (await client.delete(f"{URL}/{last['id']}")).status_code == 204
    assert (await client.post(f"{URL}/{public['id']}/fork")).status_code == 201
    assert (await client.post(URL, json={"name": "again"})).status_code == 429


async def _create_outcome(makers: async_sessionmaker[AsyncSession], user_id: str, name: str) -> str:
    try:
        async with transaction(makers) as session:
            await pipelines.create_pipeline(session, user_id, PipelineCreate(name=name))
    except SpikelandError as exc:
        return exc.code
    return "ok"


async def test_concurrent_creates_never_pass_the_limit(
    engine: AsyncEngine, made: dict[str, list[str]]
) -> None:
    makers = async_sessionmaker(engine, expire_on_commit=False)
    async with transaction(makers) as session:
        user_id = (await make_user(session)).id
        session.add_all(EnhancementPipeline(name=f"p{i}", user_id=user_id) for i in range(45))
    made["users"].append(user_id)

    outcomes = await asyncio.gather(*(_create_outcome(makers, user_id, f"race {i}") for i in range(12)))
    assert Counter(outcomes) == {"ok": 5, "pipeline_limit": 7}
    async with transaction(makers) as session:
        count = select(func.count()).where(EnhancementPipeline.user_id == user_id)
        assert await session.scalar(count) == 50


async def test_delete_is_refused_while_an_album_uses_it(app: FastAPI, user_client: UserClient) -> None:
    client, user_id = await user_client()
    pipeline = await create(client)
    album = Album(user_id=user_id, name="Trips", pipeline_id=pipeline["id"])
    image = EnhancedImage(
        user_id=user_id,
        name="a.jpg",
        original_url="/a",
        original_r2_key="a",
        original_width=1,
        original_height=1,
        original_size_bytes=1,
        original_format="jpeg",
    )
    await add_rows(app, album, image)
    job = ImageEnhancementJob(
        image_id=image.id,
        user_id=user_id,
        tier=EnhancementTier.TIER_1K,
        tokens_cost=2,
        status=JobStatus.COMPLETED,
        pipeline_id=pipeline["id"],
    )
    await add_rows(app, job)

    refused = await client.delete(f"{URL}/{pipeline['id']}")
    assert (refused.status_code, error_code(refused)) == (409, "pipeline_in_use")
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(delete(Album).where(Album.id == album.id))
    assert (await client.delete(f"{URL}/{pipeline['id']}")).status_code == 204
    async with transaction(app.state.sessionmaker) as session:
        kept = await session.get(ImageEnhancementJob, job.id)
        assert kept is not None and kept.pipeline_id is None  # the job's history stays


async def test_system_pipelines_are_for_everyone_and_nobody_edits_them(
    app: FastAPI, user_client: UserClient, made: dict[str, list[str]]
) -> None:
    system = await system_pipeline(app, made, tier=EnhancementTier.TIER_2K)
    client, _ = await user_client()
    seen = (await listed(client))[system.id]
    assert (seen["isSystem"], seen["isOwner"], seen["tier"]) == (True, False, "TIER_2K")
    async with http_client(app) as anonymous:
        assert system.id in await listed(anonymous)
        assert (await anonymous.get(f"{URL}/{system.id}")).json()["isSystem"] is True

    path = f"{URL}/{system.id}"
    assert (await client.patch(path, json={"name": "Hijacked"})).status_code == 404
    assert (await client.delete(path)).status_code == 404
    kept = await stored(app, system.id)
    assert kept is not None and kept.name == system.name

    fork = await client.post(f"{path}/fork")
    assert fork.status_code == 201
    assert fork.json()["name"] == f"{system.name} (copy)" and fork.json()["isSystem"] is False
    assert fork.json()["promptConfig"] == {"customInstructions": "Be gentle."}


# ----------------------------------------------------------------------------- for the job pipeline


async def test_resolve_for_job_fills_defaults_and_checks_use(session: AsyncSession) -> None:
    owner, other = await make_user(session), await make_user(session)
    data = PipelineCreate.model_validate(
        {"name": "Mine", "tier": "TIER_4K", "generationConfig": {"retryAttempts": 7}}
    )
    private = await pipelines.create_pipeline(session, owner.id, data)
    resolved = await pipelines.resolve_for_job(session, private.id, owner.id)
    assert (resolved.pipeline_id, resolved.tier) == (private.id, EnhancementTier.TIER_4K)
    assert resolved.generation.retry_attempts == 7 and resolved.generation.temperature is None
    assert resolved.auto_crop.enabled and resolved.auto_crop.min_crop_ratio == 0.05  # defaults filled
    assert resolved.prompt.skip_corrections == [] and resolved.analysis.enabled

    with pytest.raises(pipelines.PipelineNotFound):
        await pipelines.resolve_for_job(session, private.id, other.id)
    link = await pipelines.create_pipeline(session, owner.id, PipelineCreate(name="L", visibility="LINK"))
    with pytest.raises(pipelines.PipelineNotFound):
        await pipelines.resolve_for_job(session, link.id, other.id)
    with_token = await pipelines.resolve_for_job(session, link.id, other.id, link.share_token)
    assert with_token.pipeline_id == link.id
    public = await pipelines.create_pipeline(session, owner.id, PipelineCreate(name="P", visibility="PUBLIC"))
    assert (await pipelines.resolve_for_job(session, public.id, other.id)).pipeline_id == public.id
    with pytest.raises(pipelines.PipelineNotFound):
        await pipelines.resolve_for_job(session, "c" + "1" * 24, owner.id)

    none = await pipelines.resolve_for_job(session, None, other.id)
    assert (none.pipeline_id, none.tier, none.generation.retry_attempts) == (None, EnhancementTier.TIER_1K, 3)


async def test_resolve_refuses_a_stored_config_that_is_not_valid(session: AsyncSession) -> None:
    owner = await make_user(session)
    broken = EnhancementPipeline(name="Old", user_id=owner.id, generation_config={"temperature": 9})
    session.add(broken)
    await session.flush()
    with pytest.raises(SpikelandError) as caught:
        await pipelines.resolve_for_job(session, broken.id, owner.id)
    assert (caught.value.status_code, caught.value.code) == (422, "invalid_pipeline_config")


async def test_count_use_adds_one_and_keeps_updated_at(session: AsyncSession) -> None:
    owner = await make_user(session)
    pipeline = await pipelines.create_pipeline(session, owner.id, PipelineCreate(name="Used"))
    edited = pipeline.updated_at
    await pipelines.count_use(session, pipeline.id)
    await pipelines.count_use(session, pipeline.id)
    await session.refresh(pipeline)
    assert (pipeline.usage_count, pipeline.updated_at) == (2, edited)


async def test_seeding_system_pipelines_is_idempotent(session: AsyncSession) -> None:
    presets = pipelines.system_pipelines()
    assert len(presets) >= 3 and all(p["user_id"] is None for p in presets)
    assert all(p["tier"] != EnhancementTier.FREE for p in presets)
    owner = await make_user(session)
    session.add(EnhancementPipeline(name=presets[0]["name"], user_id=owner.id))  # a user's, same name
    await session.flush()

    await pipelines.seed_system_pipelines(session)
    assert await pipelines.seed_system_pipelines(session) == 0
    system = select(EnhancementPipeline).where(EnhancementPipeline.user_id.is_(None))
    by_name = {p.name: p for p in await session.scalars(system)}
    assert {p["name"] for p in presets} <= set(by_name)
    for preset in presets:  # each is usable by any user, with valid configs
        resolved = await pipelines.resolve_for_job(session, by_name[preset["name"]].id, owner.id)
        assert resolved.tier == preset["tier"]
