"""Apps over HTTP: created with requirements and models; drafts never public; status moves; a
requirement edited twice is at version 3 and a stale edit is refused; forks keep the content and
outlive their parent; others' apps are 404; bad models and names are 422."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import httpx

from tests.support.fixtures import UserClient

API = "/api/v1/apps"


def _app(**extra: Any) -> dict[str, Any]:
    return {
        "name": f"Sketch Pad {secrets.token_hex(3)}",
        "description": "A pad to sketch ideas on, shared with friends.",
        "requirements": [
            {"description": "Draw with a pen and an eraser", "priority": "HIGH"},
            {"description": "Share a sketch by link"},
        ],
        "monetizationModels": [
            {"type": "FREE", "features": ["3 sketches"]},
            {
                "type": "SUBSCRIPTION",
                "price": "4.99",
                "subscriptionInterval": "MONTHLY",
                "features": ["unlimited"],
            },
        ],
        **extra,
    }


async def test_create_publish_and_the_directory(client: httpx.AsyncClient, user_client: UserClient) -> None:
    owner, owner_id = await user_client()
    made = await owner.post(API, json=_app())
    assert made.status_code == 201, made.text
    app = made.json()
    assert (app["status"], app["userId"], app["forkedFrom"]) == ("DRAFT", owner_id, None)
    assert [(r["priority"], r["status"], r["version"]) for r in app["requirements"]] == [
        ("HIGH", "PENDING", 1),
        ("MEDIUM", "PENDING", 1),
    ]
    assert [m["type"] for m in app["monetizationModels"]] == ["FREE", "SUBSCRIPTION"]
    assert app["monetizationModels"][0]["price"] is None and app["monetizationModels"][1]["price"] == "4.99"

    directory = [
        a["id"] for a in (await client.get(f"{API}/directory", params={"limit": 100})).json()["items"]
    ]
    assert app["id"] not in directory  # a draft is never public
    assert (await client.get(f"{API}/{app['id']}")).status_code == 404
    other, _ = await user_client()
    assert (await other.get(f"{API}/{app['id']}")).status_code == 404

    assert (await owner.post(f"{API}/{app['id']}/status", json={"status": "ARCHIVED"})).status_code == 409
    assert (await owner.post(f"{API}/{app['id']}/status", json={"status": "ACTIVE"})).json()[
        "status"
    ] == "ACTIVE"
    directory = [
        a["id"] for a in (await client.get(f"{API}/directory", params={"limit": 100})).json()["items"]
    ]
    assert app["id"] in directory
    seen = await client.get(f"{API}/{app['id']}")
    assert seen.status_code == 200 and len(seen.json()["requirements"]) == 2
    assert (await other.patch(f"{API}/{app['id']}", json={"name": "Mine now"})).status_code == 404
    assert (await owner.patch(f"{API}/{app['id']}", json={"name": "Sketch Pad Two"})).json()[
        "name"
    ] == "Sketch Pad Two"
    assert (await owner.delete(f"{API}/{app['id']}")).status_code == 204
    assert (await client.get(f"{API}/{app['id']}")).status_code == 404
    assert app["id"] not in [a["id"] for a in (await owner.get(API)).json()["items"]]


async def test_requirement_versions_and_status(user_client: UserClient) -> None:
    owner, _ = await user_client()
    app = (await owner.post(API, json=_app())).json()
    requirement = app["requirements"][0]
    url = f"{API}/{app['id']}/requirements/{requirement['id']}"
    first = await owner.patch(url, json={"description": "Draw with pens of three widths", "version": 1})
    assert first.json()["version"] == 2
    second = await owner.patch(url, json={"description": "Draw with pens of any width", "version": 2})
    assert second.json()["version"] == 3
    stale = await owner.patch(url, json={"description": "An edit of an old copy", "version": 2})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "requirement_version_conflict"
    assert stale.json()["error"]["details"] == {"edited": 2, "current": 3}
    unversioned = await owner.patch(url, json={"description": "Who knows which version"})
    assert unversioned.status_code == 422
    assert (await owner.patch(url, json={"priority": "CRITICAL"})).json()["priority"] == "CRITICAL"

    # Two edits of one version at once: exactly one passes.
    racing = await asyncio.gather(
        *(owner.patch(url, json={"description": f"Edit number {n}", "version": 3}) for n in range(2))
    )
    assert sorted(r.status_code for r in racing) == [200, 409]

    move = f"{url}/status"
    assert (await owner.post(move, json={"status": "COMPLETED"})).status_code == 409
    assert (await owner.post(move, json={"status": "IN_PROGRESS"})).json()["status"] == "IN_PROGRESS"
    assert (await owner.post(move, json={"status": "COMPLETED"})).json()["status"] == "COMPLETED"
    assert (await owner.post(move, json={"status": "REJECTED"})).status_code == 409
    added = await owner.post(f"{API}/{app['id']}/requirements", json={"description": "Undo and redo"})
    assert added.status_code == 201 and added.json()["version"] == 1


async def test_forks_keep_content_and_outlive_their_parent(
    client: httpx.AsyncClient, user_client: UserClient
) -> None:
    author, _ = await user_client()
    parent = (await author.post(API, json=_app())).json()
    forker, forker_id = await user_client()
    assert (await forker.post(f"{API}/{parent['id']}/fork")).status_code == 404  # a draft: not visible
    await author.post(f"{API}/{parent['id']}/status", json={"status": "ACTIVE"})
    forked = await forker.post(f"{API}/{parent['id']}/fork")
    assert forked.status_code == 201, forked.text
    copy = forked.json()
    assert (copy["forkedFrom"], copy["userId"], copy["status"]) == (parent["id"], forker_id, "DRAFT")
    assert [r["description"] for r in copy["requirements"]] == [
        r["description"] for r in parent["requirements"]
    ]
    assert [m["features"] for m in copy["monetizationModels"]] == [["3 sketches"], ["unlimited"]]
    # The forker's draft is listed to them, not to anyone else.
    assert [f["id"] for f in (await forker.get(f"{API}/{parent['id']}/forks")).json()["items"]] == [
        copy["id"]
    ]
    assert (await client.get(f"{API}/{parent['id']}/forks")).json()["items"] == []
    assert (await author.delete(f"{API}/{parent['id']}")).status_code == 204
    kept = await forker.get(f"{API}/{copy['id']}")
    assert kept.status_code == 200 and kept.json()["forkedFrom"] == parent["id"]


async def test_bad_apps_and_models_are_refused(user_client: UserClient) -> None:
    owner, _ = await user_client()
    for body in (
        _app(name="ab"),
        _app(name="No_underscores!"),
        _app(description="short"),
        _app(monetizationModels=[{"type": "FREE", "price": "1.00"}]),
        _app(monetizationModels=[{"type": "ONE_TIME"}]),
        _app(monetizationModels=[{"type": "ONE_TIME", "price": "0"}]),
        _app(monetizationModels=[{"type": "SUBSCRIPTION", "price": "5"}]),
        _app(monetizationModels=[{"type": "ONE_TIME", "price": "5", "subscriptionInterval": "YEARLY"}]),
        _app(requirements=[{"description": "x"}]),
    ):
        answer = await owner.post(API, json=body)
        assert answer.status_code == 422, (body, answer.text)
    app = (await owner.post(API, json=_app(monetizationModels=[]))).json()
    assert app["monetizationModels"] == []
    added = await owner.post(
        f"{API}/{app['id']}/monetization-models", json={"type": "USAGE_BASED", "price": "0.01"}
    )
    assert added.status_code == 201 and added.json()["features"] == []
    model_url = f"{API}/{app['id']}/monetization-models/{added.json()['id']}"
    assert (await owner.delete(model_url)).status_code == 204
    assert (await owner.delete(model_url)).status_code == 404
