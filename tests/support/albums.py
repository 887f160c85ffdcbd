"""Albums in tests: making them and reading them back over HTTP."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

import httpx

API = "/api/v1"


async def make_album(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """A new album of the signed-in user (a random name unless given); returns its JSON."""
    body = {"name": f"album {secrets.token_hex(3)}", **fields}
    response = await client.post(f"{API}/albums", json=body)
    assert response.status_code == 201, response.text
    album: dict[str, Any] = response.json()
    return album


async def add(client: httpx.AsyncClient, album_id: str, *image_ids: str) -> httpx.Response:
    return await client.post(f"{API}/albums/{album_id}/images", json={"imageIds": list(image_ids)})


async def image_ids(client: httpx.AsyncClient, album_id: str) -> list[str]:
    response = await client.get(f"{API}/albums/{album_id}/images")
    assert response.status_code == 200, response.text
    return [item["image"]["id"] for item in response.json()["items"]]


def path_of(url: str) -> str:
    """The path and query of an absolute URL the API handed out (its host is the public URL)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path
