"""Another user's resources are "not found": every owner-scoped route answers 404 to a stranger.

The routes are not listed here: they are read from the application's router, so a route added
later is exercised without touching this module. A parametrised route whose parameter this module
cannot fill (or whose body it cannot make) fails the test until someone says here how to call it
or why it is not owner-scoped. Owner A makes one resource of every kind through the API; user B
calls every route with A's ids (signed in by cookie, then by API key) and must get 404 each time,
A's own reads of the same ids must succeed, and A's data must be exactly as it was afterwards.
"""

from __future__ import annotations

import typing
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import text, update

from spikeland.boxes.agent_tasks import screenshot_key
from spikeland.boxes.models import AgentTask, Box, BoxStatus, BoxTier
from spikeland.db.enums import JobStatus
from spikeland.merch.models import MerchCategory, MerchOrder, MerchOrderItem, MerchProduct, PodProvider
from tests.support import client_of, sign_in
from tests.support.audio import tone
from tests.support.images import picture, upload, work

API = "/api/v1"

# What each path parameter names; A makes one resource of each kind (see ``owner_resources``).
RESOURCE_OF_PARAM = {
    "image_id": "image",
    "job_id": "job",
    "pipeline_id": "pipeline",
    "key_id": "key",
    "generation_id": "generation",
    "album_id": "album",
    "item_id": "cart_item",
    "order_id": "order",
    "app_id": "app",
    "requirement_id": "requirement",
    "model_id": "monetization_model",
    "project_id": "audio_project",
    "track_id": "audio_track",
    "mixdown_id": "audio_mixdown",
    "box_id": "box",
    "task_id": "agent_task",
}

# Parametrised routes that are not owner-scoped, each with the reason.
# (``/jobs/{job_id}...`` stays tested: only anonymous visitors' jobs are readable by id, A's is not.)
NOT_OWNER_SCOPED = {
    f"{API}/share/{{token}}": "the share token is the secret: whoever holds the link may read",
    f"{API}/share/{{token}}/original": "the share token is the secret: whoever holds the link may read",
    f"{API}/share/{{token}}/enhanced": "the share token is the secret: whoever holds the link may read",
    f"{API}/share/{{token}}/images/{{image_id}}/file": "an album's share token is the secret, as above",
    f"{API}/gallery/featured/{{item_id}}/{{which}}": "the files of an active featured item are public",
    f"{API}/merch/products/{{product_id}}": "the merch catalogue is public",
    f"{API}/analytics/pageviews/{{page_view_id}}/scroll": "anonymous analytics: the ids are the visit's own",
    f"{API}/auth/oauth/{{provider}}/start": "the parameter names a sign-in provider, not a resource",
    f"{API}/auth/oauth/{{provider}}/callback": "the parameter names a sign-in provider, not a resource",
}
# Admin routes refuse a non-admin with 403 before reading the id (nothing to hide from an admin);
# the test asserts that 403 instead of 404, so a future admin route is checked as well.
ADMIN_PREFIX = f"{API}/admin/"

Resources = dict[str, str]  # kind -> id, plus "share_token"
BodyOf = Callable[[Resources], dict[str, Any]]

# Minimal valid bodies of routes whose body is required, from the resources of the caller's target.
# Each asks for a visible change, so a route that wrongly obeyed would leave a trace on A's data.
BODIES: dict[tuple[str, str], BodyOf] = {
    ("PATCH", f"{API}/images/{{image_id}}"): lambda r: {"name": "renamed by a stranger", "isPublic": True},
    ("POST", f"{API}/images/{{image_id}}/enhance"): lambda r: {"tier": "FREE"},
    ("POST", f"{API}/images/batch-enhance"): lambda r: {"imageIds": [r["image"]], "tier": "FREE"},
    ("PATCH", f"{API}/pipelines/{{pipeline_id}}"): lambda r: {"name": "renamed", "visibility": "PUBLIC"},
    # A stranger who even holds A's share link must not enhance A's image as a visitor.
    ("POST", f"{API}/anonymous/images/{{image_id}}/enhance"): lambda r: {"shareToken": r["share_token"]},
    ("POST", f"{API}/generation/modify"): lambda r: {"prompt": "x", "imageId": r["image"], "tier": "FREE"},
    ("POST", f"{API}/albums"): lambda r: {"name": "a stranger's album"},
    ("PATCH", f"{API}/albums/{{album_id}}"): lambda r: {"name": "renamed by a stranger", "privacy": "PUBLIC"},
    ("POST", f"{API}/albums/{{album_id}}/images"): lambda r: {"imageIds": [r["image"]]},
    ("PUT", f"{API}/albums/{{album_id}}/order"): lambda r: {"imageIds": [r["image"]]},
    ("POST", f"{API}/merch/cart/items"): lambda r: {
        "productId": r.get("product", "cnoproduct"),
        "imageId": r["image"],
    },
    ("PATCH", f"{API}/merch/cart/items/{{item_id}}"): lambda r: {"quantity": 7},
    ("PATCH", f"{API}/apps/{{app_id}}"): lambda r: {"name": "Taken by a stranger"},
    ("POST", f"{API}/apps/{{app_id}}/status"): lambda r: {"status": "ACTIVE"},
    ("POST", f"{API}/apps/{{app_id}}/requirements"): lambda r: {"description": "a stranger's wish"},
    ("PATCH", f"{API}/apps/{{app_id}}/requirements/{{requirement_id}}"): lambda r: {
        "description": "rewritten by a stranger",
        "version": 1,
    },
    ("POST", f"{API}/apps/{{app_id}}/requirements/{{requirement_id}}/status"): lambda r: {
        "status": "IN_PROGRESS"
    },
    ("POST", f"{API}/apps/{{app_id}}/monetization-models"): lambda r: {"type": "FREE"},
    ("POST", f"{API}/apps/{{app_id}}/domain"): lambda r: {"domain": "stranger.example.org"},
    ("PATCH", f"{API}/audio/projects/{{project_id}}"): lambda r: {"name": "renamed by a stranger"},
    ("POST", f"{API}/audio/projects/{{project_id}}/tracks/browser"): lambda r: {
        "name": "a stranger's track",
        "fileFormat": "wav",
        "duration": 1.0,
        "fileSizeBytes": 100,
    },
    ("PUT", f"{API}/audio/projects/{{project_id}}/tracks/order"): lambda r: {
        "trackIds": [r.get("audio_track", "cnotrack")]
    },
    ("PATCH", f"{API}/audio/projects/{{project_id}}/tracks/{{track_id}}"): lambda r: {"volume": 0.0},
    ("POST", f"{API}/apps/{{app_id}}/domain/verify"): lambda r: {"domain": "stranger.example.org"},
    ("POST", f"{API}/boxes/{{box_id}}/actions"): lambda r: {"action": "STOP"},
    ("POST", f"{API}/boxes/{{box_id}}/clone"): lambda r: {"name": "a stranger's clone"},
    ("POST", f"{API}/boxes/{{box_id}}/tasks"): lambda r: {"type": "screenshot"},
    ("POST", f"{API}/boxes/{{box_id}}/messages"): lambda r: {"content": "screenshot"},
    ("POST", f"{API}/agent/boxes/{{box_id}}/tasks/{{task_id}}/result"): lambda r: {"status": "FAILED"},
}


def silence() -> bytes:
    return tone(0.1, "WAV", "PCM_16", frequency=0.0)


# Multipart routes: the form they are sent (instead of a JSON body).
UPLOADS: dict[tuple[str, str], Callable[[], dict[str, Any]]] = {
    ("POST", f"{API}/albums/{{album_id}}/upload"): lambda: {"file": ("x.jpg", picture(40, 30), "image/jpeg")},
    ("POST", f"{API}/audio/track-uploads/{{project_id}}"): lambda: {
        "file": ("x.wav", silence(), "audio/wav")
    },
}

# Body fields naming another resource (``*_id``/``*_ids``) and the kind they name.
BODY_ID_FIELDS = {
    "image_ids": "image",
    "image_id": "image",
    "source_image_id": "image",
    "pipeline_id": "pipeline",
    "cover_image_id": "image",
}
# Body id fields that name no user's resource, each with the reason.
NOT_OWNED_BODY_IDS = {
    "package_id": "token packages are a public catalogue",
    "plan_id": "subscription plans are a public catalogue",
    "product_id": "the merch catalogue is public",
    "variant_id": "the merch catalogue is public",
    "session_id": "an analytics session is anonymous: its id is all a visitor holds",
    "visitor_id": "a visitor id is the anonymous visitor's own cookie, no account's resource",
    "utm_id": "an ad platform's campaign id in a link's UTM tags, no account's resource",
    "track_ids": "the path's project's own tracks, each once (422 otherwise): no other track is read",
    "tier_id": "box tiers are a public catalogue",
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the template, e.g. /api/v1/images/{image_id}
    params: tuple[str, ...]
    body: Any  # the body's annotation; None when the route takes no body
    body_required: bool

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, values: dict[str, str]) -> str:
        url = self.path
        for param in self.params:
            url = url.replace(f"{{{param}}}", values[param])
        return url


def api_routes(app: FastAPI) -> list[Route]:
    """Every (method, route) under /api/v1, as the router resolves them (prefixes included)."""
    routes = []
    for context in iter_route_contexts(app.routes):
        original = context.original_route
        path = context.path_format
        if not isinstance(original, APIRoute) or not path or not path.startswith(f"{API}/"):
            continue
        field = original.body_field
        for method in sorted(context.methods or ()):
            body = field.field_info.annotation if field else None
            required = bool(field and field.field_info.is_required())
            routes.append(Route(method, path, tuple(context.param_convertors), body, required))
    return routes


@dataclass
class Surface:
    owned: list[Route]  # every parameter names a kind A can make
    admin: list[Route]
    problems: list[str]  # routes (or allow-list entries) this module does not know how to handle


def survey(app: FastAPI) -> Surface:
    routes = api_routes(app)
    surface = Surface([], [], [])
    for route in routes:
        if not route.params or route.path in NOT_OWNER_SCOPED:
            continue
        if route.path.startswith(ADMIN_PREFIX):
            surface.admin.append(route)
        elif not set(route.params) <= RESOURCE_OF_PARAM.keys():
            surface.problems.append(f"new owner-scoped route {route}: add it here")
        elif route.body_required and not {(route.method, route.path)} & (BODIES.keys() | UPLOADS.keys()):
            surface.problems.append(f"new owner-scoped route {route}: add its body to BODIES")
        else:
            surface.owned.append(route)
    # The lists must not outlive the routes they describe.
    paths = {route.path for route in routes}
    keys = {(route.method, route.path) for route in routes}
    surface.problems += [f"NOT_OWNER_SCOPED names no route: {p}" for p in NOT_OWNER_SCOPED if p not in paths]
    surface.problems += [f"BODIES names no route: {m} {p}" for m, p in BODIES if (m, p) not in keys]
    surface.problems += [f"UPLOADS names no route: {m} {p}" for m, p in UPLOADS if (m, p) not in keys]
    return surface


def body_models(annotation: Any) -> list[type[BaseModel]]:
    candidates = [annotation, *typing.get_args(annotation)]
    return [c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)]


def body_for(route: Route, resources: Resources) -> dict[str, Any] | None:
    """The route's body from BODIES, checked against its model (a stale body fails loudly here)."""
    make = BODIES.get((route.method, route.path))
    if make is None:
        return None
    body = make(resources)
    TypeAdapter(route.body).validate_python(body)
    return body


async def call(caller: httpx.AsyncClient, route: Route, resources: Resources) -> httpx.Response:
    """The route on the resources, with its JSON body or (multipart routes) its form."""
    url = route.url(path_values(route, resources))
    form = UPLOADS.get((route.method, route.path))
    if form is not None:
        return await caller.request(route.method, url, files=form())
    return await caller.request(route.method, url, json=body_for(route, resources))


def path_values(route: Route, resources: Resources) -> dict[str, str]:
    return {param: resources[RESOURCE_OF_PARAM[param]] for param in route.params}


def order(routes: list[Route]) -> list[Route]:
    """Reads, then changes, then deletions: a wrongful deletion cannot hide the other findings."""
    rank = {"GET": 0, "DELETE": 2}
    return sorted(routes, key=lambda r: (rank.get(r.method, 1), r.path))


def finding(route: Route, response: httpx.Response, who: str) -> str:
    return f"{route} as {who}: {response.status_code} {response.text[:300]}"


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (201, 202), response.text
    body: dict[str, Any] = response.json()
    return body


async def owner_resources(app: FastAPI, client: httpx.AsyncClient) -> Resources:
    """One resource of each kind for the user signed in on ``client``; the job ran to its end."""
    image = await upload(client, picture(120, 80))
    # Shared, so a stranger can be handed the link; still private (isPublic false) to everyone else.
    share = (await client.post(f"{API}/images/{image}/share")).json()["shareToken"]
    job = (created(await client.post(f"{API}/images/{image}/enhance", json={"tier": "FREE"})))["job"]
    pipeline = created(await client.post(f"{API}/pipelines", json={"name": "mine", "visibility": "PRIVATE"}))
    key = created(await client.post(f"{API}/api-keys", json={"name": "mine"}))
    generation = created(
        await client.post(
            f"{API}/generation/modify", json={"prompt": "flip", "imageId": image, "tier": "FREE"}
        )
    )["job"]
    # UNLISTED: readable through its link only, so by id it is A's alone.
    album = created(await client.post(f"{API}/albums", json={"name": "mine", "privacy": "UNLISTED"}))
    created(await client.post(f"{API}/albums/{album['id']}/images", json={"imageIds": [image]}))
    product = await _merch_product(app)
    cart = created(
        await client.post(f"{API}/merch/cart/items", json={"productId": product, "imageId": image})
    )
    await work(app)
    owner = (await client.get(f"{API}/me")).json()["id"]
    project = created(await client.post(f"{API}/audio/projects", json={"name": "mine"}))
    # An uploaded track: its file and waveform are A's too.
    track = created(
        await client.post(
            f"{API}/audio/track-uploads/{project['id']}", files={"file": ("mine.wav", silence(), "audio/wav")}
        )
    )
    # A rendered mixdown: its files are A's.
    mixdown = created(await client.post(f"{API}/audio/projects/{project['id']}/mixdowns"))
    await work(app)
    # A DRAFT: by id it is A's alone.
    made_app = created(
        await client.post(
            f"{API}/apps",
            json={
                "name": "Mine",
                "requirements": [{"description": "mine to change"}],
                "monetizationModels": [{"type": "FREE"}],
            },
        )
    )
    box, task = await _box_with_screenshot(app, client)
    return {
        "box": box,
        "agent_task": task,
        "cart_item": cart["items"][0]["id"],
        "order": await _merch_order(app, owner, product),
        "product": product,
        "image": image,
        "album": album["id"],
        "job": job["id"],
        "pipeline": pipeline["id"],
        "key": key["id"],
        "generation": generation["id"],
        "share_token": share,
        "app": made_app["id"],
        "requirement": made_app["requirements"][0]["id"],
        "monetization_model": made_app["monetizationModels"][0]["id"],
        "audio_project": project["id"],
        "audio_track": track["id"],
        "audio_mixdown": mixdown["id"],
    }


async def _box_with_screenshot(app: FastAPI, client: httpx.AsyncClient) -> tuple[str, str]:
    """A RUNNING box of A's (made through the API; marked running in the database, no browser) with
    a screenshot task done (its PNG stored), and a chat message."""
    async with app.state.sessionmaker() as session, session.begin():
        tier = BoxTier(name="Ownership", cpu=1, ram=1024, storage=1, price_per_hour=1, price_per_month=1)
        session.add(tier)
        await session.flush()
        tier_id = tier.id
    box = created(await client.post(f"{API}/boxes", json={"name": "mine", "tierId": tier_id}))
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(update(Box).where(Box.id == box["id"]).values(status=BoxStatus.RUNNING))
    task = created(await client.post(f"{API}/boxes/{box['id']}/tasks", json={"type": "screenshot"}))
    created(await client.post(f"{API}/boxes/{box['id']}/messages", json={"content": "hello"}))
    async with app.state.sessionmaker() as session, session.begin():
        row = await session.get(Box, box["id"])
        assert row is not None
        await app.state.storage.put(screenshot_key(row, task["id"]), picture(40, 30, "PNG"), "image/png")
        await session.execute(
            update(AgentTask)
            .where(AgentTask.id == task["id"])
            .values(status=JobStatus.COMPLETED, result={"screenshot": {"contentType": "image/png"}})
        )
    return box["id"], task["id"]


async def _merch_product(app: FastAPI) -> str:
    """A product on sale that any image prints on (the shared test database has no catalogue)."""
    async with app.state.sessionmaker() as session, session.begin():
        category = MerchCategory(name="Ownership", slug="ownership")
        session.add(category)
        await session.flush()
        product = MerchProduct(
            name="Sticker",
            category_id=category.id,
            provider=PodProvider.PRODIGI,
            provider_sku="STICKER",
            base_price=Decimal("1.00"),
            retail_price=Decimal("2.00"),
            min_width=1,
            min_height=1,
        )
        session.add(product)
        await session.flush()
        return product.id


async def _merch_order(app: FastAPI, user_id: str, product_id: str) -> str:
    """An order of A's, made in the database (the shared test app has no payment provider)."""
    async with app.state.sessionmaker() as session, session.begin():
        order = MerchOrder(
            user_id=user_id,
            order_number="SL-20260101-OWNR",
            subtotal=Decimal("2.00"),
            shipping_cost=Decimal("4.99"),
            total_amount=Decimal("6.99"),
            shipping_address={"countryCode": "GB"},
            customer_email="a@example.com",
        )
        session.add(order)
        await session.flush()
        session.add(
            MerchOrderItem(
                order_id=order.id,
                product_id=product_id,
                product_name="Sticker",
                image_url="https://files.test/a.jpg",
                image_r2_key="test/a.jpg",
                quantity=1,
                unit_price=Decimal("2.00"),
                total_price=Decimal("2.00"),
            )
        )
        return order.id


@pytest.fixture(autouse=True)
async def no_catalogue_left(app: FastAPI) -> AsyncIterator[None]:
    """The seed tests expect no catalogue rows in the shared database: the merch rows made here go."""
    yield
    async with app.state.sessionmaker() as session, session.begin():
        for table in (
            "merch_orders",
            "merch_cart_items",
            "merch_carts",
            "merch_variants",
            "merch_products",
            "merch_categories",
            "boxes",
            "box_tiers",
        ):
            await session.execute(text(f"DELETE FROM {table}"))


async def state_of(client: httpx.AsyncClient, mine: Resources) -> dict[str, Any]:
    """Everything A can see of the resources (full bodies: a view counted or a field set shows)."""
    paths = {
        "image": f"{API}/images/{mine['image']}",
        "job": f"{API}/jobs/{mine['job']}",
        "pipeline": f"{API}/pipelines/{mine['pipeline']}",
        "image_jobs": f"{API}/images/{mine['image']}/jobs",
        "images": f"{API}/images",
        "keys": f"{API}/api-keys",
        "transactions": f"{API}/tokens/transactions",
        "generation": f"{API}/generation/jobs/{mine['generation']}",
        "generations": f"{API}/generation/jobs",
        "album": f"{API}/albums/{mine['album']}",
        "album_images": f"{API}/albums/{mine['album']}/images",
        "albums": f"{API}/albums",
        "cart": f"{API}/merch/cart",
        "order": f"{API}/merch/orders/{mine['order']}",
        "orders": f"{API}/merch/orders",
        "box": f"{API}/boxes/{mine['box']}",
        "box_actions": f"{API}/boxes/{mine['box']}/actions",
        "box_tasks": f"{API}/boxes/{mine['box']}/tasks",
        "box_messages": f"{API}/boxes/{mine['box']}/messages",
        "boxes": f"{API}/boxes",
    }
    state = {name: (await client.get(path)).json() for name, path in paths.items()}
    state["balance"] = (await client.get(f"{API}/tokens/balance")).json()["balance"]
    return state


async def test_every_parametrised_route_is_known(app: FastAPI) -> None:
    surface = survey(app)
    assert not surface.problems, "\n".join(surface.problems)
    # The walk really found the routes (an empty walk would prove nothing).
    kinds = {RESOURCE_OF_PARAM[p] for route in surface.owned for p in route.params}
    assert kinds == set(RESOURCE_OF_PARAM.values())
    assert surface.admin


async def test_a_stranger_gets_404_on_every_owner_scoped_route(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    surface = survey(app)
    owner_id = (await sign_in(client)).id
    mine = await owner_resources(app, client)

    findings = []
    for route in order(surface.owned):
        if route.method == "GET":
            response = await client.get(route.url(path_values(route, mine)))
            if not 200 <= response.status_code < 300:
                findings.append(
                    "A's own read fails, so A's ids prove nothing: " + finding(route, response, "A")
                )
    before = await state_of(client, mine)

    async with client_of(app) as stranger:
        await sign_in(stranger)
        secret = (created(await stranger.post(f"{API}/api-keys", json={"name": "b"})))["key"]
        async with client_of(app, headers={"Authorization": f"Bearer {secret}"}) as by_key:
            for who, caller in (("B (cookie)", stranger), ("B (API key)", by_key)):
                for route in order(surface.owned):
                    response = await call(caller, route, mine)
                    if response.status_code != 404:
                        findings.append(finding(route, response, who))
        for route in surface.admin:
            values = {p: owner_id if p == "user_id" else "cnosuchresource0000000000" for p in route.params}
            response = await stranger.request(route.method, route.url(values), json={})
            if response.status_code != 403:
                findings.append("admin route not refused with 403: " + finding(route, response, "B (cookie)"))

    after = await state_of(client, mine)
    changed = [name for name in before if before[name] != after[name]]
    assert not findings, "\n".join(findings)
    assert not changed, f"a stranger's calls changed A's {changed}: {before} -> {after}"
    assert after["image"]["isPublic"] is False and after["image"]["shareToken"] == mine["share_token"]
    assert after["job"]["status"] == "COMPLETED" and after["pipeline"]["visibility"] == "PRIVATE"
    assert [k["isActive"] for k in after["keys"]["items"]] == [True]


async def test_ids_inside_bodies_are_owner_scoped_too(app: FastAPI, client: httpx.AsyncClient) -> None:
    """A stranger's own request naming A's image or pipeline in its body is 404 as well."""
    await sign_in(client)
    mine = await owner_resources(app, client)
    before = await state_of(client, mine)

    findings, unknown = [], []
    async with client_of(app) as stranger:
        await sign_in(stranger)
        own: Resources = {"image": await upload(stranger, picture(60, 40)), "share_token": "-"}
        own["album"] = created(await stranger.post(f"{API}/albums", json={"name": "b's"}))["id"]
        for route in api_routes(app):
            if route.path.startswith(ADMIN_PREFIX) or not set(route.params) <= RESOURCE_OF_PARAM.keys():
                continue
            fields = [
                (name, field)
                for model in body_models(route.body)
                for name, field in model.model_fields.items()
                if name.endswith(("_id", "_ids")) and name not in NOT_OWNED_BODY_IDS
            ]
            for name, field in fields:
                kind = BODY_ID_FIELDS.get(name)
                base = body_for(route, own)
                if kind is None or base is None or not all(RESOURCE_OF_PARAM[p] in own for p in route.params):
                    unknown.append(f"new owner-scoped body field {name} of {route}: add it here")
                    continue
                alias = field.alias or name
                value = [mine[kind]] if typing.get_origin(field.annotation) is list else mine[kind]
                body = {**base, alias: value}
                response = await stranger.request(route.method, route.url(path_values(route, own)), json=body)
                if response.status_code != 404:
                    findings.append(finding(route, response, f"B with A's {kind} in {alias}"))

    assert not unknown, "\n".join(unknown)
    assert not findings, "\n".join(findings)
    assert await state_of(client, mine) == before
