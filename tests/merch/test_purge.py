"""The provider webhook inbox keeps processed events 90 days; unprocessed ones stay however old."""

from __future__ import annotations

import secrets
from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select

from spikeland.core.clock import utcnow
from spikeland.jobs import schedule
from spikeland.merch.tasks import purge_webhook_events
from spikeland.ops.models import MerchWebhookEvent


async def test_old_processed_events_go_in_batches(app: FastAPI) -> None:
    now = utcnow()
    rows = {
        "old": [(True, now - timedelta(days=91 + i)) for i in range(5)],
        "recent": [(True, now - timedelta(days=89))],
        "stuck": [(False, now - timedelta(days=200))],
    }
    ids: dict[str, list[str]] = {}
    async with app.state.sessionmaker() as session, session.begin():
        for name, made in rows.items():
            events = [
                MerchWebhookEvent(
                    provider="PRODIGI",
                    event_id=f"evt_{secrets.token_hex(6)}",
                    event_type="order.status.stage.changed",
                    processed=processed,
                    payload={},
                    created_at=created,
                )
                for processed, created in made
            ]
            session.add_all(events)
            await session.flush()
            ids[name] = [e.id for e in events]

    assert await purge_webhook_events(app.state.sessionmaker, batch=2) == 5
    async with app.state.sessionmaker() as session:
        left = set((await session.scalars(select(MerchWebhookEvent.id))).all())
    assert not left & set(ids["old"])
    assert set(ids["recent"]) | set(ids["stuck"]) <= left
    assert ("merch.purge_webhook_events", 3600) in [(job.name, job.interval) for job in schedule()]
