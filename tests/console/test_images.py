"""The list of every image: newest first in keyset pages of 50, filtered by owner and visibility."""

from __future__ import annotations

from fastapi import FastAPI
from playwright.async_api import Page, expect

from spikeland.db.engine import transaction
from spikeland.identity.models import UserRole
from tests.console.conftest import Person, shot, sign_in
from tests.support.factories import make_image


async def test_images_pages_and_filters(page: Page, app: FastAPI, person: Person) -> None:
    _, admin = await person(UserRole.ADMIN)
    owner_id, owner = await person(UserRole.USER)
    other_id, _ = await person(UserRole.USER)
    async with transaction(app.state.sessionmaker) as session:
        for index in range(53):
            await make_image(session, owner_id, name=f"owned-{index:02d}", is_public=index % 2 == 0)
        await make_image(session, other_id, name="someone-else", is_public=True)

    await sign_in(page, admin, then=f"/admin/images?owner={owner}")
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(50)
    await expect(rows.first).to_contain_text("owned-52")  # newest first
    await shot(page, "images")
    await page.get_by_role("link", name="Next page").click()
    await expect(rows).to_have_count(3)
    await expect(rows.last).to_contain_text("owned-00")
    await expect(page.get_by_text("End of the list")).to_be_visible()

    await page.goto(f"/admin/images?owner={owner_id}&visibility=private")
    await expect(rows).to_have_count(26)
    await page.goto("/admin/images?owner=nobody@example.com")
    await expect(page.get_by_role("alert")).to_contain_text("No user with the id or email")
