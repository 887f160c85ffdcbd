"""The featured gallery page: an item made from a completed job (its before/after previews load),
reordered by dragging and by Alt+Arrow keys, edited, deactivated and deleted — each checked in the
database, the public listing and the audit trail."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from playwright.async_api import Locator, Page, expect
from sqlalchemy import select

from spikeland.db.enums import JobStatus
from spikeland.gallery.models import FeaturedGalleryItem
from spikeland.identity.models import UserRole
from spikeland.images.models import ImageEnhancementJob
from spikeland.ops.models import AdminAuditEvent
from tests.console.conftest import Person, shot, sign_in
from tests.support import fetch
from tests.support import sign_in as api_sign_in
from tests.support.images import picture, upload, work


async def _completed_jobs(app: FastAPI, client: httpx.AsyncClient, owner_id: str) -> list[str]:
    """Two images enhanced to the end by the worker, oldest first."""
    for data in (picture(320, 200), picture(200, 320, color=(20, 90, 160))):
        image = await upload(client, data)
        answer = await client.post(f"/api/v1/images/{image}/enhance", json={"tier": "FREE"})
        assert answer.status_code == 202, answer.text
    await work(app)
    jobs = await fetch(app, ImageEnhancementJob, user_id=owner_id, status=JobStatus.COMPLETED)
    assert len(jobs) == 2
    return [job.id for job in sorted(jobs, key=lambda job: job.created_at)]


async def _item(app: FastAPI, job_id: str) -> FeaturedGalleryItem | None:
    found = await fetch(app, FeaturedGalleryItem, source_job_id=job_id)
    return found[0] if found else None


async def _actions(app: FastAPI, actor_id: str) -> list[tuple[str, str | None]]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            select(AdminAuditEvent.action, AdminAuditEvent.target_id)
            .where(AdminAuditEvent.user_id == actor_id)
            .order_by(AdminAuditEvent.created_at, AdminAuditEvent.id)
        )
        return [(action, target) for action, target in rows]


async def loaded(images: Locator) -> None:
    """Every matched <img> was fetched and decoded (a real picture, not a broken link)."""
    for image in await images.all():
        await expect(image).to_be_visible()
        handle = await image.element_handle()
        await image.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=handle)


async def test_feature_reorder_edit_deactivate_delete(
    page: Page, app: FastAPI, client: httpx.AsyncClient, person: Person
) -> None:
    owner = await api_sign_in(client)
    first_job, second_job = await _completed_jobs(app, client, owner.id)
    admin_id, admin = await person(UserRole.ADMIN)
    await sign_in(page, admin, then="/admin/gallery/new")

    # Pick a completed job among the owner's, with its before/after previews.
    await page.get_by_label("User (id or email)").fill(str(owner.email))
    await page.get_by_role("button", name="Filter").click()
    picks = page.locator("label.pick")
    await expect(picks).to_have_count(2)
    await loaded(page.locator("label.pick img"))
    await page.locator(f"#pick-{first_job}").check()
    await page.get_by_label("Title").fill("Harbour at <b>dusk</b>")
    await page.get_by_label("Description (optional)").fill("Before and after a 1K enhancement.")
    await page.get_by_label("Category").select_option("LANDSCAPE")
    await page.get_by_role("button", name="Add to the gallery").click()
    await expect(page).to_have_url("/admin/gallery")
    await expect(page.get_by_role("status")).to_contain_text("Harbour at dusk")
    first = await _item(app, first_job)
    assert first is not None and (first.title, first.category.value) == ("Harbour at dusk", "LANDSCAPE")
    assert first.is_active and (first.width, first.height) == (8, 5)  # the output's 320x200

    # The second from its job's page link (preselected), then both are in the list with previews.
    await page.goto(f"/admin/jobs/enhancements/{second_job}")
    await page.get_by_role("link", name="Feature it in the gallery").click()
    await expect(page.locator(f"#pick-{second_job}")).to_be_checked()
    await page.get_by_label("Title").fill("Portrait in blue")
    await page.get_by_label("Category").select_option("PORTRAIT")
    await page.get_by_role("button", name="Add to the gallery").click()
    second = await _item(app, second_job)
    assert second is not None and second.sort_order > first.sort_order  # appended
    a, b = page.locator(f'li[data-id="{first.id}"]'), page.locator(f'li[data-id="{second.id}"]')
    await loaded(a.locator("img"))
    await loaded(b.locator("img"))

    # Drag the second above the first and save: the order is stored and audited.
    await b.drag_to(a, target_position={"x": 20, "y": 4})
    ids = await page.locator("ol.sortable > li").evaluate_all("items => items.map(i => i.dataset.id)")
    assert ids.index(second.id) == ids.index(first.id) - 1
    await page.get_by_role("button", name="Save the order").click()
    await expect(page.get_by_role("status")).to_contain_text("The new order")
    first, second = await _item(app, first_job), await _item(app, second_job)
    assert first is not None and second is not None and second.sort_order < first.sort_order
    await shot(page, "gallery")
    # And back with the keyboard: the first, focused, moves up with Alt+ArrowUp.
    await a.focus()
    await page.keyboard.press("Alt+ArrowUp")
    await page.get_by_role("button", name="Save the order").click()
    await expect(page.get_by_role("status")).to_contain_text("The new order")
    first, second = await _item(app, first_job), await _item(app, second_job)
    assert first is not None and second is not None and first.sort_order < second.sort_order

    # Edit the second on its page; deactivate the first: it leaves the public gallery.
    await page.goto(f"/admin/gallery/{second.id}")
    await loaded(page.locator(".previews img"))
    await page.get_by_label("Title").fill("Portrait in deep blue")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_contain_text("was saved")
    assert (edited := await _item(app, second_job)) is not None and edited.title == "Portrait in deep blue"
    await page.goto("/admin/gallery")
    await a.get_by_role("button", name="Deactivate").click()
    await expect(a.get_by_test_id("state")).to_have_text("hidden")
    assert (hidden := await _item(app, first_job)) is not None and hidden.is_active is False
    public = await page.request.get("/api/v1/gallery/featured")
    shown = [item["id"] for item in (await public.json())["items"]]
    assert second.id in shown and first.id not in shown

    # Delete the second, confirmed.
    page.on("dialog", lambda dialog: dialog.accept())
    await b.get_by_role("button", name="Delete").click()
    await expect(page.get_by_role("status")).to_contain_text("was deleted")
    await expect(b).to_have_count(0)
    assert await _item(app, second_job) is None

    assert await _actions(app, admin_id) == [
        ("FEATURED_CREATE", first.id),
        ("FEATURED_CREATE", second.id),
        ("FEATURED_REORDER", None),
        ("FEATURED_REORDER", None),
        ("FEATURED_UPDATE", second.id),
        ("FEATURED_UPDATE", first.id),
        ("FEATURED_DELETE", second.id),
    ]
