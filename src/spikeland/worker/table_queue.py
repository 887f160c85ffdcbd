"""A table of jobs as a queue of the job runner: claim, heartbeat, recorded progress, completion,
retry and lease recovery — for any table with ``id``, ``status`` (JobStatus), ``updatedAt``,
``processingStartedAt``, ``processingCompletedAt``, ``errorMessage`` (or another error column, see
``TableSpec``), ``retryCount``, ``maxRetries`` and ``runAfter`` (image enhancement jobs, generation
jobs, box actions).

Every write after the claim is fenced by (status PROCESSING, retryCount = the attempt claimed): a
worker whose lease expired and whose job was taken again finds its writes match no row and stops
(``LeaseLost``), so one job is finished — and refunded — once. Each change NOTIFYs the events
channel with ``"<jobId> <status> <stage>"`` in the change's own transaction (progress streams).
Times are the database's: one clock for every worker's leases. What ending a job without success
means (refunds) is the subclass's ``end``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from spikeland.core.clock import utcnow
from spikeland.db.engine import transaction
from spikeland.db.enums import JobStatus
from spikeland.worker.runner import Claimed, LeaseLost, backoff, driver

NOW = "(now() AT TIME ZONE 'UTC')::timestamp(3)"
SERVER_NOW = object()  # as a column value to ``record``: the database's time
EVENTS_CHANNEL = "spikeland_job_events"  # a job changed (every job table; ids are unique)
LOST_LEASE = "The worker processing this job stopped answering (lease expired)."
_FENCE = """WHERE id = $1 AND status = 'PROCESSING' AND "retryCount" = $2"""


@dataclass(frozen=True)
class TableSpec:
    table: str
    jobs_channel: str  # NOTIFY channel announcing claimable jobs
    columns: Mapping[str, str]  # what ``record`` may write: column name → SQL cast of its parameter
    stage_column: str | None = None  # a column naming the current stage, for the events
    # The specified tables name it differently (box_actions, agent_tasks: ``error``).
    error_column: str = "errorMessage"
    # Jobs with the same value here run one at a time, oldest first (a box's actions, its tasks):
    # a job is claimable only when no older job of its group is PENDING or PROCESSING.
    serial_column: str | None = None


def _value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


class TableQueue:
    name: str
    spec: TableSpec

    def __init__(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        processor: Callable[[Any, Claimed], Awaitable[None]],
        *,
        retry_base: float,
    ) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker
        self.processor = processor
        self.retry_base = retry_base
        self.channel = self.spec.jobs_channel
        table, stage = self.spec.table, self.spec.stage_column
        stage_text = f"coalesce(\"{stage}\"::text, '')" if stage else "''"
        self._returning = "RETURNING id, status" + (f', "{stage}"' if stage else "")
        self._notify = f"SELECT pg_notify('{EVENTS_CHANNEL}', id || ' ' || status || ' ' || {stage_text})"
        clear_stage = f', "{stage}" = NULL' if stage else ""
        error = self.spec.error_column
        self._heartbeat = f'UPDATE {table} SET "updatedAt" = {NOW} {_FENCE}'
        self._retry = f"""
WITH changed AS (
    UPDATE {table}
    SET status = 'PENDING', "retryCount" = "retryCount" + 1, "{error}" = $4{clear_stage},
        "runAfter" = {NOW} + make_interval(secs => $3), "updatedAt" = {NOW}
    {_FENCE}
    {self._returning}
)
{self._notify} FROM changed
"""
        self._stale = f"""
SELECT id, "retryCount", "maxRetries" FROM {table}
WHERE status = 'PROCESSING' AND "updatedAt" < {NOW} - make_interval(secs => $1)
ORDER BY "updatedAt"
LIMIT $2
"""

    # ----------------------------------------------------------------------------- statements

    @functools.cache  # noqa: B019  (a handful of limits per queue; the queues live as long as the process)
    def claim_sql(self, limit: int) -> str:
        # ``id = ANY(ARRAY(...))`` rather than a join with the subquery: the generic plan of a join
        # hashes a sequential scan of the whole table (8 ms at 40k jobs instead of 0.3). The LIMIT is
        # in the text: as a parameter it makes the generic plan look costly, so PostgreSQL would
        # plan the statement afresh on every call (~0.2 ms, as much as running it).
        table, serial = self.spec.table, self.spec.serial_column
        in_turn = ""
        if serial:
            in_turn = f"""AND NOT EXISTS (
        SELECT 1 FROM {table} older
        WHERE older."{serial}" = {table}."{serial}" AND older.status IN ('PENDING', 'PROCESSING')
          AND (older."createdAt", older.id) < ({table}."createdAt", {table}.id))"""
        return f"""
UPDATE {table}
SET status = 'PROCESSING', "updatedAt" = {NOW}, "runAfter" = NULL,
    "processingStartedAt" = coalesce("processingStartedAt", {NOW})
WHERE id = ANY(ARRAY(
    SELECT id FROM {table}
    WHERE status = 'PENDING' AND ("runAfter" IS NULL OR "runAfter" <= {NOW}) {in_turn}
    ORDER BY "updatedAt"
    LIMIT {int(limit)}
    FOR UPDATE SKIP LOCKED
))
RETURNING id, "retryCount", "maxRetries"
"""

    @functools.cache  # noqa: B019
    def update_sql(self, columns: tuple[str, ...], now_columns: tuple[str, ...], status: str | None) -> str:
        """The fenced UPDATE (+ NOTIFY) writing ``columns`` as $3... and ``now_columns`` as now."""
        casts = self.spec.columns
        sets = [f'"{name}" = ${i + 3}{casts[name]}' for i, name in enumerate(columns)]
        sets += [f'"{name}" = {NOW}' for name in now_columns if name in casts]
        if status is not None:
            sets.append(f"status = '{JobStatus(status).value}'")
        sets.append(f'"updatedAt" = {NOW}')
        return f"""
WITH changed AS (
    UPDATE {self.spec.table} SET {", ".join(sets)}
    {_FENCE}
    {self._returning}
)
{self._notify} FROM changed
"""

    # ------------------------------------------------------------------------------ the queue

    async def claim(self, limit: int) -> list[Claimed]:
        async with driver(self.engine) as connection:
            rows = await connection.fetch(self.claim_sql(limit))
        return [Claimed(row["id"], row["retryCount"], row["maxRetries"]) for row in rows]

    async def process(self, job: Claimed) -> None:
        await self.processor(self, job)

    async def record(self, job: Claimed, *, status: JobStatus | None = None, **columns: Any) -> None:
        """Write progress (``currentStage=...``, results) fenced by the attempt; LeaseLost if not ours."""
        names = tuple(n for n, v in columns.items() if v is not SERVER_NOW)
        now_names = tuple(n for n, v in columns.items() if v is SERVER_NOW)
        sql = self.update_sql(names, now_names, status.value if status else None)
        async with driver(self.engine) as connection:
            row = await connection.fetchrow(sql, job.id, job.attempt, *(_value(columns[n]) for n in names))
        if row is None:
            raise LeaseLost(job.id)

    async def complete(self, job: Claimed, **columns: Any) -> None:
        if self.spec.stage_column:
            columns = {self.spec.stage_column: None, **columns}
        columns = {self.spec.error_column: None, **columns}
        await self.record(job, status=JobStatus.COMPLETED, processingCompletedAt=SERVER_NOW, **columns)

    async def heartbeat(self, job: Claimed) -> bool:
        async with driver(self.engine) as connection:
            result = await connection.execute(self._heartbeat, job.id, job.attempt)
        return bool(result.endswith(" 1"))

    async def retry(self, job: Claimed, error: str, delay: float) -> None:
        async with driver(self.engine) as connection:
            row = await connection.fetchrow(self._retry, job.id, job.attempt, float(delay), error)
        if row is None:
            raise LeaseLost(job.id)

    async def give_up(self, job: Claimed, error: str) -> None:
        """End the job without success (with its refund) in one transaction; LeaseLost if not ours."""
        async with transaction(self.sessionmaker) as session:
            if not await self.end(session, job.id, error, fence=job.attempt):
                raise LeaseLost(job.id)

    async def end(self, session: AsyncSession, job_id: str, error: str, *, fence: int) -> bool:
        """Mark the job failed (and refund it) if it is PROCESSING on attempt ``fence``."""
        raise NotImplementedError

    async def recover(self, lease: float) -> int:
        """Jobs whose lease expired: a failed attempt each (retried, or given up after the last)."""
        async with driver(self.engine) as connection:
            rows = await connection.fetch(self._stale, float(lease), 100)
        for row in rows:
            job = Claimed(row["id"], row["retryCount"], row["maxRetries"])
            try:
                if job.retries_left:
                    await self.retry(job, LOST_LEASE, backoff(job.attempt, self.retry_base))
                else:
                    await self.give_up(job, LOST_LEASE)
            except LeaseLost:
                pass  # its worker answered after all, or another recoverer was first
        return len(rows)


# What else ending a job without success means, in the same transaction: the owner's refund. The
# domain that owns the job passes it (e.g. ``tokens.service.refund_job``), so this machinery knows
# no domain. Called with the session, the ended row and the reason.
OnEnd = Callable[[AsyncSession, Any, str], Awaitable[None]]


async def end_paid_job(
    session: AsyncSession,
    model: Any,
    job_id: str,
    *,
    fence: int | None,
    values: dict[str, Any],
    on_end: OnEnd,
    reason: str,
) -> Any | None:
    """End a job that will not complete and give its tokens back (``on_end``), in the caller's
    transaction.

    ``fence`` None: a PENDING job (cancelled); else a PROCESSING job on that attempt. The status
    change and ``on_end`` commit together, and only the call that ended the row runs ``on_end``,
    so a job is refunded once whichever path ends it. Returns the ended row, or None when it was
    not in that state. ``model`` is the job table's ORM class (``status``, ``retry_count``…).
    """
    if fence is None:
        condition = model.status == JobStatus.PENDING
    else:
        condition = (model.status == JobStatus.PROCESSING) & (model.retry_count == fence)
    now = utcnow()
    statement = (
        update(model)
        .where(model.id == job_id, condition)
        .values(run_after=None, updated_at=now, **values)
        .returning(model)
    )
    job = (await session.execute(statement)).scalar_one_or_none()
    if job is None:
        return None
    await on_end(session, job, reason)
    stage = getattr(job, "current_stage", None)
    payload = f"{job.id} {job.status.value} {stage.value if stage else ''}"
    await session.execute(select(func.pg_notify(EVENTS_CHANNEL, payload)))
    return job


def failed_status(model: Any) -> Any:
    """REFUNDED for a job that cost tokens, FAILED for a free one (a SQL expression)."""
    return case(
        (model.tokens_cost > 0, literal(JobStatus.REFUNDED, model.status.type)),
        else_=literal(JobStatus.FAILED, model.status.type),
    )
