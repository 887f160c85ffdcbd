"""The jobs pages: every user's jobs filtered by owner and status, a status column that refreshes
itself while jobs wait or run, the stuck ones, a job's detail with its images, and the actions —
cancel (refunded once, in the ledger) and rerun (a failed job: a new free job) — each checked in the
database and the audit trail."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from playwright.async_api import Locator, Page, expect
from sqlalchemy import select, update

from spikeland.core.clock import utcnow
from spikeland.db.engine import transaction
from spikeland.db.enums import JobStatus
from spikeland.generation.models import McpGenerationJob
from spikeland.identity.models import UserRole
from spikeland.images.models import ImageEnhancementJob
from spikeland.ops.models import AdminAuditEvent
from spikeland.tokens.models import TokenTransaction
from tests.console.conftest import Person, shot, sign_in
from tests.support import fetch
from tests.support import sign_in as api_sign_in
from tests.support.images import finished_results, upload

API = "/api/v1"


async def _enhance(client: httpx.AsyncClient, image_id: str) -> str:
    answer = await client.post(f"{API}/images/{image_id}/enhance", json={"tier": "TIER_1K"})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["job"]["id"])


async def _set(app: FastAPI, job_id: str, **values: object) -> None:
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            update(ImageEnhancementJob).where(ImageEnhancementJob.id == job_id).values(**values)
        )


async def _balance(client: httpx.AsyncClient) -> int:
    return int((await client.get(f"{API}/tokens/balance")).json()["balance"])


async def _audit(app: FastAPI, target_id: str) -> list[tuple[str, dict]]:
    rows = await fetch(app, AdminAuditEvent, target_id=target_id)
    return [(row.action, row.metadata_ or {}) for row in sorted(rows, key=lambda r: r.created_at)]


async def loaded(image: Locator) -> None:
    """The <img> was fetched and decoded (a real picture, not a broken link)."""
    await expect(image).to_be_visible()
    handle = await image.element_handle()
    await image.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=handle)


async def test_filter_cancel_rerun_and_stuck(
    page: Page, app: FastAPI, client: httpx.AsyncClient, person: Person
) -> None:
    owner = await api_sign_in(client)
    image = await upload(client)
    start = await _balance(client)
    waiting, failed, stuck, live = [await _enhance(client, image) for _ in range(4)]
    long_ago = utcnow() - timedelta(seconds=app.state.settings.job_lease_seconds * 3)
    await _set(app, stuck, status=JobStatus.PROCESSING, processing_started_at=long_ago, updated_at=long_ago)
    await _set(app, failed, status=JobStatus.FAILED, error_message="model overloaded")
    await finished_results(app, owner.id, image)
    completed = (await fetch(app, ImageEnhancementJob, user_id=owner.id, status=JobStatus.COMPLETED))[0]

    # Previews are for admins only: anyone else is sent to sign in.
    anonymous = await page.request.get(f"/admin/media/jobs/{completed.id}/enhanced", max_redirects=0)
    assert anonymous.status == 303

    _, admin = await person(UserRole.ADMIN)
    await sign_in(page, admin, then="/admin/jobs")
    await expect(page).to_have_url("/admin/jobs/enhancements")
    await page.get_by_label("User (id or email)").fill(str(owner.email))
    await page.get_by_role("button", name="Filter").click()
    rows = page.locator("#jobs-table tbody tr")
    await expect(rows).to_have_count(5)
    await expect(page.locator("#jobs-table")).to_have_attribute("data-refresh", "5")
    await expect(page.locator(f'tr[data-job="{failed}"]')).to_contain_text("FAILED")
    await expect(page.locator(f'tr[data-job="{stuck}"]')).to_contain_text("PROCESSING")
    await shot(page, "jobs")
    # The status column follows the jobs without a reload.
    await _set(app, live, status=JobStatus.COMPLETED)
    await expect(page.locator(f'tr[data-job="{live}"] [data-testid=status]')).to_have_text(
        "COMPLETED", timeout=12_000
    )

    await page.get_by_label("Status").select_option("PENDING")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(waiting)

    # Cancel the waiting (paid) job: CANCELLED, its tokens back once, in the ledger, audited.
    await rows.first.get_by_role("link", name=waiting).click()
    await expect(page.get_by_test_id("status")).to_have_text("PENDING")
    await loaded(page.get_by_test_id("before"))
    page.on("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name="Cancel job").click()
    await expect(page.get_by_role("status")).to_contain_text("2 tokens went back to the owner")
    await expect(page.get_by_test_id("status")).to_have_text("CANCELLED")
    assert (await fetch(app, ImageEnhancementJob, id=waiting))[0].status == JobStatus.CANCELLED
    refunds = await fetch(app, TokenTransaction, source_id=waiting, type="REFUND")
    assert [r.amount for r in refunds] == [2]
    assert await _balance(client) == start - 3 * 2  # three of the four jobs still paid for
    [(action, metadata)] = await _audit(app, waiting)
    assert action == "JOB_CANCEL" and metadata["via"] == "console" and metadata["kind"] == "enhancements"

    # Rerun the failed one: a new PENDING job of the same image, free, audited on the old one.
    await page.goto(f"/admin/jobs/enhancements/{failed}")
    await expect(page.get_by_test_id("error")).to_have_text("model overloaded")
    await page.get_by_role("button", name="Rerun job").click()
    await expect(page.get_by_role("status")).to_contain_text("free of charge")
    await expect(page.get_by_test_id("cost")).to_have_text("0 tokens")
    [(action, metadata)] = await _audit(app, failed)
    assert action == "JOB_RERUN" and metadata["free"] is True
    rerun = (await fetch(app, ImageEnhancementJob, id=metadata["new_job_id"]))[0]
    assert (rerun.status, rerun.tokens_cost, rerun.image_id) == (JobStatus.PENDING, 0, image)
    await expect(page).to_have_url(f"/admin/jobs/enhancements/{rerun.id}")
    assert await _balance(client) == start - 3 * 2

    # A completed job shows its output; the stuck one is listed as stuck.
    await page.goto(f"/admin/jobs/enhancements/{completed.id}")
    await loaded(page.get_by_test_id("after"))
    await shot(page, "job")
    await expect(page.get_by_role("button", name="Rerun job")).to_have_count(0)
    await page.goto("/admin/jobs/enhancements/stuck")
    stuck_table = page.locator("table").filter(has=page.locator(f'tr[data-job="{stuck}"]'))
    await expect(stuck_table.locator("caption")).to_have_text("Longest silent first (at most 100)")
    assert int(await page.locator("[data-figure-name=stuck]").inner_text()) >= 1


async def test_generation_jobs(page: Page, app: FastAPI, client: httpx.AsyncClient, person: Person) -> None:
    owner = await api_sign_in(client)
    await finished_results(app, owner.id, await upload(client))
    async with app.state.sessionmaker() as session:
        job_id = await session.scalar(select(McpGenerationJob.id).where(McpGenerationJob.user_id == owner.id))
    _, admin = await person(UserRole.ADMIN)
    await sign_in(page, admin, then="/admin/jobs/generations")
    await page.get_by_label("User (id or email)").fill(owner.id)
    await page.get_by_role("button", name="Filter").click()
    row = page.locator(f'tr[data-job="{job_id}"]')
    await expect(row).to_contain_text("GENERATE")
    await expect(page.locator("#jobs-table")).not_to_have_attribute("data-refresh", "5")  # nothing live
    await row.get_by_role("link", name=job_id).click()
    await expect(page.get_by_text("a lighthouse")).to_be_visible()
    await loaded(page.get_by_test_id("after"))
