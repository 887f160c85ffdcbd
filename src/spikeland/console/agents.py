"""External coding agents: sessions (by status and provider, keyset pages, counts), one session's
plan, links and activity stream (live while it works), and the actions — start a session, approve
its plan, send a message, read every open session back now (``agents.service``/``sync``; audited
with the admin API's action names)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from spikeland.agents import service
from spikeland.agents.deps import CodingAgents
from spikeland.agents.models import AgentProvider, ExternalAgentStatus
from spikeland.agents.schemas import MessageIn, SessionCreate
from spikeland.agents.sync import read_back_now
from spikeland.console.forms import schema_of
from spikeland.console.web import (
    ConsoleAction,
    ConsoleAdmin,
    ConsoleRoute,
    audited,
    choice,
    done,
    page_url,
    render,
)
from spikeland.core.deps import Sessions, SettingsDep
from spikeland.db.session import DbSession

router = APIRouter(prefix="/admin/agents", route_class=ConsoleRoute, include_in_schema=False)
LIVE = {s for s in ExternalAgentStatus if s not in service.FINAL}


@router.get("", response_class=HTMLResponse)
async def sessions(
    request: Request,
    admin: ConsoleAdmin,
    session: DbSession,
    status: str | None = None,
    provider: str | None = None,
    cursor: str | None = None,
) -> HTMLResponse:
    page = await service.list_sessions(
        session,
        status=choice(ExternalAgentStatus, status),
        provider=choice(AgentProvider, provider),
        cursor=cursor,
        limit=50,
    )
    return render(
        request,
        "agents.html",
        rows=page.items,
        counts=await service.status_counts(session),
        values={"status": status, "provider": provider},
        statuses=[(s.value, s.value) for s in ExternalAgentStatus],
        providers=[(p.value, p.value) for p in AgentProvider],
        next_url=page_url(request, page.next_cursor),
    )


@router.post("")
async def create(
    request: Request,
    admin: ConsoleAction,
    session: DbSession,
    agents: CodingAgents,
    settings: SettingsDep,
    title: Annotated[str, Form(max_length=200)],
    task: Annotated[str, Form(max_length=4000)],
    source_repo: Annotated[str, Form(max_length=200)] = "",
    starting_branch: Annotated[str, Form(max_length=200)] = "main",
    provider: Annotated[str, Form(max_length=20)] = AgentProvider.JULES.value,
) -> RedirectResponse:
    body = schema_of(
        SessionCreate,
        title=title,
        task=task,
        source_repo=source_repo.strip() or None,
        starting_branch=starting_branch.strip() or "main",
        provider=provider,
    )
    row = await service.create(
        session,
        service.provider_of(agents, settings, body.provider),
        settings,
        title=body.title,
        task=body.task,
        source_repo=body.source_repo,
        starting_branch=body.starting_branch,
    )
    await audited(session, request, admin, "AGENT_SESSION_CREATE", row.id, provider=row.provider.value)
    return done(f"/admin/agents/{row.id}", f"Session started: {row.name}.")


@router.post("/sync")
async def sync_now(
    request: Request,
    admin: ConsoleAction,
    session: DbSession,
    sessions: Sessions,
    agents: CodingAgents,
    settings: SettingsDep,
) -> RedirectResponse:
    found = await read_back_now(sessions, agents, settings)
    await audited(session, request, admin, "AGENT_SYNC", None, synced=found.synced, failed=found.failed)
    return done(
        "/admin/agents",
        f"Read back {found.synced} sessions ({found.failed} failed, {found.activities} new activities).",
    )


@router.get("/{session_id}", response_class=HTMLResponse)
async def detail(request: Request, session_id: str, admin: ConsoleAdmin, session: DbSession) -> HTMLResponse:
    row = await service.get(session, session_id)
    return render(
        request,
        "agent.html",
        row=row,
        activities=await service.latest_activities(session, row.id),
        live=row.status in LIVE,
        awaiting=row.status == ExternalAgentStatus.AWAITING_PLAN_APPROVAL,
        finished=row.status in service.FINAL,
    )


@router.post("/{session_id}/approve-plan")
async def approve_plan(
    request: Request,
    session_id: str,
    admin: ConsoleAction,
    session: DbSession,
    agents: CodingAgents,
    settings: SettingsDep,
) -> RedirectResponse:
    row = await service.approve_plan(session, agents, settings, session_id, admin.user.id)
    await audited(session, request, admin, "AGENT_PLAN_APPROVE", row.id)
    return done(f"/admin/agents/{row.id}", "Plan approved: the agent goes on.")


@router.post("/{session_id}/message")
async def send_message(
    request: Request,
    session_id: str,
    admin: ConsoleAction,
    session: DbSession,
    agents: CodingAgents,
    settings: SettingsDep,
    message: Annotated[str, Form(max_length=4000)],
) -> RedirectResponse:
    body = schema_of(MessageIn, message=message)
    await service.send_message(session, agents, settings, session_id, admin.user.id, body.message)
    await audited(session, request, admin, "AGENT_SESSION_MESSAGE", session_id)
    return done(f"/admin/agents/{session_id}", "Message sent.")
