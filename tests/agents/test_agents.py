"""External coding agents over HTTP against a Jules peer on loopback: sessions created, approved
and messaged by admins; the periodic sync storing status, activities (each once, also with two
workers at once), the plan summary, output branch and pull request; a provider failure answering
502 with nothing written; 503 without the key, 501 for CODEX; only admins."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, func, select

from spikeland.agents.models import AgentSessionActivity, ExternalAgentSession
from spikeland.agents.sync import SyncResult, sync_all
from spikeland.app import create_app
from spikeland.core.clock import utcnow
from spikeland.identity.models import UserRole
from spikeland.integrations.agents import make_coding_agents
from spikeland.ops.models import AdminAuditEvent
from spikeland.settings import Settings
from tests.integrations.jules_peer import PLAN, JulesPeer, run_jules_peer
from tests.support.auth import sign_in
from tests.support.clients import client_of
from tests.support.fixtures import UserClient

API = "/api/v1/admin/agents"
INTERVAL = 60.0


@pytest.fixture(scope="module")
def jules() -> Iterator[JulesPeer]:
    with run_jules_peer() as peer:
        yield peer


@pytest.fixture
async def jules_app(settings: Settings, jules: JulesPeer, database_url: str) -> AsyncIterator[FastAPI]:
    app = create_app(settings.model_copy(update=jules.settings()), database_url=database_url)
    async with app.router.lifespan_context(app):
        yield app
    jules.state.broken = jules.state.garbage = False
    jules.state.delay = 0.0


@pytest.fixture
async def admin(jules_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(jules_app) as client:
        await sign_in(client, bare=True, role=UserRole.ADMIN)
        yield client


@pytest.fixture(scope="module", autouse=True)
async def clean(engine: Any, jules: JulesPeer) -> AsyncIterator[None]:
    """The sessions this module made (named by its peer) go after it."""
    yield
    async with engine.begin() as conn:
        await conn.execute(
            delete(ExternalAgentSession).where(
                ExternalAgentSession.external_id.in_(list(jules.state.sessions))
            )
        )


async def _sync(app: FastAPI, *, later: float = 0.0) -> SyncResult:
    """One run of the periodic job, ``later`` seconds from now."""
    agents = make_coding_agents(app.state.settings)
    now = utcnow() + timedelta(seconds=later)
    return await sync_all(app.state.sessionmaker, agents, interval=INTERVAL, now=now)


async def _create(admin: httpx.AsyncClient, title: str = "Fix the parser", **extra: Any) -> dict[str, Any]:
    made = await admin.post(API, json={"title": title, "task": "The parser drops the last line.", **extra})
    assert made.status_code == 201, made.text
    return dict(made.json())


async def _activities(app: FastAPI, session_id: str) -> list[AgentSessionActivity]:
    async with app.state.sessionmaker() as session:
        statement = select(AgentSessionActivity).where(AgentSessionActivity.session_id == session_id)
        return list((await session.scalars(statement.order_by(AgentSessionActivity.created_at))).all())


async def test_create_approve_message_and_sync(
    admin: httpx.AsyncClient, jules_app: FastAPI, jules: JulesPeer
) -> None:
    made = await _create(admin, sourceRepo="spike-land/platform", startingBranch="develop")
    name = made["externalId"]
    assert made["status"] == "PLANNING" and made["provider"] == "JULES"
    assert made["sourceRepo"] == "spike-land/platform" and made["startingBranch"] == "develop"
    assert made["metadata"]["julesUrl"].endswith(name.removeprefix("sessions/"))
    remote = jules.state.sessions[name]
    assert (remote.source, remote.branch) == ("sources/github/spike-land/platform", "develop")

    early = await admin.post(f"{API}/{made['id']}/approve-plan")
    assert early.status_code == 409 and early.json()["error"]["code"] == "agent_plan_not_awaiting_approval"

    await _sync(jules_app)
    planned = (await admin.get(f"{API}/{made['id']}")).json()["session"]
    assert planned["status"] == "AWAITING_PLAN_APPROVAL"
    assert planned["planSummary"] == "\n".join(f"{n}. {step}" for n, step in enumerate(PLAN, 1))

    approved = await admin.post(f"{API}/{made['id']}/approve-plan")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "IN_PROGRESS" and approved.json()["planApprovedAt"]
    assert remote.state == "IN_PROGRESS"
    assert (await admin.post(f"{API}/{made['id']}/approve-plan")).status_code == 409

    said = await admin.post(f"{API}/{made['id']}/message", json={"message": "Keep the public API as it is."})
    assert said.status_code == 201, said.text
    assert said.json()["type"] == "user_message" and said.json()["content"] == "Keep the public API as it is."
    assert remote.activities[-2]["userMessaged"] == {"userMessage": "Keep the public API as it is."}

    pr = "https://github.com/spike-land/platform/pull/7"
    jules.state.complete(name, pr, "jules/fix-parser")
    await _sync(jules_app, later=INTERVAL)
    detail = (await admin.get(f"{API}/{made['id']}")).json()
    done = detail["session"]
    assert done["status"] == "COMPLETED" and done["pullRequestUrl"] == pr
    assert done["outputBranch"] == "jules/fix-parser" and done["errorMessage"] is None
    synced = [a for a in detail["activities"] if a["externalId"]]
    assert len(synced) == len(remote.activities) == 6
    assert {a["type"] for a in synced} >= {"plan_generated", "agent_messaged", "session_completed"}
    local = [a["type"] for a in detail["activities"] if not a["externalId"]]
    assert sorted(local) == ["plan_approved", "session_created", "user_message"]
    assert done["lastActivityAt"] >= said.json()["createdAt"]

    # A finished session is no longer read, and takes no messages.
    jules.state.calls.clear()
    await _sync(jules_app, later=3 * INTERVAL)
    assert not [c for c in jules.state.calls if name in c]
    finished = await admin.post(f"{API}/{made['id']}/message", json={"message": "one more thing"})
    assert finished.status_code == 409 and finished.json()["error"]["code"] == "agent_session_finished"

    async with jules_app.state.sessionmaker() as session:
        trail = select(AdminAuditEvent.action).where(AdminAuditEvent.target_id == made["id"])
        assert sorted(set((await session.scalars(trail)).all())) == [
            "AGENT_PLAN_APPROVE",
            "AGENT_SESSION_MESSAGE",
        ]

    listed = (await admin.get(API, params={"status": "COMPLETED", "provider": "JULES"})).json()
    assert made["id"] in [s["id"] for s in listed["items"]]
    assert all(s["status"] == "COMPLETED" for s in listed["items"])
    assert listed["statusCounts"]["COMPLETED"] >= 1 and "QUEUED" in listed["statusCounts"]


async def test_a_failed_session_keeps_its_reason(
    admin: httpx.AsyncClient, jules_app: FastAPI, jules: JulesPeer
) -> None:
    made = await _create(admin)
    jules.state.fail(made["externalId"], "The repository could not be cloned.")
    await _sync(jules_app)
    failed = (await admin.get(f"{API}/{made['id']}")).json()["session"]
    assert failed["status"] == "FAILED" and failed["errorMessage"] == "The repository could not be cloned."


async def test_sync_stores_each_activity_once_with_two_workers(
    admin: httpx.AsyncClient, jules_app: FastAPI, jules: JulesPeer
) -> None:
    made = [await _create(admin, title=f"Task {n}") for n in range(3)]
    names = [m["externalId"] for m in made]
    for name in names:  # more than one page of activities each (the peer pages by two)
        jules.state.add(jules.state.sessions[name], "progressUpdated", {"title": "Reading the code"})
        jules.state.add(jules.state.sessions[name], "agentMessaged", {"agentMessage": "On it."})
    jules.state.calls.clear()

    first, second = await asyncio.gather(_sync(jules_app), _sync(jules_app))
    assert first.synced + second.synced >= 3
    for name in names:  # each session read by exactly one of the two workers
        assert jules.state.calls.count(f"GET {name}") == 1, jules.state.calls

    for again in (0.0, INTERVAL, 2 * INTERVAL):  # not due yet; then due, twice: nothing new to store
        await asyncio.gather(_sync(jules_app, later=again), _sync(jules_app, later=again))
    for name in names:
        assert jules.state.calls.count(f"GET {name}") == 3
    for row in made:
        stored = [a for a in await _activities(jules_app, row["id"]) if a.external_id]
        assert len(stored) == 3 and len({a.external_id for a in stored}) == 3
        assert [a.type for a in stored] == ["plan_generated", "progress_updated", "agent_messaged"]


async def test_a_provider_failure_is_502_and_writes_nothing(
    admin: httpx.AsyncClient, jules_app: FastAPI, jules: JulesPeer
) -> None:
    made = await _create(admin)
    await _sync(jules_app)
    before = (await admin.get(f"{API}/{made['id']}")).json()
    async with jules_app.state.sessionmaker() as session:
        count = await session.scalar(select(func.count()).select_from(ExternalAgentSession))

    jules.state.broken = True
    refused = await admin.post(API, json={"title": "Never made", "task": "x"})
    assert refused.status_code == 502 and refused.json()["error"]["code"] == "agent_provider_error"
    approve = await admin.post(f"{API}/{made['id']}/approve-plan")
    message = await admin.post(f"{API}/{made['id']}/message", json={"message": "hello"})
    assert (approve.status_code, message.status_code) == (502, 502)
    result = await _sync(jules_app, later=INTERVAL)
    assert result.failed >= 1

    async with jules_app.state.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(ExternalAgentSession)) == count
    assert (await admin.get(f"{API}/{made['id']}")).json() == before  # no status, activity or sync time

    jules.state.broken = False
    assert (await admin.post(f"{API}/{made['id']}/approve-plan")).status_code == 200


async def test_an_unreadable_or_late_answer_is_502(
    settings: Settings, jules: JulesPeer, database_url: str
) -> None:
    hurried = {**jules.settings(), "jules_timeout_seconds": 0.3}
    app = create_app(settings.model_copy(update=hurried), database_url=database_url)
    async with app.router.lifespan_context(app), client_of(app) as admin:
        await sign_in(admin, bare=True, role=UserRole.ADMIN)
        title = f"Unreadable {jules.state.prefix}"
        for fault in ("garbage", "delay"):
            setattr(jules.state, fault, True if fault == "garbage" else 1.0)
            refused = await admin.post(API, json={"title": title, "task": "x"})
            assert refused.status_code == 502, refused.text
            assert refused.json()["error"]["code"] == "agent_provider_error"
            jules.state.garbage, jules.state.delay = False, 0.0
        async with app.state.sessionmaker() as session:
            found = select(func.count()).where(ExternalAgentSession.name == title)
            assert await session.scalar(found) == 0


async def test_without_a_key_503_names_the_setting(user_client: UserClient) -> None:
    admin, _ = await user_client(role=UserRole.ADMIN)
    refused = await admin.post(API, json={"title": "t", "task": "x"})
    assert refused.status_code == 503
    error = refused.json()["error"]
    assert error["code"] == "agent_provider_not_configured" and "SPIKELAND_JULES_API_KEY" in error["message"]
    assert error["details"] == {"missing": ["SPIKELAND_JULES_API_KEY"]}
    assert (await admin.post(f"{API}/sync")).status_code == 503


async def test_codex_is_501(admin: httpx.AsyncClient) -> None:
    for provider in ("CODEX", "OTHER"):
        refused = await admin.post(API, json={"title": "t", "task": "x", "provider": provider})
        assert (
            refused.status_code == 501 and refused.json()["error"]["code"] == "agent_provider_not_supported"
        )


async def test_bad_input_and_unknown_sessions(admin: httpx.AsyncClient) -> None:
    for body in (
        {"title": "", "task": "x"},
        {"title": "t", "task": "x" * 4001},
        {"title": "t", "task": "x", "sourceRepo": "../../etc"},
        {"title": "t", "task": "x", "startingBranch": "main; rm"},
    ):
        assert (await admin.post(API, json=body)).status_code == 422, body
    assert (await admin.get(f"{API}/cnosuchsession")).json()["error"]["code"] == "agent_session_not_found"
    assert (await admin.post(f"{API}/cnosuchsession/approve-plan")).status_code == 404
    assert (await admin.get(API, params={"cursor": "garbage"})).status_code == 422


async def test_only_admins(client: httpx.AsyncClient, user_client: UserClient) -> None:
    assert (await client.get(API)).status_code == 401
    assert (await client.post(API, json={"title": "t", "task": "x"})).status_code == 401
    user, _ = await user_client()
    assert (await user.get(API)).status_code == 403
    assert (await user.post(API, json={"title": "t", "task": "x"})).status_code == 403
    assert (await user.post(f"{API}/sync")).status_code == 403
