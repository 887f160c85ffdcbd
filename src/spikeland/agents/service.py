"""External coding agent sessions, driven by admins (``agents.api``) and read back by the periodic
sync (``agents.sync``). Services take the session first and never commit.

Rules:

- A provider without a client (CODEX, OTHER) is 501 ``agent_provider_not_supported``; one whose
  settings are missing is 503 ``agent_provider_not_configured`` naming them (Jules:
  ``SPIKELAND_JULES_API_KEY``).
- The provider is called before anything is written, and any failure of it is 502
  ``agent_provider_error``: the request's transaction then holds nothing, so no row or activity is
  half-written.
- Create: a Jules session whose plan waits for approval, on ``sourceRepo`` (default the configured
  ``agents_github_owner/agents_github_repo``); the row takes the provider's state when it is one of
  ours, else QUEUED.
- Approve plan: only while AWAITING_PLAN_APPROVAL (else 409), under the row's lock so two admins
  cannot both approve; sets IN_PROGRESS, ``planApprovedAt`` and a ``plan_approved`` activity.
- Message: not to a finished (COMPLETED/FAILED) session (409); a ``user_message`` activity and
  ``lastActivityAt``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.agents.models import AgentProvider, AgentSessionActivity, ExternalAgentSession
from spikeland.agents.models import ExternalAgentStatus as Status
from spikeland.core.clock import utcnow
from spikeland.core.errors import Conflict, NotFound, ServiceUnavailable, SpikelandError
from spikeland.core.pagination import Page, newest_first
from spikeland.integrations.agents import SUPPORTED, AgentProviderError, CodingAgent, missing_settings
from spikeland.settings import Settings

FINAL = frozenset({Status.COMPLETED, Status.FAILED})
LATEST_ACTIVITIES = 50


class AgentSessionNotFound(NotFound):
    code = "agent_session_not_found"


class PlanNotAwaitingApproval(Conflict):
    code = "agent_plan_not_awaiting_approval"


class AgentSessionFinished(Conflict):
    code = "agent_session_finished"


class AgentProviderNotSupported(SpikelandError):
    status_code = 501
    code = "agent_provider_not_supported"


class AgentProviderFailed(SpikelandError):
    status_code = 502
    code = "agent_provider_error"


def provider_of(agents: dict[str, CodingAgent], settings: Settings, provider: AgentProvider) -> CodingAgent:
    if provider.value not in SUPPORTED:
        raise AgentProviderNotSupported(f"{provider.value} is not supported yet: only JULES has a client.")
    found = agents.get(provider.value)
    if found is None:
        missing = missing_settings(settings, provider.value)
        raise ServiceUnavailable(
            f"{provider.value} is not configured: set {', '.join(missing)}.",
            code="agent_provider_not_configured",
            details={"missing": missing},
        )
    return found


@asynccontextmanager
async def talking_to(agent: CodingAgent) -> AsyncIterator[None]:
    try:
        yield
    except AgentProviderError as exc:
        raise AgentProviderFailed(f"{agent.provider} failed: {exc}") from None


def status_of(state: str | None, default: Status) -> Status:
    """Our status for the provider's state; one we do not know leaves ``default``."""
    return Status(state) if state is not None and state in Status.__members__ else default


async def create(
    session: AsyncSession,
    agent: CodingAgent,
    settings: Settings,
    *,
    title: str,
    task: str,
    source_repo: str | None,
    starting_branch: str,
) -> ExternalAgentSession:
    repo = source_repo or f"{settings.agents_github_owner}/{settings.agents_github_repo}"
    async with talking_to(agent):
        made = await agent.create_session(
            title=title, task=task, source_repo=repo, starting_branch=starting_branch
        )
    taken = await session.scalar(
        select(ExternalAgentSession.id).where(ExternalAgentSession.external_id == made.external_id)
    )
    if taken is not None:  # the provider named a session we already track: its answer is wrong
        raise AgentProviderFailed(f"{agent.provider} answered a session that already exists.")
    now = utcnow()
    row = ExternalAgentSession(
        external_id=made.external_id,
        provider=AgentProvider(agent.provider),
        name=title,
        description=task,
        status=status_of(made.state, Status.QUEUED),
        source_repo=repo,
        starting_branch=starting_branch,
        output_branch=made.output_branch,
        pull_request_url=made.pull_request_url,
        last_activity_at=now,
        metadata_={"julesUrl": made.url} if made.url else None,
    )
    session.add(row)
    await session.flush()
    session.add(AgentSessionActivity(session_id=row.id, type="session_created", content=task))
    await session.flush()
    return row


async def get(session: AsyncSession, session_id: str, *, lock: bool = False) -> ExternalAgentSession:
    statement = select(ExternalAgentSession).where(ExternalAgentSession.id == session_id)
    row = await session.scalar(statement.with_for_update() if lock else statement)
    if row is None:
        raise AgentSessionNotFound("No such agent session.")
    return row


async def latest_activities(session: AsyncSession, session_id: str) -> list[AgentSessionActivity]:
    statement = (
        select(AgentSessionActivity)
        .where(AgentSessionActivity.session_id == session_id)
        .order_by(AgentSessionActivity.created_at.desc(), AgentSessionActivity.id.desc())
        .limit(LATEST_ACTIVITIES)
    )
    return list((await session.scalars(statement)).all())


async def approve_plan(
    session: AsyncSession, agents: dict[str, CodingAgent], settings: Settings, session_id: str, admin_id: str
) -> ExternalAgentSession:
    row = await get(session, session_id, lock=True)
    if row.status != Status.AWAITING_PLAN_APPROVAL:
        raise PlanNotAwaitingApproval(f"The session is {row.status.value}, not awaiting plan approval.")
    agent = provider_of(agents, settings, row.provider)
    async with talking_to(agent):
        await agent.approve_plan(row.external_id)
    now = utcnow()
    row.status = Status.IN_PROGRESS
    row.plan_approved_at = row.last_activity_at = now
    session.add(
        AgentSessionActivity(
            session_id=row.id,
            type="plan_approved",
            content="Plan approved by admin",
            metadata_={"adminId": admin_id},
        )
    )
    await session.flush()
    return row


async def send_message(
    session: AsyncSession,
    agents: dict[str, CodingAgent],
    settings: Settings,
    session_id: str,
    admin_id: str,
    message: str,
) -> AgentSessionActivity:
    row = await get(session, session_id, lock=True)
    if row.status in FINAL:
        raise AgentSessionFinished(f"The session is {row.status.value}: it takes no more messages.")
    agent = provider_of(agents, settings, row.provider)
    async with talking_to(agent):
        await agent.send_message(row.external_id, message)
    row.last_activity_at = utcnow()
    activity = AgentSessionActivity(
        session_id=row.id, type="user_message", content=message, metadata_={"adminId": admin_id}
    )
    session.add(activity)
    await session.flush()
    return activity


async def list_sessions(
    session: AsyncSession,
    *,
    status: Status | None,
    provider: AgentProvider | None,
    cursor: str | None,
    limit: int,
) -> Page[ExternalAgentSession]:
    statement = select(ExternalAgentSession)
    if status is not None:
        statement = statement.where(ExternalAgentSession.status == status)
    if provider is not None:
        statement = statement.where(ExternalAgentSession.provider == provider)
    return await newest_first(
        session,
        statement,
        ExternalAgentSession.created_at,
        ExternalAgentSession.id,
        limit=limit,
        cursor=cursor,
    )


async def status_counts(session: AsyncSession) -> dict[Status, int]:
    """Every session by status (every status present, zero when none)."""
    rows = await session.execute(
        select(ExternalAgentSession.status, func.count()).group_by(ExternalAgentSession.status)
    )
    found = {status: 0 for status in Status}
    found.update({status: int(count) for status, count in rows.all()})
    return found
