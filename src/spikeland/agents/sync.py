"""The periodic sync (``agents.sync``, every ``agent_sync_seconds``): every open session read back
from its provider.

For each session not in a final state whose provider is configured and that was not read within
half the interval (``syncedAt``), in a transaction of its own under ``FOR UPDATE SKIP LOCKED``:
read the session and all its activities from the provider first, then store the status (when the
provider's state is one of ours), new activities (``ON CONFLICT DO NOTHING`` on the provider's
activity id: each stored once however often this runs), the plan summary of the latest plan, the
failure reason, the pull request's URL and branch, ``lastActivityAt`` and ``syncedAt``. A provider
failure rolls that session's transaction back (nothing written) and is retried on the next run.
Two workers never read one session twice: one holds its lock, and once it commits ``syncedAt``
makes the session not due for the other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from spikeland.agents.models import (
    AgentProvider,
    AgentSessionActivity,
    ExternalAgentSession,
    ExternalAgentStatus,
)
from spikeland.agents.service import FINAL, provider_of, status_of
from spikeland.core.clock import utcnow
from spikeland.db.cuid import cuid
from spikeland.db.engine import transaction
from spikeland.integrations.agents import AgentActivity, AgentProviderError, CodingAgent
from spikeland.settings import Settings

_log = logging.getLogger(__name__)
MAX_PER_RUN = 1000


@dataclass
class SyncResult:
    synced: int = 0
    failed: int = 0
    activities: int = 0


async def _claim(
    session: AsyncSession, providers: list[AgentProvider], cutoff: datetime, skip: list[str]
) -> ExternalAgentSession | None:
    statement = (
        select(ExternalAgentSession)
        .where(
            ExternalAgentSession.provider.in_(providers),
            ExternalAgentSession.status.not_in(FINAL),
            or_(ExternalAgentSession.synced_at.is_(None), ExternalAgentSession.synced_at < cutoff),
            ExternalAgentSession.id.not_in(skip),
        )
        .order_by(ExternalAgentSession.synced_at.asc().nulls_first(), ExternalAgentSession.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return (await session.scalars(statement)).first()


async def _store_activities(
    session: AsyncSession, row: ExternalAgentSession, found: list[AgentActivity], now: datetime
) -> list[datetime]:
    """The activities not stored yet, inserted; their times."""
    if not found:
        return []
    values = [
        {
            "id": cuid(),
            "session_id": row.id,
            "external_id": activity.external_id,
            "type": activity.type,
            "content": activity.content,
            "metadata_": activity.metadata,
            "created_at": activity.created_at or now,
        }
        for activity in found
    ]
    statement = (
        insert(AgentSessionActivity)
        .values(values)
        .on_conflict_do_nothing(index_elements=["sessionId", "externalId"])
        .returning(AgentSessionActivity.created_at)
    )
    return list((await session.scalars(statement)).all())


async def sync_one(
    session: AsyncSession, agent: CodingAgent, row: ExternalAgentSession, now: datetime
) -> int:
    """Read ``row`` from ``agent`` and store what changed; the number of new activities."""
    remote = await agent.get_session(row.external_id)
    activities = await agent.list_activities(row.external_id)
    row.status = status_of(remote.state, row.status)
    plans = [a.plan_summary for a in activities if a.plan_summary]
    failures = [a.failure for a in activities if a.failure]
    if plans:
        row.plan_summary = plans[-1]
    if failures:
        row.error_message = failures[-1]
    elif row.status == ExternalAgentStatus.FAILED and not row.error_message:
        row.error_message = f"{agent.provider} reported the session failed without a reason."
    row.pull_request_url = remote.pull_request_url or row.pull_request_url
    row.output_branch = remote.output_branch or row.output_branch
    added = await _store_activities(session, row, activities, now)
    if added:
        latest = max(added)
        row.last_activity_at = max(latest, row.last_activity_at) if row.last_activity_at else latest
    row.synced_at = now
    await session.flush()
    return len(added)


async def sync_all(
    sessionmaker: async_sessionmaker[AsyncSession],
    agents: dict[str, CodingAgent],
    *,
    interval: float,
    now: datetime | None = None,
) -> SyncResult:
    now = now or utcnow()
    cutoff = now - timedelta(seconds=interval / 2)
    providers = [AgentProvider(name) for name in agents]
    result = SyncResult()
    skip: list[str] = []
    for _ in range(MAX_PER_RUN):
        try:
            async with transaction(sessionmaker) as session:
                row = await _claim(session, providers, cutoff, skip)
                if row is None:
                    break
                skip.append(row.id)
                result.activities += await sync_one(session, agents[row.provider.value], row, now)
                result.synced += 1
        except AgentProviderError as exc:
            _log.warning("agent session %s not synced: %s", skip[-1], exc)
            result.failed += 1
    return result


async def read_back_now(
    sessionmaker: async_sessionmaker[AsyncSession], agents: dict[str, CodingAgent], settings: Settings
) -> SyncResult:
    """An admin's "read back now": every open session at once (503 naming what to set when no
    provider is configured)."""
    if not agents:
        provider_of(agents, settings, AgentProvider.JULES)
    return await sync_all(sessionmaker, agents, interval=0)
