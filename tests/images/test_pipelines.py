"""Enhancement pipelines: CRUD, visibility, forks, the per-user limit, system pipelines.

The rules live in images.pipelines (and the bodies' limits in pipeline_schemas), so they are tested
there, on the rolled-back ``session`` with rows from the factories: no request, no commit, nothing
to clean up. Each route keeps an HTTP test for its contract (status, envelope, camelCase, what
``isOwner``/``isSystem``/``shareToken`` show to whom, 401 for anonymous writes). Those, and the
concurrency test (committed rows, transactions of their own), commit: every user they make (and
with them their pipelines, by cascade) is deleted when the test ends.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from spikeland.core.clock import utcnow
from spikeland.core.errors import SpikelandError, ValidationFailed
from spikeland.db.engine import transaction
from spikeland.db.enums import EnhancementTier, JobStatus
from spikeland.gallery.models import Album
from spikeland.identity.models import User
from spikeland.images import pipelines
from spikeland.images.models import EnhancementPipeline, ImageEnhancementJob, PipelineVisibility
from spikeland.images.pipeline_schemas import PipelineCreate, PipelineOut, PipelineUpdate
from spikeland.images.pipelines import PipelineInUse, PipelineLimit, PipelineNotFound
from tests.support import http_client, make_image, make_pipeline, make_user
from tests.support.fixtures import UserClient

URL = "/api/v1/pipelines"
PRIVATE, PUBLIC, LINK = PipelineVisibility.PRIVATE, PipelineVisibility.PUBLIC, PipelineVisibility.LINK


@pytest.fixture
async def made(app: FastAPI) -> AsyncIterator[dict[str, list[str]]]:
    """Ids of committed users to delete after the test."""
    rows: dict[str, list[str]] = {"users": []}
    yield rows
    async with transaction(app.state.sessionmaker) as session:
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


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


async def _create(session: AsyncSession, user: User, **body: Any) -> EnhancementPipeline:
    """A pipeline made by the service from a body as the API receives it (camelCase)."""
    body.setdefault("name", f"pipe {secrets.token_hex(3)}")
    return await pipelines.create_pipeline(session, user.id, PipelineCreate.model_validate(body))


async def _update(session: AsyncSession, user: User, pipeline_id: str, **body: Any) -> EnhancementPipeline:
    return await pipelines.update_pipeline(session, pipeline_id, user.id, PipelineUpdate.model_validate(body))


async def _listed_ids(session: AsyncSession, user_id: str | None) -> set[str]:
    """Every pipeline the user's list shows (following the cursors)."""
    seen: set[str] = set()
    cursor = None
    while True:
        page = await pipelines.list_pipelines(session, user_id, limit=100, cursor=cursor)
        seen |= {p.id for p in page.items}
        if not page.next_cursor:
            return seen
        cursor = page.next_cursor


# ----------------------------------------------------------------------------- rules (service)


async def test_create_update_delete(session: AsyncSession) -> None:
    user = await make_user(session)
    created = await _create(
        session,
        user,
        name="  Night shots  ",
        description="Dark scenes",
        tier="TIER_2K",
        autoCropConfig={"enabled": False, "allowUIElementCrop": False},
        generationConfig={"temperature": 0.4, "retryAttempts": 5},
    )
    assert (created.name, created.tier, created.user_id) == ("Night shots", "TIER_2K", user.id)
    assert (created.visibility, created.share_token, created.usage_count) == (PRIVATE, None, 0)
    assert created.auto_crop_config == {"enabled": False, "allowUIElementCrop": False}  # camelCase, as sent
    assert created.generation_config == {"temperature": 0.4, "retryAttempts": 5}
    assert created.analysis_config is None and created.prompt_config is None  # NULL: the system default

    patched = await _update(
        session, user, created.id, name=" Night ", description=None, autoCropConfig=None, promptConfig={}
    )
    assert (patched.name, patched.description, patched.tier) == ("Night", None, "TIER_2K")
    assert (patched.auto_crop_config, patched.prompt_config) == (None, {})
    assert patched.generation_config == {"temperature": 0.4, "retryAttempts": 5}  # not sent: unchanged

    await pipelines.delete_pipeline(session, created.id, user.id)
    with pytest.raises(PipelineNotFound) as gone:
        await pipelines.get_pipeline(session, created.id, user.id)
    assert gone.value.code == "pipeline_not_found"


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
def test_invalid_bodies_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PipelineCreate.model_validate({"name": "ok", **body})
    with pytest.raises(ValidationError):
        PipelineUpdate.model_validate(body)


def test_required_fields_cannot_be_patched_to_null() -> None:
    for field in ("name", "tier", "visibility"):
        with pytest.raises(ValidationError):
            PipelineUpdate.model_validate({field: None})
    # The others may be: null clears the description or resets a config to the default.
    cleared = PipelineUpdate.model_validate({"description": None, "promptConfig": None})
    assert cleared.model_fields_set == {"description", "prompt_config"}


async def test_visibility_rules(session: AsyncSession) -> None:
    owner, other = await make_user(session), await make_user(session)
    private = await _create(session, owner)
    public = await _create(session, owner, visibility="PUBLIC")
    link = await _create(session, owner, visibility="LINK")
    token = link.share_token
    assert isinstance(token, str) and len(token) >= 22

    theirs = await _listed_ids(session, other.id)
    assert public.id in theirs and private.id not in theirs and link.id not in theirs
    assert {private.id, public.id, link.id} <= await _listed_ids(session, owner.id)
    assert public.id in await _listed_ids(session, None)  # anonymous callers read public ones

    for pipeline_id, given in [
        (private.id, None),
        (private.id, token),  # another pipeline's token opens nothing
        (link.id, None),
        (link.id, token[:-1] + ("A" if token[-1] != "A" else "B")),
        (link.id, "é" * 22),
        ("c" + "0" * 24, None),
    ]:
        with pytest.raises(PipelineNotFound):
            await pipelines.get_pipeline(session, pipeline_id, other.id, given)
    shared = await pipelines.get_pipeline(session, link.id, other.id, token)
    assert shared.id == link.id
    # The token is shown to the owner only.
    assert PipelineOut.of(shared, other.id).share_token is None
    assert PipelineOut.of(shared, owner.id).share_token == token
    assert (await pipelines.get_pipeline(session, public.id, other.id)).id == public.id
    assert (await pipelines.get_pipeline(session, public.id, None)).id == public.id

    for pipeline in (private, public, link):
        with pytest.raises(PipelineNotFound):
            await _update(session, other, pipeline.id, name="mine now")
        with pytest.raises(PipelineNotFound):
            await pipelines.delete_pipeline(session, pipeline.id, other.id)
    assert (await pipelines.get_pipeline(session, private.id, owner.id)).name == private.name

    # Away from LINK the token grants nothing; back to LINK the same token works again.
    hidden = await _update(session, owner, link.id, visibility="PRIVATE")
    assert hidden.share_token == token
    with pytest.raises(PipelineNotFound):
        await pipelines.get_pipeline(session, link.id, other.id, token)
    assert (await _update(session, owner, link.id, visibility="LINK")).share_token == token
    assert (await pipelines.get_pipeline(session, link.id, other.id, token)).id == link.id
    made_link = await _update(session, owner, private.id, visibility="LINK")
    assert made_link.share_token and made_link.share_token != token


async def test_list_is_paginated_newest_first(session: AsyncSession) -> None:
    user = await make_user(session)
    # Rows made in one transaction share CURRENT_TIMESTAMP: the dates are set, later than the rest.
    soon = utcnow() + timedelta(days=1)
    ids = [
        (await make_pipeline(session, user.id, created_at=soon + timedelta(seconds=i))).id for i in range(3)
    ]
    first = await pipelines.list_pipelines(session, user.id, limit=2)
    assert first.next_cursor
    second = await pipelines.list_pipelines(session, user.id, limit=2, cursor=first.next_cursor)
    mine = [p.id for p in first.items + second.items if p.user_id == user.id]
    assert mine == ids[::-1]
    with pytest.raises(ValidationFailed) as bad:
        await pipelines.list_pipelines(session, user.id, cursor="not-a-cursor")
    assert bad.value.code == "invalid_cursor"


async def test_fork_copies_and_follows_the_access_rule(session: AsyncSession) -> None:
    owner, other = await make_user(session), await make_user(session)
    link = await _create(
        session,
        owner,
        name="n" * 100,
        description="Old photos",
        visibility="LINK",
        tier="TIER_4K",
        promptConfig={"customInstructions": "Restore scratches."},
    )
    with pytest.raises(PipelineNotFound):
        await pipelines.fork_pipeline(session, link.id, other.id)
    fork = await pipelines.fork_pipeline(session, link.id, other.id, token=link.share_token)
    assert fork.name == "n" * 93 + " (copy)" and len(fork.name) == 100
    assert (fork.visibility, fork.share_token, fork.user_id) == (PRIVATE, None, other.id)
    assert (fork.tier, fork.description) == ("TIER_4K", "Old photos")
    assert fork.prompt_config == {"customInstructions": "Restore scratches."}
    assert fork.id != link.id and fork.usage_count == 0

    named = await pipelines.fork_pipeline(session, fork.id, other.id, name="Mine")
    assert named.name == "Mine"
    private = await _create(session, owner)
    with pytest.raises(PipelineNotFound):
        await pipelines.fork_pipeline(session, private.id, other.id)


async def test_fifty_pipelines_per_user_forks_included(session: AsyncSession) -> None:
    user = await make_user(session)
    public = await _create(session, user, visibility="PUBLIC")
    for i in range(48):
        await make_pipeline(session, user.id, name=f"p{i}")
    last = await _create(session, user)  # the 50th

    with pytest.raises(PipelineLimit) as over:
        await _create(session, user, name="one more")
    assert (over.value.code, over.value.details) == ("pipeline_limit", {"limit": 50})
    with pytest.raises(PipelineLimit):
        await pipelines.fork_pipeline(session, public.id, user.id)

    await pipelines.delete_pipeline(session, last.id, user.id)
    assert (await pipelines.fork_pipeline(session, public.id, user.id)).user_id == user.id
    with pytest.raises(PipelineLimit):
        await _create(session, user, name="again")


async def test_delete_is_refused_while_an_album_uses_it(session: AsyncSession) -> None:
    user = await make_user(session)
    pipeline = await _create(session, user)
    album = Album(user_id=user.id, name="Trips", pipeline_id=pipeline.id)
    image = await make_image(session, user.id)
    session.add(album)
    job = ImageEnhancementJob(
        image_id=image.id,
        user_id=user.id,
        tier=EnhancementTier.TIER_1K,
        tokens_cost=2,
        status=JobStatus.COMPLETED,
        pipeline_id=pipeline.id,
    )
    session.add(job)
    await session.flush()

    with pytest.raises(PipelineInUse) as refused:
        await pipelines.delete_pipeline(session, pipeline.id, user.id)
    assert refused.value.code == "pipeline_in_use"
    await session.delete(album)
    await pipelines.delete_pipeline(session, pipeline.id, user.id)
    await session.refresh(job)
    assert job.pipeline_id is None  # the job's history stays


async def test_system_pipelines_are_for_everyone_and_nobody_edits_them(session: AsyncSession) -> None:
    system = await make_pipeline(
        session, None, tier=EnhancementTier.TIER_2K, prompt_config={"customInstructions": "Be gentle."}
    )
    user = await make_user(session)
    assert system.id in await _listed_ids(session, user.id)
    assert system.id in await _listed_ids(session, None)
    assert (await pipelines.get_pipeline(session, system.id, None)).id == system.id

    with pytest.raises(PipelineNotFound):
        await _update(session, user, system.id, name="Hijacked")
    with pytest.raises(PipelineNotFound):
        await pipelines.delete_pipeline(session, system.id, user.id)
    assert (await pipelines.get_pipeline(session, system.id, user.id)).user_id is None

    # What the API shows of it: a system pipeline, nobody's own.
    shown = PipelineOut.of(system, user.id)
    assert (shown.is_system, shown.is_owner, shown.tier) == (True, False, EnhancementTier.TIER_2K)

    fork = await pipelines.fork_pipeline(session, system.id, user.id)
    assert (fork.name, fork.user_id) == (f"{system.name} (copy)", user.id)
    assert fork.prompt_config == {"customInstructions": "Be gentle."}


# ----------------------------------------------------------------------------- contract (HTTP)


async def test_create_route(app: FastAPI, user_client: UserClient) -> None:
    client, _ = await user_client()
    created = await create(client, name="Night", tier="TIER_2K", generationConfig={"retryAttempts": 5})
    assert (created["name"], created["tier"], created["visibility"]) == ("Night", "TIER_2K", "PRIVATE")
    assert (created["shareToken"], created["usageCount"], created["description"]) == (None, 0, None)
    assert (created["isOwner"], created["isSystem"]) == (True, False)
    assert created["generationConfig"] == {"retryAttempts": 5} and created["autoCropConfig"] is None
    assert {"id", "createdAt", "updatedAt", "analysisConfig", "promptConfig"} <= set(created)
    invalid = await client.post(URL, json={"name": "ok", "tier": "FREE"})
    assert (invalid.status_code, error_code(invalid)) == (422, "validation_error")
    async with http_client(app) as anonymous:
        assert (await anonymous.post(URL, json={"name": "x"})).status_code == 401


async def test_read_routes_show_the_token_to_the_owner_only(app: FastAPI, user_client: UserClient) -> None:
    owner, _ = await user_client()
    other, _ = await user_client()
    link = await create(owner, visibility="LINK")
    public = await create(owner, visibility="PUBLIC")
    token = link["shareToken"]
    assert isinstance(token, str)
    assert (await owner.get(f"{URL}/{link['id']}")).json() == link

    shared = await other.get(f"{URL}/{link['id']}", params={"token": token})
    assert shared.status_code == 200
    assert (shared.json()["shareToken"], shared.json()["isOwner"]) == (None, False)
    hidden = await other.get(f"{URL}/{link['id']}")
    assert (hidden.status_code, error_code(hidden)) == (404, "pipeline_not_found")

    first = await owner.get(URL, params={"limit": 1})
    assert first.status_code == 200 and first.json()["nextCursor"]
    assert [p["id"] for p in first.json()["items"]] == [public["id"]]  # newest first
    second = await owner.get(URL, params={"limit": 1, "cursor": first.json()["nextCursor"]})
    assert [p["id"] for p in second.json()["items"]] == [link["id"]]
    bad = await owner.get(URL, params={"cursor": "not-a-cursor"})
    assert (bad.status_code, error_code(bad)) == (422, "invalid_cursor")
    async with http_client(app) as anonymous:
        seen = (await anonymous.get(f"{URL}/{public['id']}")).json()
        assert (seen["isOwner"], seen["isSystem"], seen["shareToken"]) == (False, False, None)
        assert (await anonymous.get(URL, params={"limit": 1})).status_code == 200


async def test_update_and_delete_routes(user_client: UserClient) -> None:
    client, _ = await user_client()
    other, _ = await user_client()
    pipeline = await create(client, description="Dark")
    path = f"{URL}/{pipeline['id']}"
    patched = await client.patch(path, json={"description": None, "promptConfig": {}})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["description"], patched.json()["promptConfig"]) == (None, {})
    nulled = await client.patch(path, json={"name": None})
    assert (nulled.status_code, error_code(nulled)) == (422, "validation_error")
    refused = await other.patch(path, json={"name": "mine now"})
    assert (refused.status_code, error_code(refused)) == (404, "pipeline_not_found")
    assert (await other.delete(path)).status_code == 404

    deleted = await client.delete(path)
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await client.get(path)).status_code == 404


async def test_fork_route(app: FastAPI, user_client: UserClient) -> None:
    owner, _ = await user_client()
    other, _ = await user_client()
    link = await create(owner, visibility="LINK")
    hidden = await other.post(f"{URL}/{link['id']}/fork")
    assert (hidden.status_code, error_code(hidden)) == (404, "pipeline_not_found")
    forked = await other.post(f"{URL}/{link['id']}/fork", params={"token": link["shareToken"]})
    assert forked.status_code == 201, forked.text
    fork = forked.json()
    assert fork["name"] == f"{link['name']} (copy)"
    assert (fork["visibility"], fork["shareToken"], fork["isOwner"]) == ("PRIVATE", None, True)
    named = await other.post(f"{URL}/{fork['id']}/fork", json={"name": "  Mine  "})
    assert named.status_code == 201 and named.json()["name"] == "Mine"
    async with http_client(app) as anonymous:
        assert (await anonymous.post(f"{URL}/{link['id']}/fork")).status_code == 401


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
