"""The console's boxes pages: every user's boxes, a box's metering history (its hourly charges),
actions and messages, and an admin stopping a running box — through the boxes service (the box moves
to STOPPING, a STOP action is queued), audited BOX_STOP."""

from __future__ import annotations

from fastapi import FastAPI
from playwright.async_api import Page, expect
from sqlalchemy import select

from spikeland.boxes import billing
from spikeland.boxes.models import Box, BoxAction, BoxActionType, BoxStatus, BoxTier
from spikeland.db.engine import transaction
from spikeland.identity.models import UserRole
from spikeland.ops.models import AdminAuditEvent
from spikeland.tokens import service as tokens
from spikeland.tokens.models import TokenTransactionType
from tests.console.conftest import Person, shot, sign_in


async def test_boxes_metering_and_stop(page: Page, app: FastAPI, person: Person) -> None:
    _, admin = await person(UserRole.ADMIN)
    owner_id, owner = await person(UserRole.USER)
    async with transaction(app.state.sessionmaker) as session:
        await tokens.credit(session, owner_id, 100, TokenTransactionType.EARN_PURCHASE, source="test")
        tier = BoxTier(
            name="Console Standard", cpu=2, ram=4096, storage=20, price_per_hour=10, price_per_month=0
        )
        session.add(tier)
        await session.flush()
        box = Box(name="Research box", user_id=owner_id, tier_id=tier.id, status=BoxStatus.RUNNING)
        session.add(box)
        await session.flush()
        await billing.start_run(session, box, tier.price_per_hour)  # the first hour, paid up front
        box_id = box.id

    page.on("dialog", lambda dialog: dialog.accept())
    await sign_in(page, admin, then=f"/admin/boxes?owner={owner}")
    row = page.locator("tr", has_text="Research box")
    await expect(row).to_contain_text("RUNNING")
    await expect(row).to_contain_text("Console Standard")
    await shot(page, "boxes")
    await row.get_by_role("link", name="Research box").click()
    await expect(page.locator("tr", has_text="box-hour:")).to_contain_text("-10")
    await page.get_by_role("button", name="Stop box").click()
    await expect(page.get_by_role("status")).to_contain_text("Stopping Research box")
    await expect(page.get_by_test_id("status")).to_have_text("STOPPING")
    await expect(page.get_by_role("button", name="Stop box")).to_have_count(0)
    await shot(page, "box")

    async with app.state.sessionmaker() as session:
        found = await session.get(Box, box_id)
        assert found is not None and found.status == BoxStatus.STOPPING
        queued = await session.scalars(select(BoxAction.action).where(BoxAction.box_id == box_id))
        assert list(queued) == [BoxActionType.STOP]
        trail = await session.scalars(
            select(AdminAuditEvent.action).where(AdminAuditEvent.target_id == box_id)
        )
        assert list(trail) == ["BOX_STOP"]
