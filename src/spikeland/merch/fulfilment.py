"""``merch_fulfilment_jobs`` as a queue of the job runner: submitting paid orders, applying provider
updates (``worker.table_queue`` for claims, leases, retries with backoff).

A job's work and its completion commit together: the job row is finished by a statement fenced
by the attempt inside the work's own transaction, so a worker whose lease was taken over rolls
its work back (``LeaseLost``) and the order is changed once.

- SUBMIT: ``merch.submission``;
- APPLY: the inbox event's update applied to its order (``merch.shipping``) and the event marked
  processed. An event that cannot be read, or names no order of ours, is marked processed with
  the reason in an error log and its job FAILED: retrying would not change it.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from spikeland.core.clock import utcnow
from spikeland.db.engine import transaction
from spikeland.db.enums import JobStatus
from spikeland.integrations.pod import BadUpdate, PrintProvider, parse_update
from spikeland.integrations.stripe import StripeGateway
from spikeland.merch import shipping, submission
from spikeland.merch.jobs import JOBS_CHANNEL
from spikeland.merch.models import FulfilmentKind, MerchFulfilmentJob
from spikeland.ops.models import ErrorEnvironment, ErrorLog, MerchWebhookEvent
from spikeland.settings import Settings
from spikeland.worker.runner import Claimed, LeaseLost
from spikeland.worker.table_queue import TableQueue, TableSpec

_log = logging.getLogger(__name__)

_FINISH = text(
    """
UPDATE merch_fulfilment_jobs
SET status = CAST(:status AS "JobStatus"), "errorMessage" = :error, "runAfter" = NULL,
    "processingCompletedAt" = (now() AT TIME ZONE 'UTC')::timestamp(3),
    "updatedAt" = (now() AT TIME ZONE 'UTC')::timestamp(3)
WHERE id = :id AND status = 'PROCESSING' AND "retryCount" = :attempt
RETURNING id
"""
)


async def _finish(session: AsyncSession, job_id: str, attempt: int, error: str | None) -> None:
    """End the job in the work's transaction: COMPLETED, or FAILED with ``error``; LeaseLost if not ours."""
    status = JobStatus.FAILED if error else JobStatus.COMPLETED
    values = {"status": status.value, "error": error, "id": job_id, "attempt": attempt}
    if (await session.execute(_FINISH, values)).first() is None:
        raise LeaseLost(job_id)


def _bad_event(session: AsyncSession, event: MerchWebhookEvent, reason: str) -> None:
    session.add(
        ErrorLog(
            message=f"{event.provider} event {event.event_id} ({event.event_type}) not applied: {reason}",
            environment=ErrorEnvironment.BACKEND,
            error_type="PrintProviderEvent",
            error_code=event.event_type[:255],
            source_file=__name__,
            metadata_={"eventId": event.event_id, "inboxId": event.id},
        )
    )


class Fulfilment:
    """What the jobs need from outside: the provider, Stripe (refunds) and the settings."""

    def __init__(self, provider: PrintProvider, gateway: StripeGateway | None, settings: Settings) -> None:
        self.provider = provider
        self.gateway = gateway
        self.settings = settings

    async def apply(self, session: AsyncSession, event_id: str) -> tuple[str, str | None]:
        event = await session.get(MerchWebhookEvent, event_id, with_for_update=True)
        if event is None or event.processed:
            return "already applied", None
        event.processed, event.processed_at = True, utcnow()
        try:
            update = parse_update(event.provider, event.payload if isinstance(event.payload, dict) else {})
        except BadUpdate as exc:
            _bad_event(session, event, str(exc))
            return "unreadable", str(exc)
        order = await shipping.find_order(session, update)
        if order is None:
            reason = f"no order of ours is {update.provider_order_id} ({update.order_reference})"
            _bad_event(session, event, reason)
            return "no such order", reason
        done = await shipping.apply_update(session, order, update, self.settings)
        return "; ".join(done) or "nothing changed", None

    async def process(self, queue: FulfilmentQueue, job: Claimed) -> None:
        async with transaction(queue.sessionmaker) as session:
            row = await session.get(MerchFulfilmentJob, job.id)
            assert row is not None
            if row.kind == FulfilmentKind.SUBMIT and row.order_id is not None:
                outcome, error = await submission.submit(
                    session, row.order_id, self.provider, self.gateway, self.settings
                )
            elif row.kind == FulfilmentKind.APPLY and row.event_id is not None:
                outcome, error = await self.apply(session, row.event_id)
            else:
                outcome, error = "nothing to do", f"a {row.kind} job without its order or event"
            await _finish(session, job.id, job.attempt, error)
        _log.info("merch job %s (%s): %s", job.id, row.kind, outcome)


class FulfilmentQueue(TableQueue):
    name = "merch.fulfilment"
    spec = TableSpec(table="merch_fulfilment_jobs", jobs_channel=JOBS_CHANNEL, columns={})

    async def end(self, session: AsyncSession, job_id: str, error: str, *, fence: int) -> bool:
        row = await session.get(MerchFulfilmentJob, job_id, with_for_update=True)
        if row is None or row.status != JobStatus.PROCESSING or row.retry_count != fence:
            return False
        row.status, row.error_message = JobStatus.FAILED, error
        row.processing_completed_at, row.run_after = utcnow(), None
        if row.kind == FulfilmentKind.SUBMIT and row.order_id is not None:
            await submission.failed(session, row.order_id, error)
        return True


def fulfilment_queues(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    fulfilment: Fulfilment,
    settings: Settings,
) -> list[Any]:
    return [
        FulfilmentQueue(engine, sessionmaker, fulfilment.process, retry_base=settings.job_retry_base_seconds)
    ]
