"""Who gets into the console: admins sign in with their platform account; a USER gets a 403 page and
no session; an anonymous visitor is sent to sign in (and back after); a forged cross-site POST
without the CSRF token changes nothing."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from playwright.async_api import Page, expect
from sqlalchemy import func, select

from spikeland.identity.models import Session, UserRole
from spikeland.ops.models import AuditLog
from tests.console.conftest import Person, shot, sign_in


async def _sessions_of(app: FastAPI, user_id: str) -> int:
    async with app.state.sessionmaker() as session:
        return int(
            await session.scalar(select(func.count()).select_from(Session).where(Session.user_id == user_id))
            or 0
        )


async def test_an_admin_signs_in_and_sees_the_dashboard(page: Page, app: FastAPI, person: Person) -> None:
    admin_id, email = await person(UserRole.ADMIN)
    await page.goto("/admin?days=90")
    await expect(page).to_have_url("/admin/login?next=%2Fadmin%3Fdays%3D90")  # anonymous: sign in first
    await shot(page, "login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("wrong password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Invalid email or password")

    await page.get_by_label("Password").fill("correct horse battery")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url("/admin?days=90")  # back where they were going
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    for name in ("signups", "revenue", "tokens", "jobs", "durations", "queues"):
        await expect(page.locator(f"#chart-{name} .main-svg").first).to_be_visible()
    await expect(page.locator("[data-figure-name=users]")).to_be_visible()
    await shot(page, "dashboard")
    async with app.state.sessionmaker() as session:
        logins = await session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.user_id == admin_id, AuditLog.action == "ADMIN_LOGIN")
        )
    assert logins == 1

    await page.goto("/admin?days=7")
    await expect(page.get_by_label("Range", exact=True)).to_have_value("7")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url("/admin/login")
    await page.goto("/admin")
    await expect(page).to_have_url("/admin/login?next=%2Fadmin")


async def test_a_user_gets_a_403_page_and_no_session(page: Page, app: FastAPI, person: Person) -> None:
    user_id, email = await person(UserRole.USER)
    await sign_in(page, email)
    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    assert await _sessions_of(app, user_id) == 0


async def test_a_forged_post_without_the_token_is_refused(page: Page, served: str, person: Person) -> None:
    _, email = await person(UserRole.SUPER_ADMIN)
    await sign_in(page, email)
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    async with httpx.AsyncClient(base_url=served, cookies=cookies) as client:
        # Our own origin but no token (a page of ours tricked into posting): refused.
        forged = await client.post("/admin/logout", data={}, headers={"Origin": served})
        assert forged.status_code == 403 and "did not come from the console" in forged.text
        # Another site's page posting with the admin's cookie: refused before the console sees it.
        cross = await client.post(
            "/admin/logout", data={"csrf_token": "x"}, headers={"Origin": "https://evil.example"}
        )
        assert cross.status_code == 403
    await page.goto("/admin")
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()  # still signed in


async def test_keyboard_and_phone(page: Page, person: Person) -> None:
    """Signed in with the keyboard alone; on a phone's width nothing runs off the page sideways
    (tables scroll in their own box)."""
    _, email = await person(UserRole.ADMIN)
    await page.goto("/admin/login")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    await page.get_by_label("Email").focus()
    await page.keyboard.type(email)
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Password")).to_be_focused()
    await page.keyboard.type("correct horse battery")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    await page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/admin", "/admin/users", "/admin/jobs/enhancements", "/admin/audit"):
        await page.goto(path)
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, (path, overflow)
    await page.goto("/admin/users")
    await shot(page, "users-phone")
