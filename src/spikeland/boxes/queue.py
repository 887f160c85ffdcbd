"""``box_actions`` and ``agent_tasks`` as queues of the job runner (``worker.table_queue``).

One box's jobs run one at a time, oldest first (``serial_column``): a STOP asked after a START
waits for it, an extract after a navigate reads the page the navigate opened. Their specified
``error`` column holds the job's error. What ending one without success means for the box (ERROR,
the unused hour refunded) is ``tasks``'s, passed in as ``on_end``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from spikeland.boxes.models import AgentTask, BoxAction
from spikeland.core.clock import utcnow
from spikeland.db.enums import JobStatus
from spikeland.worker.runner import Claimed
from spikeland.worker.table_queue import EVENTS_CHANNEL, TableQueue, TableSpec

ACTIONS_CHANNEL = "spikeland_box_actions"
TASKS_CHANNEL = "spikeland_agent_tasks"

# The ended job's row and the reason, in the ending transaction.
OnEnd = Callable[[AsyncSession, Any, str], Awaitable[None]]


async def notify_actions(session: AsyncSession) -> None:
    """Wake the workers when the session's transaction commits (a new PENDING action)."""
    await session.execute(select(func.pg_notify(ACTIONS_CHANNEL, "")))


async def notify_tasks(session: AsyncSession) -> None:
    await session.execute(select(func.pg_notify(TASKS_CHANNEL, "")))


class _BoxQueue(TableQueue):
    model: Any

    def __init__(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        processor: Callable[[Any, Claimed], Awaitable[None]],
        *,
        retry_base: float,
        on_end: OnEnd,
    ) -> None:
        super().__init__(engine, sessionmaker, processor, retry_base=retry_base)
        self.on_end = on_end

    async def end(self, session: AsyncSession, job_id: str, error: str, *, fence: int) -> bool:
        model = self.model
        now = utcnow()
        ended = await session.scalar(
            update(model)
            .where(model.id == job_id, model.status == JobStatus.PROCESSING, model.retry_count == fence)
            .values(
                status=JobStatus.FAILED,
                error=error[:2000],
                processing_completed_at=now,
                run_after=None,
                updated_at=now,
            )
            .returning(model)
        )
        if ended is None:
            return False
        await self.on_end(session, ended, error)
        await session.execute(select(func.pg_notify(EVENTS_CHANNEL, f"{ended.id} {JobStatus.FAILED.value} ")))
        return True


class BoxActionQueue(_BoxQueue):
    name = "boxes.action"
    model = BoxAction
    spec = TableSpec(
        table="box_actions",
        jobs_channel=ACTIONS_CHANNEL,
        columns={"error": "", "processingCompletedAt": ""},
        error_column="error",
        serial_column="boxId",
    )


class AgentTaskQueue(_BoxQueue):
    name = "boxes.agent_task"
    model = AgentTask
    spec = TableSpec(
        table="agent_tasks",
        jobs_channel=TASKS_CHANNEL,
        columns={"error": "", "processingCompletedAt": "", "result": "::jsonb"},
        error_column="error",
        serial_column="boxId",
    )
