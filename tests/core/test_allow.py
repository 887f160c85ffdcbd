"""A 405 names every method of the resource in ``Allow``; OPTIONS on an existing path answers with it."""

from __future__ import annotations

import secrets

import httpx

ALBUM = "/api/v1/albums/c0000000000000000000000000"


def _allow(response: httpx.Response) -> list[str]:
    return [method.strip() for method in response.headers["allow"].split(",")]


async def test_a_405_lists_every_method_of_a_resource_served_by_several_routes(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.put(ALBUM, json={})
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"
    assert _allow(answer) == ["GET", "PATCH", "DELETE", "OPTIONS"]


async def test_options_answers_204_with_the_full_allow(client: httpx.AsyncClient) -> None:
    answer = await client.options(ALBUM)
    assert answer.status_code == 204 and answer.content == b""
    assert _allow(answer) == ["GET", "PATCH", "DELETE", "OPTIONS"]
    assert "access-control-allow-origin" not in answer.headers  # no CORS is configured


async def test_a_post_only_path(client: httpx.AsyncClient) -> None:
    wrong = await client.get("/api/v1/auth/login")
    assert wrong.status_code == 405 and _allow(wrong) == ["POST", "OPTIONS"]
    options = await client.options("/api/v1/auth/login")
    assert options.status_code == 204 and _allow(options) == ["POST", "OPTIONS"]
    # The route still works for its own method.
    login = await client.post(
        "/api/v1/auth/login",
        json={"email": f"allow-{secrets.token_hex(4)}@example.com", "password": "whatever1"},
    )
    assert login.status_code == 401


async def test_options_on_an_unknown_path_is_404(client: httpx.AsyncClient) -> None:
    answer = await client.options("/api/v1/no-such-thing")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
