"""External coding agent sessions for admins, under ``/admin/agents`` (``agents.service`` has the
rules, ``agents.sync`` the periodic read-back).

- ``POST ""`` {title, task, sourceRepo?, startingBranch="main", provider=JULES}: a session at the
  provider and its row (201).
- ``GET ""``: sessions newest first, by status and provider, in keyset pages, with every
  session's count by status; ``GET /{session_id}``: one with its latest 50 activities.
- ``POST /{session_id}/approve-plan``, ``POST /{session_id}/message`` {message}.
- ``POST /sync``: read every open session back from its provider now (the worker does it every
  ``agent_sync_seconds``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from spikeland.agents import service
from spikeland.agents.deps import CodingAgents
from spikeland.agents.models import AgentProvider, ExternalAgentStatus
from spikeland.agents.schemas import (
    ActivityOut,
    MessageIn,
    SessionCreate,
    SessionDetail,
    SessionOut,
    SessionPage,
    SyncOut,
)
from spikeland.agents.sync import read_back_now
from spikeland.core.deps import Sessions, SettingsDep
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageCursor, PageLimit
from spikeland.core.routing import Route
from spikeland.db.session import DbSession
from spikeland.identity.deps import AdminUser, audited

router = APIRouter(route_class=Route, prefix="/admin/agents", tags=["admin"])


_PROVIDER_ERRORS = {
    "agent_provider_not_supported": 501,
    "agent_provider_error": 502,
    "agent_provider_not_configured": 503,
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionOut,
    openapi_extra=errors(**_PROVIDER_ERRORS),
    dependencies=[audited("AGENT_SESSION_CREATE")],
)
async def create_session(
    body: SessionCreate, actor: AdminUser, session: DbSession, agents: CodingAgents, settings: SettingsDep
) -> SessionOut:
    """Start a coding session at the provider; its plan waits for an admin's approval."""
    agent = service.provider_of(agents, settings, body.provider)
    row = await service.create(
        session,
        agent,
        settings,
        title=body.title,
        task=body.task,
        source_repo=body.source_repo,
        starting_branch=body.starting_branch,
    )
    return SessionOut.model_validate(row)


@router.get("", response_model=SessionPage)
async def list_sessions(
    actor: AdminUser,
    session: DbSession,
    status_filter: Annotated[ExternalAgentStatus | None, Query(alias="status")] = None,
    provider: AgentProvider | None = None,
    limit: PageLimit = 20,
    cursor: PageCursor = None,
) -> SessionPage:
    page = await service.list_sessions(
        session, status=status_filter, provider=provider, cursor=cursor, limit=limit
    )
    return SessionPage(
        items=[SessionOut.model_validate(row) for row in page.items],
        next_cursor=page.next_cursor,
        status_counts=await service.status_counts(session),
    )


@router.post(
    "/sync",
    response_model=SyncOut,
    openapi_extra=errors(agent_provider_not_configured=503),
    dependencies=[audited("AGENT_SYNC")],
)
async def sync_now(
    actor: AdminUser, sessions: Sessions, agents: CodingAgents, settings: SettingsDep
) -> SyncOut:
    """Read every open session of the configured providers back now."""
    found = await read_back_now(sessions, agents, settings)
    return SyncOut(synced=found.synced, failed=found.failed, activities=found.activities)


@router.get("/{session_id}", response_model=SessionDetail, openapi_extra=errors(agent_session_not_found=404))
async def get_session(session_id: str, actor: AdminUser, session: DbSession) -> SessionDetail:
    row = await service.get(session, session_id)
    activities = await service.latest_activities(session, row.id)
    return SessionDetail(
        session=SessionOut.model_validate(row), activities=[ActivityOut.model_validate(a) for a in activities]
    )


@router.post(
    "/{session_id}/approve-plan",
    response_model=SessionOut,
    openapi_extra=errors(
        agent_session_not_found=404, agent_plan_not_awaiting_approval=409, **_PROVIDER_ERRORS
    ),
    dependencies=[audited("AGENT_PLAN_APPROVE")],
)
async def approve_plan(
    session_id: str, actor: AdminUser, session: DbSession, agents: CodingAgents, settings: SettingsDep
) -> SessionOut:
    """Approve the plan the agent proposed (only while it awaits approval)."""
    row = await service.approve_plan(session, agents, settings, session_id, actor.id)
    return SessionOut.model_validate(row)


@router.post(
    "/{session_id}/message",
    status_code=status.HTTP_201_CREATED,
    response_model=ActivityOut,
    openapi_extra=errors(agent_session_not_found=404, agent_session_finished=409, **_PROVIDER_ERRORS),
    dependencies=[audited("AGENT_SESSION_MESSAGE")],
)
async def send_message(
    session_id: str,
    body: MessageIn,
    actor: AdminUser,
    session: DbSession,
    agents: CodingAgents,
    settings: SettingsDep,
) -> ActivityOut:
    """Send the agent a message (feedback, a change of course); it joins the activity stream."""
    activity = await service.send_message(session, agents, settings, session_id, actor.id, body.message)
    return ActivityOut.model_validate(activity)
