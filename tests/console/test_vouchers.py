"""The vouchers pages: the list and its filters, a new voucher (a VOUCHER_CREATE entry, written once,
by the service), a refused duplicate code, an edit (VOUCHER_UPDATE with the changes), the
redemptions on a voucher's page, and a deletion asked twice (cancelled, then confirmed)."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import FastAPI
from playwright.async_api import Dialog, Page, expect
from sqlalchemy import select

from spikeland.core.ratelimit import RateLimiter
from spikeland.db.engine import transaction
from spikeland.growth import service
from spikeland.growth.models import Voucher, VoucherStatus, VoucherType
from spikeland.identity.models import UserRole
from spikeland.ops.models import AuditLog
from tests.console.conftest import Person, shot, sign_in
from tests.support.factories import committed_voucher


async def _audit(app: FastAPI, target_id: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditLog).where(AuditLog.target_id == target_id).order_by(AuditLog.created_at)
        )
        return [(row.action.value, row.user_id, row.metadata_ or {}) for row in rows]


async def _voucher(app: FastAPI, code: str) -> Voucher | None:
    async with app.state.sessionmaker() as session:
        return await session.scalar(select(Voucher).where(Voucher.code == code))


async def test_list_create_edit_delete(page: Page, app: FastAPI, person: Person) -> None:
    admin_id, admin = await person(UserRole.ADMIN)
    redeemer_id, redeemer = await person(UserRole.USER)
    family = f"CV{secrets.token_hex(3).upper()}"
    seeded = await committed_voucher(app, code=f"{family}A", value=25, max_uses=5)
    await committed_voucher(app, code=f"{family}B", type=VoucherType.PERCENTAGE_BONUS, value=20)
    async with transaction(app.state.sessionmaker) as session:
        await service.redeem(session, redeemer_id, seeded.code, limiter=RateLimiter(), per_hour=5)

    await sign_in(page, admin, then="/admin/vouchers")
    await page.get_by_label("Code starts with").fill(family.lower())  # codes are upper-case
    await page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(2)
    await page.get_by_label("Type", exact=True).select_option("PERCENTAGE_BONUS")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(f"{family}B")
    await page.get_by_label("Type", exact=True).select_option("FIXED_TOKENS")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows.first).to_contain_text("1 / 5")  # uses of the limit
    await shot(page, "vouchers")

    # Its page: who redeemed it, when, what it gave.
    await page.get_by_role("link", name=seeded.code).click()
    redemption = page.locator("tbody tr")
    await expect(redemption).to_have_count(1)
    await expect(redemption.first).to_contain_text(redeemer)
    await expect(redemption.first).to_contain_text("25 tokens")
    await expect(page.get_by_test_id("uses")).to_contain_text("1 / 5 (4 left)")
    await shot(page, "voucher")

    # A new voucher.
    code = f"{family}NEW"
    await page.goto("/admin/vouchers")
    await page.get_by_label("Code (letters and digits)").fill(code.lower())
    await page.get_by_label("Voucher type").select_option("SUBSCRIPTION_TRIAL")
    await page.get_by_label("Value (tokens, percent or trial days)").fill("14")
    await page.get_by_label("Max uses").fill("100")
    await page.get_by_label("Expires (UTC; empty: never)").fill("2099-01-31T12:00")
    await page.get_by_label("Trial tier").select_option("PREMIUM")
    await page.get_by_label("Metadata").fill('{"campaign": "spring"}')
    await page.get_by_role("button", name="Create voucher").click()
    await expect(page.get_by_role("status")).to_contain_text(f"Voucher {code} created.")
    await expect(page.get_by_test_id("status")).to_have_text("ACTIVE")
    created = await _voucher(app, code)
    assert created is not None
    assert (created.type, created.value, created.max_uses) == (VoucherType.SUBSCRIPTION_TRIAL, 14, 100)
    assert created.expires_at is not None and created.expires_at.isoformat() == "2099-01-31T12:00:00+00:00"
    assert created.metadata_ == {"campaign": "spring", "tier": "PREMIUM"}
    audit = await _audit(app, created.id)
    assert [(action, actor) for action, actor, _ in audit] == [("VOUCHER_CREATE", admin_id)]  # once
    assert audit[0][2]["code"] == code

    # The same code again is refused, on the form's page, and nothing is added.
    await page.goto("/admin/vouchers")
    await page.get_by_label("Code (letters and digits)").fill(code)
    await page.get_by_label("Value (tokens, percent or trial days)").fill("5")
    await page.get_by_role("button", name="Create voucher").click()
    await expect(page.get_by_role("alert")).to_contain_text("Voucher code already exists.")
    await expect(page).to_have_url("/admin/vouchers")

    # Edit: disabled, a higher limit, no expiry.
    await page.goto(f"/admin/vouchers/{created.id}")
    await page.get_by_label("Status").select_option("INACTIVE")
    await page.get_by_label("Max uses").fill("200")
    await page.get_by_label("Expires (UTC; empty: never)").fill("")
    await page.get_by_role("button", name="Save voucher").click()
    await expect(page.get_by_role("status")).to_contain_text("saved: INACTIVE")
    await expect(page.get_by_test_id("status")).to_have_text("INACTIVE")
    edited = await _voucher(app, code)
    assert edited is not None
    assert (edited.status, edited.max_uses, edited.expires_at) == (VoucherStatus.INACTIVE, 200, None)
    action, _, metadata = (await _audit(app, created.id))[-1]
    assert action == "VOUCHER_UPDATE"
    assert metadata["changes"]["status"] == ["ACTIVE", "INACTIVE"]
    assert metadata["changes"]["maxUses"] == [100, 200]

    # Delete: asked first; cancelled nothing happens, confirmed it is gone.
    answers = iter([False, True])

    async def answer(dialog: Dialog) -> None:
        await (dialog.accept() if next(answers) else dialog.dismiss())

    page.on("dialog", answer)
    await page.get_by_role("button", name="Delete voucher").click()
    await expect(page).to_have_url(f"/admin/vouchers/{created.id}")
    assert await _voucher(app, code) is not None
    await page.get_by_role("button", name="Delete voucher").click()
    await expect(page).to_have_url("/admin/vouchers")
    await expect(page.get_by_role("status")).to_contain_text(f"Voucher {code} deleted.")
    assert await _voucher(app, code) is None
    assert [action for action, _, _ in await _audit(app, created.id)] == [
        "VOUCHER_CREATE",
        "VOUCHER_UPDATE",
        "VOUCHER_DELETE",
    ]
