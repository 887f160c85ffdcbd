"""The agent process API authenticates per box (its token or its owner's credentials, never
anonymous), claims the box's tasks in order and reports their results; strangers see 404."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from spikeland.boxes.models import Box, BoxStatus
from spikeland.tokens.costs import INITIAL_BALANCE
from tests.support import bearer, new_key
from tests.support.boxes import API, add_task, create_box, task_of, tier
from tests.support.fixtures import UserClient


async def running_box(app: FastAPI, client: httpx.AsyncClient, tier_id: str) -> dict[str, Any]:
    """A box the runner has not touched, marked RUNNING (no browser: these tasks are the agent's)."""
    box = await create_box(client, tier_id)
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(update(Box).where(Box.id == box["id"]).values(status=BoxStatus.RUNNING))
    return box


async def test_heartbeat_and_claim_need_the_box_credentials(
    app: FastAPI, client: httpx.AsyncClient, user_client: UserClient
) -> None:
    owner, _ = await user_client()
    stranger, _ = await user_client()
    async with tier(app) as tier_id:
        box = await running_box(app, owner, tier_id)
        other = await running_box(app, owner, tier_id)
        agent = f"{API}/agent/boxes/{box['id']}"
        for path in ("/heartbeat", "/tasks/claim"):
            anonymous = await client.post(agent + path)
            assert anonymous.status_code == 401, anonymous.text
            wrong = await client.post(agent + path, headers=bearer("not-a-token"))
            assert wrong.status_code == 401
            # Another box's token is no credential for this one.
            borrowed = await client.post(agent + path, headers=bearer(other["boxToken"]))
            assert borrowed.status_code == 401
            strangers = await stranger.post(agent + path)
            assert strangers.status_code == 404
            strangers_key = (await new_key(stranger))["key"]
            assert (await client.post(agent + path, headers=bearer(strangers_key))).status_code == 404

        beat = await client.post(agent + "/heartbeat", headers=bearer(box["boxToken"]))
        assert beat.status_code == 200, beat.text
        assert beat.json() == {
            "boxId": box["id"],
            "status": "RUNNING",
            "connectionUrl": None,
            "pendingTasks": 0,
        }
        owners_key = (await new_key(owner))["key"]
        assert (await client.post(agent + "/heartbeat", headers=bearer(owners_key))).status_code == 200


async def test_an_agent_claims_tasks_in_order_and_reports_results(
    app: FastAPI, client: httpx.AsyncClient, user_client: UserClient
) -> None:
    owner, _ = await user_client()
    async with tier(app) as tier_id:
        box = await running_box(app, owner, tier_id)
        agent, token = f"{API}/agent/boxes/{box['id']}", bearer(box["boxToken"])
        first = await add_task(owner, box["id"], "navigate", url="https://example.org/")
        second = await add_task(owner, box["id"], "extract", selector="h1")

        claimed = await client.post(agent + "/tasks/claim", headers=token)
        assert claimed.status_code == 200 and claimed.json()["id"] == first
        assert claimed.json()["status"] == "PROCESSING"
        # The next one waits for the first to end.
        assert (await client.post(agent + "/tasks/claim", headers=token)).status_code == 204
        done = await client.post(
            agent + f"/tasks/{first}/result",
            json={"status": "COMPLETED", "result": {"url": "https://example.org/", "title": "Example"}},
            headers=token,
        )
        assert done.status_code == 200 and done.json()["status"] == "COMPLETED"
        again = await client.post(agent + f"/tasks/{first}/result", json={"status": "FAILED"}, headers=token)
        assert again.status_code == 409 and again.json()["error"]["code"] == "task_not_processing"

        claimed = await client.post(agent + "/tasks/claim", headers=token)
        assert claimed.json()["id"] == second
        failed = await client.post(
            agent + f"/tasks/{second}/result", json={"status": "FAILED", "error": "no h1"}, headers=token
        )
        assert failed.status_code == 200
        assert (await task_of(owner, box["id"], first))["result"]["title"] == "Example"
        assert (await task_of(owner, box["id"], second))["error"] == "no h1"
        assert (await client.post(agent + "/tasks/claim", headers=token)).status_code == 204


async def test_another_users_box_task_and_messages_are_not_found(
    app: FastAPI, user_client: UserClient
) -> None:
    owner, _ = await user_client()
    stranger, _ = await user_client()
    async with tier(app) as tier_id:
        box = await running_box(app, owner, tier_id)
        task = await add_task(owner, box["id"], "screenshot")
        said = await owner.post(f"{API}/boxes/{box['id']}/messages", json={"content": "hello?"})
        assert said.status_code == 201 and said.json()["reply"]["role"] == "AGENT"
        base = f"{API}/boxes/{box['id']}"
        calls = [
            ("GET", base, None),
            ("GET", f"{base}/tasks/{task}", None),
            ("GET", f"{base}/tasks/{task}/screenshot", None),
            ("GET", f"{base}/messages", None),
            ("POST", f"{base}/messages", {"content": "open example.org"}),
            ("POST", f"{base}/tasks", {"type": "screenshot"}),
            ("POST", f"{base}/actions", {"action": "STOP"}),
            ("POST", f"{base}/clone", {}),
            ("DELETE", base, None),
        ]
        for method, url, body in calls:
            response = await stranger.request(method, url, json=body)
            assert response.status_code == 404, (method, url, response.text)
            assert response.json()["error"]["code"] == "box_not_found"
        mine = await owner.get(f"{base}/tasks/{task}")
        assert mine.status_code == 200 and mine.json()["status"] == "PENDING"
        assert (await owner.get(f"{API}/tokens/balance")).json()["balance"] == INITIAL_BALANCE - 1
        assert len((await owner.get(f"{base}/messages")).json()) == 3  # created, hello?, the help reply


async def test_bad_requests_are_clear_errors(app: FastAPI, user_client: UserClient) -> None:
    owner, _ = await user_client()
    async with tier(app, is_active=False, name="Retired") as retired:
        gone = await owner.post(f"{API}/boxes", json={"name": "x", "tierId": retired})
        assert gone.status_code == 422 and gone.json()["error"]["code"] == "invalid_tier"
        listed = {t["id"] for t in (await owner.get(f"{API}/box-tiers")).json()}
        assert retired not in listed
    async with tier(app) as tier_id:
        assert tier_id in {t["id"] for t in (await owner.get(f"{API}/box-tiers")).json()}
        box = await running_box(app, owner, tier_id)
        for payload in ({"type": "navigate", "payload": {"url": "file:///etc/passwd"}}, {"type": "type"}):
            bad = await owner.post(f"{API}/boxes/{box['id']}/tasks", json=payload)
            assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_task"
        unknown = await owner.post(f"{API}/boxes/{box['id']}/tasks", json={"type": "format_disk"})
        assert unknown.status_code == 422
