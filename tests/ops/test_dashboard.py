"""The operations dashboard: figures and a series entry per day, moving with what happens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from spikeland.core.clock import utcnow
from spikeland.db.engine import transaction
from spikeland.db.enums import JobStatus
from spikeland.identity.models import UserRole
from spikeland.images.models import ImageEnhancementJob
from tests.support import sign_in
from tests.support.fixtures import UserClient
from tests.support.images import upload

DASHBOARD = "/api/v1/admin/dashboard"


def _today(found: dict[str, Any], section: str, series: str, field: str) -> Any:
    return next(day[field] for day in found[section][series] if day["date"] == found["end"])


async def test_the_figures_move_with_what_happens(
    app: FastAPI, client: httpx.AsyncClient, user_client: UserClient
) -> None:
    admin, _ = await user_client(role=UserRole.ADMIN)
    before = (await admin.get(DASHBOARD)).json()
    assert len(before["users"]["newPerDay"]) == 30 and len(before["revenue"]["perDay"]) == 30

    await sign_in(client)  # a new user, with the sign-up's tokens
    image = await upload(client)
    enhanced = await client.post(f"/api/v1/images/{image}/enhance", json={"tier": "TIER_1K"})
    job_id = enhanced.json()["job"]["id"]
    started = utcnow() - timedelta(seconds=30)
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            update(ImageEnhancementJob)
            .where(ImageEnhancementJob.id == job_id)
            .values(
                status=JobStatus.COMPLETED,
                processing_started_at=started,
                processing_completed_at=started + timedelta(seconds=12),
                enhanced_size_bytes=5000,
            )
        )
    after = (await admin.get(DASHBOARD)).json()
    assert after["users"]["total"] == before["users"]["total"] + 1
    assert after["users"]["new"] == before["users"]["new"] + 1
    assert _today(after, "users", "newPerDay", "new") == _today(before, "users", "newPerDay", "new") + 1
    spent = _today(after, "tokens", "perDay", "spent") - _today(before, "tokens", "perDay", "spent")
    assert spent == enhanced.json()["job"]["tokensCost"]
    assert any(row["type"] == "SPEND_ENHANCEMENT" for row in after["tokens"]["perDayByType"])
    tier = next(t for t in after["jobs"]["byTier"] if t["tier"] == "TIER_1K")
    assert tier["p50Seconds"] is not None and tier["p50Seconds"] > 0
    completed = {s["status"]: s["jobs"] for s in after["jobs"]["byStatus"]}
    assert completed.get("COMPLETED", 0) >= 1
    storage = after["storage"]
    assert storage["enhancedBytes"] >= 5000 and storage["originalsBytes"] > 0 and storage["databaseBytes"] > 0
    assert {"active", "monthlyValue"} <= after["revenue"]["subscriptions"].keys()

    wrong = await admin.get(DASHBOARD, params={"start": "2024-02-01", "end": "2024-01-01"})
    assert wrong.status_code == 422
    member, _ = await user_client()
    assert (await member.get(DASHBOARD)).status_code == 403
