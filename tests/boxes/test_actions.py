"""Lifecycle requests are checked under the box's lock: of two at once, one wins and the other is
409, and a start is paid once."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from sqlalchemy import func, select, update

from spikeland.boxes.models import Box, BoxAction, BoxStatus
from spikeland.tokens.costs import INITIAL_BALANCE
from tests.support.boxes import API, box_of, create_box, tier
from tests.support.fixtures import UserClient


async def set_status(app: FastAPI, box_id: str, status: BoxStatus) -> None:
    """Where the runner would have left the box (no browser needed for these requests)."""
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(update(Box).where(Box.id == box_id).values(status=status))


async def test_two_requests_at_once_one_wins(app: FastAPI, user_client: UserClient) -> None:
    client, _ = await user_client()
    async with tier(app, price=2) as tier_id:
        box_id = (await create_box(client, tier_id))["id"]
        await set_status(app, box_id, BoxStatus.STOPPED)
        url = f"{API}/boxes/{box_id}/actions"
        starts = await asyncio.gather(*(client.post(url, json={"action": "START"}) for _ in range(2)))
        assert sorted(r.status_code for r in starts) == [202, 409]
        assert (await client.get(f"{API}/tokens/balance")).json()["balance"] == INITIAL_BALANCE - 4

        await set_status(app, box_id, BoxStatus.RUNNING)
        stops = await asyncio.gather(
            client.post(url, json={"action": "STOP"}), client.post(url, json={"action": "RESTART"})
        )
        assert sorted(r.status_code for r in stops) == [202, 409]
        async with app.state.sessionmaker() as session:
            count = await session.scalar(select(func.count()).where(BoxAction.box_id == box_id))
        assert count == 3  # CREATE, one START, one STOP or RESTART
        assert (await box_of(client, box_id))["status"] in ("STOPPING", "STARTING")


async def test_invalid_transitions_are_409(app: FastAPI, user_client: UserClient) -> None:
    client, _ = await user_client()
    async with tier(app) as tier_id:
        box_id = (await create_box(client, tier_id))["id"]
        url = f"{API}/boxes/{box_id}/actions"
        for action in ("START", "STOP", "RESTART"):  # still CREATING
            refused = await client.post(url, json={"action": action})
            assert refused.status_code == 409 and refused.json()["error"]["code"] == "box_transition"
        assert (await client.post(f"{API}/boxes/{box_id}/clone", json={})).status_code == 409
        bad = await client.post(url, json={"action": "DELETE"})  # deletion has its own route
        assert bad.status_code == 422
        await set_status(app, box_id, BoxStatus.TERMINATED)
        assert (await client.delete(f"{API}/boxes/{box_id}")).status_code == 409
