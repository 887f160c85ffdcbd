"""Boxes billed by the hour: the first hour up front, each further started hour once (however many
workers meter at once), and a box whose owner cannot pay the next hour is stopped."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from spikeland.boxes.billing import meter
from spikeland.boxes.models import Box
from spikeland.tokens.costs import INITIAL_BALANCE
from spikeland.tokens.models import TokenTransaction, TokenTransactionType
from tests.support.boxes import API, box_of, browsers_of, create_box, tier, work
from tests.support.fixtures import UserClient

pytestmark = [
    pytest.mark.xdist_group("chromium"),
    pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="Debian's chromium is not installed"),
]


async def hour_charges(app: FastAPI, box_id: str) -> list[tuple[str, int]]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            select(TokenTransaction.source_id, TokenTransaction.amount)
            .where(
                TokenTransaction.type == TokenTransactionType.SPEND_BOX_CREATION,
                TokenTransaction.source_id.like(f"box-hour:{box_id}:%"),
            )
            .order_by(TokenTransaction.created_at)
        )
        return [(r[0], r[1]) for r in rows]


async def run_start(app: FastAPI, box_id: str) -> Box:
    async with app.state.sessionmaker() as session:
        box = await session.get(Box, box_id)
        assert box is not None and box.run_started_at is not None
        return box


async def test_first_hour_is_paid_up_front_or_refused(app: FastAPI, user_client: UserClient) -> None:
    client, _ = await user_client()
    async with tier(app, price=INITIAL_BALANCE + 1) as dear:
        refused = await client.post(f"{API}/boxes", json={"name": "too dear", "tierId": dear})
        assert refused.status_code == 402 and refused.json()["error"]["code"] == "insufficient_tokens"
        assert (await client.get(f"{API}/boxes")).json() == []
    async with tier(app, price=3) as tier_id:
        box_id = (await create_box(client, tier_id))["id"]
        assert [amount for _, amount in await hour_charges(app, box_id)] == [-3]
        assert (await client.get(f"{API}/tokens/balance")).json()["balance"] == INITIAL_BALANCE - 3


async def test_three_hours_later_three_more_charges_even_with_two_meters(
    app: FastAPI, user_client: UserClient
) -> None:
    client, _ = await user_client()
    async with tier(app, price=2) as tier_id:
        box_id = (await create_box(client, tier_id))["id"]
        await work(app)
        assert (await box_of(client, box_id))["status"] == "RUNNING"
        start = (await run_start(app, box_id)).run_started_at
        assert start is not None
        sessionmaker = app.state.sessionmaker

        # Not yet: the first hour is paid until start + 1h.
        await meter(sessionmaker, start + timedelta(minutes=59))
        assert len(await hour_charges(app, box_id)) == 1

        later = start + timedelta(hours=3)
        await asyncio.gather(meter(sessionmaker, later), meter(sessionmaker, later))
        await meter(sessionmaker, later)  # a re-run charges nothing more
        charges = await hour_charges(app, box_id)
        assert len(charges) == 4 and all(amount == -2 for _, amount in charges)
        millis = int(start.timestamp() * 1000)
        assert [source for source, _ in charges] == [f"box-hour:{box_id}:{millis}:{n}" for n in range(4)]
        assert (await run_start(app, box_id)).hours_charged == 4
        assert (await client.get(f"{API}/tokens/balance")).json()["balance"] == INITIAL_BALANCE - 8
        assert (await box_of(client, box_id))["status"] == "RUNNING"


async def test_a_box_whose_owner_cannot_pay_is_stopped(app: FastAPI, user_client: UserClient) -> None:
    client, _ = await user_client()
    async with tier(app, price=INITIAL_BALANCE // 2 + 1) as tier_id:
        box_id = (await create_box(client, tier_id))["id"]
        await work(app)
        start = (await run_start(app, box_id)).run_started_at
        assert start is not None

        result = await meter(app.state.sessionmaker, start + timedelta(hours=1, seconds=1))
        assert result["stopped"] == 1
        assert (await box_of(client, box_id))["status"] == "STOPPING"
        await work(app)
        box = await box_of(client, box_id)
        assert (box["status"], box["hoursCharged"], box["runStartedAt"]) == ("STOPPED", 0, None)
        assert browsers_of(app, box_id) == []
        assert len(await hour_charges(app, box_id)) == 1  # the unpaid hour was never charged
        messages = [m["content"] for m in (await client.get(f"{API}/boxes/{box_id}/messages")).json()]
        assert any(m.startswith("Stopped: the next hour costs") for m in messages)
        # A stopped box is not billed.
        assert (await meter(app.state.sessionmaker, start + timedelta(hours=5)))["charged"] == 0


async def test_a_box_that_cannot_start_is_error_and_its_hour_refunded(
    app: FastAPI, user_client: UserClient
) -> None:
    client, _ = await user_client()
    async with tier(app, price=4) as tier_id:
        box_id = (await create_box(client, tier_id))["id"]
        await work(app, chromium="/nonexistent/chromium")
        box = await box_of(client, box_id)
        assert (box["status"], box["runStartedAt"], box["hoursCharged"]) == ("ERROR", None, 0)
        action = (await client.get(f"{API}/boxes/{box_id}/actions")).json()[0]
        assert action["status"] == "FAILED" and "apt-get install chromium" in action["error"]
        assert (await client.get(f"{API}/tokens/balance")).json()["balance"] == INITIAL_BALANCE
        messages = [m["content"] for m in (await client.get(f"{API}/boxes/{box_id}/messages")).json()]
        assert messages[-1].startswith("Create failed: Chromium is not installed at /nonexistent/chromium")
        # Started again once the browser is there (here: the real one).
        retry = await client.post(f"{API}/boxes/{box_id}/actions", json={"action": "START"})
        assert retry.status_code == 202
        await work(app)
        assert (await box_of(client, box_id))["status"] == "RUNNING"
