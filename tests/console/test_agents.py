"""The console's coding-agent pages against a Jules peer on loopback: start a session, read it back
(the plan), approve the plan, message the agent, see the pull request once it is done — each action
in the database and the audit trail."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI
from playwright.async_api import Page, expect
from sqlalchemy import delete, select

from spikeland.agents.models import ExternalAgentSession, ExternalAgentStatus
from spikeland.app import create_app
from spikeland.identity.models import UserRole
from spikeland.ops.models import AdminAuditEvent
from spikeland.settings import Settings
from tests.console.conftest import Person, shot, sign_in
from tests.integrations.jules_peer import JulesPeer, run_jules_peer


@pytest.fixture(scope="module")
def jules() -> Iterator[JulesPeer]:
    with run_jules_peer() as peer:
        yield peer


@pytest.fixture
async def app(settings: Settings, jules: JulesPeer, database_url: str) -> AsyncIterator[FastAPI]:
    """The console's app, configured with the Jules peer (the page fixtures serve this one)."""
    made = create_app(settings.model_copy(update=jules.settings()), database_url=database_url)
    async with made.router.lifespan_context(made):
        yield made
    async with made.state.sessionmaker() as session, session.begin():
        await session.execute(
            delete(ExternalAgentSession).where(
                ExternalAgentSession.external_id.in_(list(jules.state.sessions))
            )
        )


async def test_start_approve_message_and_finish(
    page: Page, app: FastAPI, person: Person, jules: JulesPeer
) -> None:
    _, admin = await person(UserRole.ADMIN)
    await sign_in(page, admin, then="/admin/agents")
    await page.get_by_label("Title").fill("Fix the parser")
    await page.get_by_label("Task").fill("The parser drops the last line.")
    await page.get_by_label("Repository").fill("spike-land/platform")
    await page.get_by_role("button", name="Start session").click()
    await expect(page.get_by_role("status")).to_contain_text("Session started: Fix the parser")
    await expect(page.get_by_test_id("status")).to_have_text("PLANNING")
    session_id = page.url.rsplit("/", 1)[1]

    await page.goto("/admin/agents")
    await page.get_by_role("button", name="Read back now").click()
    await expect(page.get_by_role("status")).to_contain_text("Read back")
    await page.get_by_role("link", name="Fix the parser").click()
    await expect(page.get_by_test_id("status")).to_have_text("AWAITING_PLAN_APPROVAL")
    await expect(page.get_by_test_id("plan")).to_contain_text("Fix the parser")
    await page.get_by_role("button", name="Approve plan").click()
    await expect(page.get_by_test_id("status")).to_have_text("IN_PROGRESS")

    await page.get_by_label("Message", exact=True).fill("Keep the public API as it is.")
    await page.get_by_role("button", name="Send message").click()
    await expect(page.get_by_role("status")).to_contain_text("Message sent")
    await expect(page.locator("tbody")).to_contain_text("Keep the public API as it is.")

    async with app.state.sessionmaker() as session:
        row = await session.get(ExternalAgentSession, session_id)
        assert row is not None
        name = row.external_id
    pr = "https://github.com/spike-land/platform/pull/9"
    jules.state.complete(name, pr, "jules/fix-parser")
    await page.goto("/admin/agents")
    await page.get_by_role("button", name="Read back now").click()
    await page.goto(f"/admin/agents/{session_id}")
    await expect(page.get_by_test_id("status")).to_have_text("COMPLETED")
    await expect(page.get_by_test_id("pr")).to_have_text(pr)
    await expect(page.get_by_role("button", name="Send message")).to_have_count(0)  # finished
    await shot(page, "agent")
    await page.goto("/admin/agents?status=COMPLETED")
    await expect(page.locator("tr", has_text="Fix the parser")).to_be_visible()
    await shot(page, "agents")

    async with app.state.sessionmaker() as session:
        row = await session.get(ExternalAgentSession, session_id)
        assert row is not None and row.status == ExternalAgentStatus.COMPLETED and row.pull_request_url == pr
        trail = await session.scalars(
            select(AdminAuditEvent.action).where(AdminAuditEvent.target_id == session_id)
        )
        assert sorted(trail) == ["AGENT_PLAN_APPROVE", "AGENT_SESSION_CREATE", "AGENT_SESSION_MESSAGE"]
