"""Agent tasks: a box's work queue (``agent_tasks``), done in the box's own browser.

The owner (or the chat planner) adds tasks to a RUNNING box; the runner does them one at a time,
oldest first (``queue``), or an agent process claims them for its box and reports the results
(``agent_api``). A result is JSON (``integrations.boxes.browser`` says what each kind returns); a
screenshot's PNG goes to storage under the task's id, and its result says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.boxes import chat
from spikeland.boxes.models import AgentTask, Box, BoxStatus
from spikeland.boxes.queue import AgentTaskQueue, notify_tasks
from spikeland.core.clock import utcnow
from spikeland.core.errors import Conflict, NotFound, ValidationFailed
from spikeland.db.engine import transaction
from spikeland.db.enums import JobStatus
from spikeland.integrations.boxes.browser import TaskFailed, check_payload, run_task
from spikeland.integrations.storage import Storage
from spikeland.worker.runner import Claimed, LeaseLost, PermanentFailure

CHAT_KEY = chat.MESSAGE_KEY  # set by the planner only: a client's payload may not claim a message


class TaskNotFound(NotFound):
    code = "agent_task_not_found"


class BoxNotRunning(Conflict):
    code = "box_not_running"


def screenshot_key(box: Box, task_id: str) -> str:
    return f"users/{box.user_id}/boxes/{box.id}/tasks/{task_id}.png"


async def screenshot_keys(session: AsyncSession, box: Box) -> list[str]:
    """Where the box's screenshots are stored."""
    statement = select(AgentTask.id).where(
        AgentTask.box_id == box.id, AgentTask.type == "screenshot", AgentTask.status == JobStatus.COMPLETED
    )
    return [screenshot_key(box, task_id) for task_id in await session.scalars(statement)]


async def add_task(session: AsyncSession, box: Box, kind: str, payload: dict[str, Any]) -> AgentTask:
    """A task for a RUNNING box (409 ``box_not_running`` otherwise; 422 for a bad payload)."""
    problem = check_payload(kind, payload)
    if problem is not None:
        raise ValidationFailed(problem, code="invalid_task")
    if box.status is not BoxStatus.RUNNING:
        raise BoxNotRunning(f"The box is {box.status.value}; start it first.", details={"status": box.status})
    task = AgentTask(box_id=box.id, type=kind, payload=payload)
    session.add(task)
    await session.flush()
    await notify_tasks(session)
    return task


async def get_task(session: AsyncSession, box: Box, task_id: str) -> AgentTask:
    task = await session.get(AgentTask, task_id)
    if task is None or task.box_id != box.id:
        raise TaskNotFound("No such task.")
    return task


async def list_tasks(session: AsyncSession, box: Box) -> Sequence[AgentTask]:
    statement = (
        select(AgentTask)
        .where(AgentTask.box_id == box.id)
        .order_by(AgentTask.created_at.desc(), AgentTask.id.desc())
        .limit(200)
    )
    return (await session.scalars(statement)).all()


async def execute_task(
    queue: AgentTaskQueue, claimed: Claimed, storage: Storage, timeout: float, *, private_networks: bool
) -> None:
    """The runner's work on one task: in the box's browser, then stored, in one fenced transaction."""
    async with queue.sessionmaker() as session:
        task = await session.get(AgentTask, claimed.id)
        box = await session.get(Box, task.box_id) if task else None
    if task is None or box is None:
        raise LeaseLost(claimed.id)
    if box.status is not BoxStatus.RUNNING or box.connection_url is None or box.deleted_at is not None:
        raise PermanentFailure(f"The box is {box.status.value}, not running.")
    try:
        outcome = await run_task(
            box.connection_url, task.type, task.payload or {}, timeout, private_networks=private_networks
        )
    except TaskFailed as exc:
        raise PermanentFailure(str(exc)) from exc
    result = dict(outcome.result)
    if outcome.png is not None:
        await storage.put(screenshot_key(box, task.id), outcome.png, "image/png")
        result["screenshot"] = {"contentType": "image/png", "size": len(outcome.png)}
    async with transaction(queue.sessionmaker) as session:
        if not await _end(session, claimed.id, JobStatus.COMPLETED, result, None, fence=claimed.attempt):
            raise LeaseLost(claimed.id)


async def _end(
    session: AsyncSession,
    task_id: str,
    status: JobStatus,
    result: dict[str, Any] | None,
    error: str | None,
    *,
    fence: int | None,
) -> bool:
    """Finish a PROCESSING task (on attempt ``fence``, when given) and let the chat answer."""
    now = utcnow()
    condition = AgentTask.status == JobStatus.PROCESSING
    if fence is not None:
        condition = condition & (AgentTask.retry_count == fence)
    task = await session.scalar(
        update(AgentTask)
        .where(AgentTask.id == task_id, condition)
        .values(status=status, result=result, error=error, processing_completed_at=now, updated_at=now)
        .returning(AgentTask)
    )
    if task is None:
        return False
    await chat.after_task(session, task)
    return True


async def claim_for_agent(session: AsyncSession, box: Box) -> AgentTask | None:
    """The box's next task for an agent process, now PROCESSING; None while an older one is still
    being done or waits for its retry (a box's tasks go in order, whoever does them).

    The oldest unfinished task is locked without skipping: if the runner is claiming it this
    instant, this waits for that and then sees it PROCESSING."""
    oldest = await session.scalar(
        select(AgentTask)
        .where(AgentTask.box_id == box.id, AgentTask.status.in_((JobStatus.PENDING, JobStatus.PROCESSING)))
        .order_by(AgentTask.created_at, AgentTask.id)
        .limit(1)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    now = utcnow()
    if oldest is None or oldest.status is JobStatus.PROCESSING:
        return None
    if oldest.run_after is not None and oldest.run_after > now:
        return None
    oldest.status, oldest.run_after, oldest.processing_started_at = JobStatus.PROCESSING, None, now
    await session.flush()
    return oldest


async def report(
    session: AsyncSession,
    box: Box,
    task_id: str,
    status: JobStatus,
    result: dict[str, Any] | None,
    error: str | None,
) -> AgentTask:
    """An agent process's result for a task it claimed (409 ``task_not_processing`` otherwise)."""
    task = await get_task(session, box, task_id)
    if not await _end(session, task.id, status, result, error, fence=None):
        raise Conflict("The task is not being processed.", code="task_not_processing")
    await session.refresh(task)
    return task


async def touch_processing(session: AsyncSession, box: Box) -> int:
    """An agent's heartbeat keeps its claimed tasks' leases; the box's pending task count."""
    await session.execute(
        update(AgentTask)
        .where(AgentTask.box_id == box.id, AgentTask.status == JobStatus.PROCESSING)
        .values(updated_at=utcnow())
    )
    statement = select(func.count()).where(AgentTask.box_id == box.id, AgentTask.status == JobStatus.PENDING)
    return int(await session.scalar(statement) or 0)
