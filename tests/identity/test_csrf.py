"""Cross-site state changes with the session cookie are refused (403 ``csrf_origin_mismatch``) and
change nothing; our own pages, API keys and clients that send no Origin are unaffected."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from spikeland.app import create_app
from spikeland.core.csrf import origin_of
from spikeland.identity.deps import SESSION_COOKIE
from spikeland.settings import Settings
from tests.support import client_of, sign_up
from tests.support.images import picture, upload

EVIL = {"Origin": "https://evil.example"}
FILE = {"file": ("photo.jpg", picture(), "application/octet-stream")}


def refused(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "csrf_origin_mismatch"


async def images_of(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    page = await client.get("/api/v1/images")
    assert page.status_code == 200, page.text
    items: list[dict[str, Any]] = page.json()["items"]
    return items


async def test_cross_site_changes_with_the_cookie_are_refused(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    image_id = await upload(client)

    refused(await client.post(f"/api/v1/images/{image_id}/share", headers=EVIL))
    assert (await client.get(f"/api/v1/images/{image_id}")).json()["shareToken"] is None
    refused(await client.post("/api/v1/images", files=FILE, headers=EVIL))
    assert [i["id"] for i in await images_of(client)] == [image_id]
    refused(await client.patch(f"/api/v1/images/{image_id}", json={"name": "pwned"}, headers=EVIL))
    refused(await client.delete(f"/api/v1/images/{image_id}", headers=EVIL))
    refused(await client.post("/api/v1/auth/logout", headers=EVIL))
    assert (await client.get("/api/v1/me")).status_code == 200  # still signed in
    assert SESSION_COOKIE in client.cookies

    # Without Origin, the Referer tells; "null" (a sandboxed frame, a file) is nobody's origin.
    for headers in (
        {"Referer": "https://evil.example/page?x=1"},
        {"Origin": "null"},
        {"Origin": "http://test.evil.example"},
        {"Origin": "https://test"},  # another scheme is another origin
        {"Origin": "http://test:8080"},
    ):
        refused(await client.post(f"/api/v1/images/{image_id}/share", headers=headers))
    assert (await client.get(f"/api/v1/images/{image_id}")).json()["name"] != "pwned"

    # Reading is not a change: a cross-site GET is left to the usual rules.
    assert (await client.get(f"/api/v1/images/{image_id}", headers=EVIL)).status_code == 200


async def test_our_own_pages_and_other_clients_are_unaffected(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    await sign_up(client)
    image_id = await upload(client)  # no Origin, no Referer: a script with the cookie
    for headers in (
        {"Origin": "http://test"},  # the request's own host
        {"Origin": "HTTP://TEST:80"},
        {"Origin": origin_of(settings.public_url) or ""},
        {"Referer": f"{settings.public_url}/gallery"},
    ):
        shared = await client.post(f"/api/v1/images/{image_id}/share", headers=headers)
        assert shared.status_code == 200, (headers, shared.text)
    assert (
        await client.post("/api/v1/images", files=FILE, headers={"Origin": "http://test"})
    ).status_code == 201
    assert (await client.post("/api/v1/auth/logout", headers={"Origin": "http://test"})).status_code == 204


async def test_api_key_calls_are_not_checked(client: httpx.AsyncClient, new_client: Any) -> None:
    await sign_up(client)
    image_id = await upload(client)
    key = (await client.post("/api/v1/api-keys", json={"name": "ci"})).json()["key"]
    bearer = {"Authorization": f"Bearer {key}", **EVIL}
    # Even beside the cookie: with a key the key says who calls, and no browser adds one by itself.
    assert (await client.post(f"/api/v1/images/{image_id}/share", headers=bearer)).status_code == 200
    async with new_client() as script:
        assert (await script.post("/api/v1/images", files=FILE, headers=bearer)).status_code == 201


async def test_without_the_cookie_nothing_is_checked(client: httpx.AsyncClient) -> None:
    # Sign-in itself, sign-up and webhooks come without a session: there is none to abuse.
    body = {"email": "nobody-here@example.com", "password": "wrong password"}
    assert (await client.post("/api/v1/auth/login", json=body, headers=EVIL)).status_code == 401


async def test_trusted_origins_are_ours_too(settings: Settings, database_url: str) -> None:
    trusting = settings.model_copy(
        update={"trusted_origins": "https://app.example, https://admin.example:8443"}
    )
    app: FastAPI = create_app(trusting, database_url=database_url)
    async with app.router.lifespan_context(app), client_of(app) as client:
        await sign_up(client)
        image_id = await upload(client)
        for origin in ("https://app.example", "https://admin.example:8443"):
            shared = await client.post(f"/api/v1/images/{image_id}/share", headers={"Origin": origin})
            assert shared.status_code == 200, shared.text
        refused(
            await client.post(f"/api/v1/images/{image_id}/share", headers={"Origin": "https://admin.example"})
        )


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Spike.Land/path?q=1", "https://spike.land"),
        ("https://spike.land:443", "https://spike.land"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://[::1]:8000/x", "http://[::1]:8000"),
        ("null", None),
        ("ftp://spike.land", None),
        ("https://spike.land:99999", None),
        ("", None),
    ],
)
def test_origin_of(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin
