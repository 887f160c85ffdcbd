"""The users pages: search, detail, and the actions — a token adjustment (applied once however often
the form is sent), a role change (super admins only: an ADMIN sees no form and is refused), a
deletion confirmed by the email — each checked in the database and the audit trail."""

from __future__ import annotations

from fastapi import FastAPI
from playwright.async_api import Page, expect
from sqlalchemy import select

from spikeland.identity.models import User, UserRole
from spikeland.ops.models import AuditLog
from spikeland.tokens.models import UserTokenBalance
from tests.console.conftest import Person, shot, sign_in


async def _audit(app: FastAPI, target_id: str) -> list[tuple[str, dict]]:
    async with app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(AuditLog).where(AuditLog.target_id == target_id).order_by(AuditLog.created_at)
        )
        return [(row.action.value, row.metadata_ or {}) for row in rows]


async def test_search_adjust_tokens_change_role_delete(page: Page, app: FastAPI, person: Person) -> None:
    _, chief = await person(UserRole.SUPER_ADMIN, name="Chief")
    target_id, target = await person(UserRole.USER, name="Zed Target")
    await sign_in(page, chief, then="/admin/users")
    await page.get_by_label("Email or name").fill("zed targ")
    await page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(target)
    await shot(page, "users")
    await page.get_by_role("link", name=target).click()
    await expect(page.get_by_role("heading", name=target)).to_be_visible()
    await expect(page.get_by_test_id("balance")).to_have_text("10")  # the free tier's start

    await page.get_by_label("Adjust by").fill("25")
    await page.get_by_label("Reason").fill("Goodwill for a failed print")
    sent = {
        name: await page.locator(f"input[name={name}]").first.input_value()
        for name in ("csrf_token", "action_id", "amount", "reason")
    }
    await page.get_by_role("button", name="Adjust tokens").click()
    await expect(page.get_by_role("status")).to_contain_text("the balance is now 35")
    await expect(page.get_by_test_id("balance")).to_have_text("35")
    await shot(page, "user")
    # The same form sent again (a double click, a resent POST) is applied once.
    again = await page.request.post(f"/admin/users/{target_id}/tokens", form=sent, max_redirects=0)
    assert again.status == 303
    async with app.state.sessionmaker() as session:
        balance = await session.scalar(
            select(UserTokenBalance.balance).where(UserTokenBalance.user_id == target_id)
        )
    assert balance == 35

    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto(f"/admin/users/{target_id}")
    await page.get_by_label("New role").select_option("ADMIN")
    await page.get_by_role("button", name="Change role").click()
    await expect(page.get_by_test_id("role")).to_have_text("ADMIN")
    audit = await _audit(app, target_id)
    assert [action for action, _ in audit] == ["TOKEN_ADJUSTMENT", "ROLE_CHANGE"]
    assert audit[0][1]["amount"] == 25 and audit[1][1] == {"from": "USER", "to": "ADMIN"}

    await page.get_by_label("Type the email address to confirm").fill("not-the-address@example.com")
    await page.get_by_role("button", name="Delete user").click()
    await expect(page.get_by_role("alert")).to_contain_text("Type the user's email address")
    await page.get_by_label("Type the email address to confirm").fill(target)
    await page.get_by_role("button", name="Delete user").click()
    await expect(page).to_have_url("/admin/users")
    await expect(page.get_by_role("status")).to_contain_text("was deleted")
    async with app.state.sessionmaker() as session:
        assert await session.get(User, target_id) is None
    assert [action for action, _ in await _audit(app, target_id)][-1] == "USER_DELETE"


async def test_an_admin_cannot_change_roles(page: Page, app: FastAPI, person: Person, served: str) -> None:
    _, email = await person(UserRole.ADMIN)
    target_id, _ = await person(UserRole.USER)
    await sign_in(page, email, then=f"/admin/users/{target_id}")
    await expect(page.get_by_role("button", name="Change role")).to_have_count(0)
    await expect(page.get_by_text("Only a super admin changes roles.")).to_be_visible()
    # Sent anyway, with a valid token, it is refused and changes nothing.
    token = await page.locator("input[name=csrf_token]").first.input_value()
    answer = await page.request.post(
        f"/admin/users/{target_id}/role", form={"csrf_token": token, "role": "SUPER_ADMIN"}, max_redirects=0
    )
    assert answer.status == 303  # back to the page, with the refusal shown there
    await page.reload()
    await expect(page.get_by_role("alert")).to_contain_text("Only a super admin can do this.")
    async with app.state.sessionmaker() as session:
        assert (await session.get(User, target_id)).role == UserRole.USER
    assert await _audit(app, target_id) == []
