"""``boxes.action``: a box's lifecycle action done by its provider; ``boxes.agent_task``: an agent task
done in the box's browser (``agent_tasks``).

An action's provider work is idempotent (a retry finds it done); its outcome — the box's status and
``connectionUrl``, the action COMPLETED, a SYSTEM message — commits in one transaction fenced by the
attempt, so a worker whose lease expired changes nothing. An action that fails for good leaves the
box ERROR, and a run that never started gets its first hour back (``billing``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from spikeland.boxes import billing, chat
from spikeland.boxes.agent_tasks import execute_task, screenshot_keys
from spikeland.boxes.models import Box, BoxAction, BoxActionType, BoxStatus, BoxTier
from spikeland.boxes.queue import AgentTaskQueue, BoxActionQueue
from spikeland.boxes.service import system_message
from spikeland.core.clock import utcnow
from spikeland.db.engine import transaction
from spikeland.db.enums import JobStatus
from spikeland.integrations.boxes import (
    BoxLimits,
    BoxProvider,
    BoxProviderError,
    BrowserMissing,
    make_box_provider,
)
from spikeland.integrations.storage import Storage, remove_objects
from spikeland.settings import Settings
from spikeland.worker.runner import Claimed, LeaseLost, PermanentFailure

_STARTS = (BoxActionType.CREATE, BoxActionType.START, BoxActionType.CLONE)
_OUTCOME = {
    BoxActionType.CREATE: (BoxStatus.RUNNING, "Box is running."),
    BoxActionType.START: (BoxStatus.RUNNING, "Box started."),
    BoxActionType.RESTART: (BoxStatus.RUNNING, "Box restarted."),
    BoxActionType.CLONE: (BoxStatus.RUNNING, "Box is running (cloned profile)."),
    BoxActionType.STOP: (BoxStatus.STOPPED, "Box stopped."),
    BoxActionType.DELETE: (BoxStatus.TERMINATED, "Box deleted: browser and profile removed."),
}


def _limits(tier: BoxTier | None) -> BoxLimits:
    # A box whose tier was deleted keeps the smallest seeded tier's size.
    return BoxLimits(tier.cpu, tier.ram, tier.storage) if tier else BoxLimits(2, 4096, 20)


def action_processor(provider: BoxProvider, storage: Storage) -> Any:
    async def run(queue: BoxActionQueue, claimed: Claimed) -> None:
        async with queue.sessionmaker() as session:
            action = await session.get(BoxAction, claimed.id)
            box = await session.get(Box, action.box_id) if action else None
            tier = await session.get(BoxTier, box.tier_id) if box and box.tier_id else None
        if action is None or box is None:
            raise LeaseLost(claimed.id)  # deleted with its user meanwhile
        try:
            url = await _act(provider, action, box, _limits(tier))
        except BrowserMissing as exc:
            raise PermanentFailure(str(exc)) from exc
        except BoxProviderError as exc:
            raise RuntimeError(str(exc)) from exc  # retried with backoff, then the box is ERROR
        if action.action is BoxActionType.DELETE:
            async with queue.sessionmaker() as session:
                shots = await screenshot_keys(session, box)
            await remove_objects(storage, shots)  # the box's screenshots go with it
        await _finish(queue, claimed, action, url)

    return run


async def _act(provider: BoxProvider, action: BoxAction, box: Box, limits: BoxLimits) -> str | None:
    kind = action.action
    if kind is BoxActionType.CREATE:
        await provider.create(box.id, limits)
    elif kind is BoxActionType.CLONE:
        await provider.clone(action.metadata_["sourceBoxId"], box.id)
    elif kind is BoxActionType.RESTART:
        await provider.stop(box.id)
    elif kind is BoxActionType.STOP:
        await provider.stop(box.id)
        return None
    elif kind is BoxActionType.DELETE:
        await provider.delete(box.id)
        return None
    return await provider.start(box.id, limits)


async def _finish(queue: BoxActionQueue, claimed: Claimed, action: BoxAction, url: str | None) -> None:
    status, message = _OUTCOME[action.action]
    now = utcnow()
    async with transaction(queue.sessionmaker) as session:
        done = await session.scalar(
            update(BoxAction)
            .where(
                BoxAction.id == claimed.id,
                BoxAction.status == JobStatus.PROCESSING,
                BoxAction.retry_count == claimed.attempt,
            )
            .values(status=JobStatus.COMPLETED, error=None, processing_completed_at=now, updated_at=now)
            .returning(BoxAction.id)
        )
        if done is None:
            raise LeaseLost(claimed.id)
        box = await session.get(Box, action.box_id, with_for_update=True)
        assert box is not None
        box.connection_url = url
        # A later request (a delete while this was queued) set the box's in-between status and its
        # action, queued behind this one, ends the box its way: this outcome must not hide it.
        if not await _later_action(session, action):
            box.status = status
        if status is not BoxStatus.RUNNING:
            billing.end_run(box)
        system_message(session, box.id, message)


async def _later_action(session: AsyncSession, action: BoxAction) -> bool:
    """Another action of the box waits (one box's actions run in order: any other is later)."""
    statement = select(BoxAction.id).where(
        BoxAction.box_id == action.box_id,
        BoxAction.id != action.id,
        BoxAction.status.in_((JobStatus.PENDING, JobStatus.PROCESSING)),
    )
    return await session.scalar(statement.limit(1)) is not None


async def action_failed(session: AsyncSession, action: BoxAction, reason: str) -> None:
    """The action will not succeed: the box is ERROR (a deleted one stays deleted), and a run whose
    browser never started is refunded its first hour."""
    box = await session.get(Box, action.box_id, with_for_update=True)
    if box is None:
        return
    if action.action in _STARTS:
        await billing.refund_unstarted_run(session, box, reason)
    else:
        billing.end_run(box)  # the browser's state is unknown: no more hours are billed
    box.status, box.connection_url = BoxStatus.ERROR, None
    system_message(session, box.id, f"{action.action.value.capitalize()} failed: {reason[:500]}")


def box_queues(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: BoxProvider,
    storage: Storage,
    settings: Settings,
) -> list[BoxActionQueue | AgentTaskQueue]:
    retry = settings.job_retry_base_seconds
    return [
        BoxActionQueue(
            engine, sessionmaker, action_processor(provider, storage), retry_base=retry, on_end=action_failed
        ),
        AgentTaskQueue(
            engine,
            sessionmaker,
            task_processor(storage, settings.box_task_timeout_seconds, settings.box_private_networks),
            retry_base=retry,
            on_end=chat.task_failed,
        ),
    ]


async def reap_orphans(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings) -> dict[str, int]:
    """Browsers and profiles of boxes whose rows are gone (their user was deleted: the rows went by
    cascade, nothing stopped the browser): stopped and removed. A box's files exist only after its
    row has committed, so a box being made is never taken for one."""
    provider = make_box_provider(settings)
    held = await provider.box_ids()
    if not held:
        return {"reaped": 0}
    async with sessionmaker() as session:
        known = set(await session.scalars(select(Box.id).where(Box.id.in_(held))))
    orphans = [box_id for box_id in held if box_id not in known]
    for box_id in orphans:
        await provider.delete(box_id)
    return {"reaped": len(orphans)}


def task_processor(storage: Storage, timeout: float, private_networks: bool) -> Any:
    async def run(queue: AgentTaskQueue, claimed: Claimed) -> None:
        await execute_task(queue, claimed, storage, timeout, private_networks=private_networks)

    return run
