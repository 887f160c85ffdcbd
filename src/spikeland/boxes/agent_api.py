"""The agent process API, per box: heartbeats, task claims and results.

Authenticated for one box: ``Authorization: Bearer <box token>`` (shown once when the box was made),
or the owner's own credentials (API key or session). Nothing without credentials (401); another
user's box is 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.boxes import agent_tasks, service
from spikeland.boxes.models import Box
from spikeland.boxes.schemas import HeartbeatOut, TaskOut, TaskResultIn
from spikeland.core.errors import Unauthorized
from spikeland.core.openapi import errors, raises
from spikeland.core.routing import Route
from spikeland.core.security import digest, same_digest
from spikeland.db.session import DbSession
from spikeland.identity.deps import BEARER, optional_principal

router = APIRouter(route_class=Route, prefix="/agent/boxes/{box_id}", tags=["boxes"])


@dataclass(frozen=True)
class AgentAuth:
    """The request's credentials, checked against the box the route names (``box``)."""

    request: Request
    response: Response
    session: AsyncSession

    async def box(self, box_id: str) -> Box:
        """The box the caller may act for: by its own token, else by its owner's credentials."""
        authorization = self.request.headers.get("authorization", "")
        if authorization.lower().startswith(BEARER):
            presented = digest(authorization[len(BEARER) :].strip())
            box = await self.session.get(Box, box_id)
            if box and box.deleted_at is None and box.token_hash and same_digest(presented, box.token_hash):
                return box
        # Not this box's token: an API key or a session, or nothing (401; an unknown bearer too).
        principal = await optional_principal(self.request, self.response, self.session)
        if principal is None:
            raise Unauthorized(
                "Authenticate with the box's token or its owner's API key.", code="not_authenticated"
            )
        return await service.get_box(self.session, principal.user.id, box_id)


async def _agent_auth(request: Request, response: Response, session: DbSession) -> AgentAuth:
    # The box is named by the path, which a dependency here may not take (core.routing compiles
    # routes whose dependencies take no request parameters): the route passes it to ``box``.
    return AgentAuth(request, response, session)


raises(
    _agent_auth,
    box_not_found=404,
    not_authenticated=401,
    invalid_api_key=401,
    invalid_session=401,
    invalid_credentials=401,
)
Agent = Annotated[AgentAuth, Depends(_agent_auth)]


@router.post("/heartbeat", response_model=HeartbeatOut)
async def heartbeat(box_id: str, agent: Agent, session: DbSession) -> HeartbeatOut:
    """The agent is alive: its claimed tasks keep their lease. The box's status is the server's to
    decide (a heartbeat never starts a box)."""
    box = await agent.box(box_id)
    pending = await agent_tasks.touch_processing(session, box)
    return HeartbeatOut(
        box_id=box.id, status=box.status, connection_url=box.connection_url, pending_tasks=pending
    )


@router.post(
    "/tasks/claim",
    response_model=TaskOut,
    responses={204: {"description": "No task is ready."}},
)
async def claim_task(box_id: str, agent: Agent, session: DbSession) -> TaskOut | Response:
    """The box's next task, now PROCESSING (204 when none is ready: a box's tasks go in order)."""
    box = await agent.box(box_id)
    task = await agent_tasks.claim_for_agent(session, box)
    if task is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return TaskOut.model_validate(task)


@router.post(
    "/tasks/{task_id}/result",
    response_model=TaskOut,
    openapi_extra=errors(agent_task_not_found=404, task_not_processing=409),
)
async def task_result(
    box_id: str, task_id: str, body: TaskResultIn, agent: Agent, session: DbSession
) -> TaskOut:
    """The result of a claimed task: COMPLETED with its JSON result, or FAILED with the error."""
    box = await agent.box(box_id)
    task = await agent_tasks.report(session, box, task_id, body.status, body.result, body.error)
    return TaskOut.model_validate(task)
