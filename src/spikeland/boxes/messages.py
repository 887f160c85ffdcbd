"""A box's conversation: the owner's messages, the agent's replies and the SYSTEM lifecycle notes."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.boxes import chat
from spikeland.boxes.agent_tasks import add_task
from spikeland.boxes.models import AgentTask, Box, BoxMessage, BoxMessageRole
from spikeland.integrations.boxes.planner import ChatPlanner, Planned, PlannerError

_log = logging.getLogger(__name__)


async def list_messages(session: AsyncSession, box: Box) -> Sequence[BoxMessage]:
    """Oldest first (the latest 500)."""
    statement = (
        select(BoxMessage)
        .where(BoxMessage.box_id == box.id)
        .order_by(BoxMessage.created_at.desc(), BoxMessage.id.desc())
        .limit(500)
    )
    return list(reversed((await session.scalars(statement)).all()))


async def post_message(
    session: AsyncSession, box: Box, content: str, planner: ChatPlanner | None
) -> tuple[BoxMessage, list[AgentTask], BoxMessage | None]:
    """The USER message and the tasks planned from it (the AGENT reply follows their results), or,
    when no task is needed (or the planner understood none), the reply at once. A box that is not
    running cannot take tasks (409 ``box_not_running``, nothing written).

    ``planner`` (Gemini) sees the conversation; when it fails the local planner (``chat``) answers.
    It is asked before anything is written."""
    planned = await _plan(session, box, content, planner)
    message = BoxMessage(box_id=box.id, role=BoxMessageRole.USER, content=content)
    session.add(message)
    await session.flush()
    tasks = [
        await add_task(session, box, kind, {**payload, chat.MESSAGE_KEY: message.id})
        for kind, payload in planned.steps
    ]
    reply = None
    if planned.reply is not None:
        reply = BoxMessage(box_id=box.id, role=BoxMessageRole.AGENT, content=planned.reply)
        session.add(reply)
        await session.flush()
    return message, tasks, reply


async def _plan(session: AsyncSession, box: Box, content: str, planner: ChatPlanner | None) -> Planned:
    if planner is not None:
        history = [(m.role.value, m.content) for m in await list_messages(session, box)]
        try:
            return await planner.plan(history, content)
        except PlannerError as exc:
            _log.warning("box chat planner failed, planning locally: %s", exc)
    steps = chat.plan(content)
    return Planned(steps, None) if steps is not None else Planned([], chat.HELP)
