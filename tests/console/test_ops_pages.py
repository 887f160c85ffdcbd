"""The operations pages: feedback triage (NEW → REVIEWED → RESOLVED with a note, the submitter mailed,
a FEEDBACK_TRIAGE entry for each move, a move out of order refused), tracked URLs (add, a refused
path, edit, delete; each audited), the email log (filters, one mail's page) and a test mail."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from fastapi import FastAPI
from playwright.async_api import Page, expect
from sqlalchemy import select

from spikeland.analytics.models import TrackedUrl
from spikeland.db.engine import transaction
from spikeland.identity.models import UserRole
from spikeland.integrations.email import EmailMessage
from spikeland.ops import feedback
from spikeland.ops.emails import OutgoingEmail, deliver
from spikeland.ops.models import AdminAuditEvent, EmailLog, Feedback, FeedbackStatus, FeedbackType
from tests.console.conftest import Person, shot, sign_in


async def _audit(
    app: FastAPI, action: str, target_id: str | None = None
) -> list[tuple[str | None, dict[str, Any]]]:
    async with app.state.sessionmaker() as session:
        # The actions outside the specification's AuditAction are kept in admin_audit_events.
        statement = select(AdminAuditEvent).where(AdminAuditEvent.action == action)
        if target_id is not None:
            statement = statement.where(AdminAuditEvent.target_id == target_id)
        statement = statement.order_by(AdminAuditEvent.created_at)
        return [(row.user_id, row.metadata_ or {}) for row in await session.scalars(statement)]


async def _mails(app: FastAPI, to: str, template: str) -> list[EmailLog]:
    """The logged mails to ``to``, waited for a little: they are sent after the page's answer."""
    for _ in range(50):
        async with app.state.sessionmaker() as session:
            rows = list(
                await session.scalars(
                    select(EmailLog).where(EmailLog.to == to, EmailLog.template == template)
                )
            )
        if rows:
            return rows
        await asyncio.sleep(0.1)
    return []


async def test_feedback_triage(page: Page, app: FastAPI, person: Person) -> None:
    admin_id, admin = await person(UserRole.ADMIN)
    submitter_id, submitter = await person(UserRole.USER)
    marker = secrets.token_hex(4)
    async with transaction(app.state.sessionmaker) as session:
        bug = await feedback.submit(
            session,
            kind=FeedbackType.BUG,
            message=f"The upload button does nothing {marker}\nSecond line.",
            page="/apps/enhance",
            email=None,
            user_id=submitter_id,
            user_agent="Mozilla/5.0 (X11; Linux) TestBrowser/1.0",
        )
        await feedback.submit(
            session,
            kind=FeedbackType.IDEA,
            message=f"Dark mode please {marker}",
            page="/",
            email="idea@example.com",
            user_id=None,
            user_agent=None,
        )

    await sign_in(page, admin, then="/admin/feedback?status=NEW")
    rows = page.locator("tbody tr", has_text=marker)
    await expect(rows).to_have_count(2)
    await page.get_by_label("Type").select_option("BUG")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("The upload button does nothing")
    await expect(rows.first).to_contain_text(submitter)  # who sent it
    await shot(page, "feedback")

    await rows.first.get_by_role("link", name="The upload button").click()
    await expect(page.get_by_text("TestBrowser/1.0")).to_be_visible()
    await expect(page.get_by_text("/apps/enhance")).to_be_visible()
    await expect(page.get_by_role("link", name=submitter)).to_be_visible()
    await page.get_by_label("Status").select_option("REVIEWED")
    await page.get_by_role("button", name="Save triage").click()
    await expect(page.get_by_test_id("status")).to_have_text("REVIEWED")

    # A move the rules do not allow (the page offers none): refused, shown, nothing changes.
    token = await page.locator("input[name=csrf_token]").first.input_value()
    answer = await page.request.post(
        f"/admin/feedback/{bug.id}", form={"csrf_token": token, "status": "NEW"}, max_redirects=0
    )
    assert answer.status == 303
    await page.reload()
    await expect(page.get_by_role("alert")).to_contain_text("cannot become NEW")

    await page.get_by_label("Status").select_option("RESOLVED")
    await page.get_by_label("Admin note").fill("Fixed in today's release.")
    await page.get_by_role("button", name="Save triage").click()
    await expect(page.get_by_role("status")).to_contain_text("Feedback is RESOLVED. The submitter is mailed.")
    await shot(page, "feedback_item")
    async with app.state.sessionmaker() as session:
        row = await session.get(Feedback, bug.id)
    assert row is not None and (row.status, row.admin_note) == (
        FeedbackStatus.RESOLVED,
        "Fixed in today's release.",
    )
    audit = await _audit(app, "FEEDBACK_TRIAGE", bug.id)
    assert [(actor, metadata["status"], metadata["via"]) for actor, metadata in audit] == [
        (admin_id, "REVIEWED", "console"),
        (admin_id, "RESOLVED", "console"),
    ]
    (mail,) = await _mails(app, submitter, "FEEDBACK_RESOLVED")  # the account's address, once
    assert mail.user_id == submitter_id


async def test_tracked_urls(page: Page, app: FastAPI, person: Person) -> None:
    admin_id, admin = await person(UserRole.ADMIN)
    path = f"/pricing-{secrets.token_hex(3)}"
    await sign_in(page, admin, then="/admin/tracked-urls")
    await page.get_by_label("Path").fill(path)
    await page.get_by_label("Label").fill("Pricing")
    await page.get_by_role("button", name="Add URL").click()
    await expect(page.get_by_role("status")).to_contain_text(f"{path} is tracked.")
    row = page.locator("tbody tr", has_text=path)
    await expect(row).to_contain_text("Pricing")
    await expect(row).to_contain_text("active")
    await shot(page, "tracked-urls")
    async with app.state.sessionmaker() as session:
        created = await session.scalar(select(TrackedUrl).where(TrackedUrl.path == path))
    assert created is not None and created.created_by_id == admin_id
    assert [metadata["path"] for _, metadata in await _audit(app, "TRACKED_URL_CREATE", created.id)] == [path]

    await page.get_by_label("Path").fill("https://elsewhere.example/x")
    await page.get_by_role("button", name="Add URL").click()
    await expect(page.get_by_role("alert")).to_contain_text("must start with")

    await row.get_by_role("link", name="Edit").click()
    await page.get_by_label("Path").fill(f"{path}/plans")
    await page.get_by_label("Label").fill("")
    await page.get_by_label("Active").uncheck()
    await page.get_by_role("button", name="Save URL").click()
    await expect(page.get_by_role("status")).to_contain_text(f"{path}/plans saved.")
    await expect(page.get_by_label("Active")).not_to_be_checked()
    async with app.state.sessionmaker() as session:
        edited = await session.get(TrackedUrl, created.id)
    assert edited is not None and (edited.path, edited.label, edited.is_active) == (
        f"{path}/plans",
        None,
        False,
    )
    assert len(await _audit(app, "TRACKED_URL_UPDATE", created.id)) == 1

    page.on("dialog", lambda dialog: dialog.accept())
    await page.goto("/admin/tracked-urls?active=no")
    await page.locator("tbody tr", has_text=path).get_by_role("button", name="Delete").click()
    await expect(page.get_by_role("status")).to_contain_text("is no longer tracked")
    async with app.state.sessionmaker() as session:
        assert await session.get(TrackedUrl, created.id) is None
    assert len(await _audit(app, "TRACKED_URL_DELETE", created.id)) == 1


async def test_email_log_and_test_mail(page: Page, app: FastAPI, person: Person) -> None:
    admin_id, admin = await person(UserRole.ADMIN)
    user_id, user = await person(UserRole.USER)
    for subject in ("Welcome aboard", "Your order shipped"):
        message = EmailMessage(to=user, subject=subject, text="Hello.", template="merch_order_shipped")
        await deliver(app.state.sessionmaker, app.state.email_sender, OutgoingEmail(user_id, message))

    await sign_in(page, admin, then="/admin/emails")
    await page.get_by_label("Recipient").fill(user.upper())  # the address, in any case
    await page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("Your order shipped")  # newest first
    await page.get_by_label("Status").select_option("FAILED")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_text(["No mail matches."])
    await page.get_by_label("Status").select_option("SENT")
    await page.get_by_label("Template").fill("merch_order_shipped")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(2)
    await shot(page, "emails")

    await page.get_by_role("link", name="Welcome aboard").click()
    await expect(page.get_by_role("heading", name="Welcome aboard")).to_be_visible()
    await expect(page.get_by_test_id("status")).to_have_text("SENT")
    await expect(page.get_by_role("link", name=user)).to_be_visible()
    await expect(page.get_by_text('"provider": "local"')).to_be_visible()

    target = f"console-test-{secrets.token_hex(3)}@example.com"
    await page.goto("/admin/emails")
    await page.get_by_label("Send to").fill(target)
    await page.get_by_role("button", name="Send test email").click()
    await expect(page.get_by_role("status")).to_contain_text(f"A test mail to {target} is on its way.")
    (mail,) = await _mails(app, target, "TEST")
    assert (mail.user_id, mail.subject) == (admin_id, "Spike Land test mail")
    await page.reload()
    await expect(page.locator("tbody tr")).to_have_count(1)  # the page filters on the test mail
    assert [metadata["to"] for actor, metadata in await _audit(app, "EMAIL_TEST") if actor == admin_id] == [
        target
    ]
