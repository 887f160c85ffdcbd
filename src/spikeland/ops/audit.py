"""The audit trail of admin actions: rows are added and read here, never changed or removed.

Append-only is a property of this module: it has no update or delete. (The database still
removes an admin's rows when that admin's user row is deleted — ``audit_logs.userId`` is
``ON DELETE CASCADE`` in the specification.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.errors import NotFound
from spikeland.core.pagination import Page, newest_first
from spikeland.ops.models import AuditAction, AuditLog


async def record(
    session: AsyncSession,
    *,
    actor_id: str,
    action: AuditAction,
    target_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditLog:
    """Append one entry in the caller's transaction, so it stands or falls with the action it records."""
    statement = (
        insert(AuditLog)
        .values(user_id=actor_id, action=action, target_id=target_id, metadata_=metadata, ip_address=ip)
        .returning(AuditLog)
    )
    return (await session.scalars(statement)).one()


async def get_entry(session: AsyncSession, entry_id: str) -> AuditLog:
    entry = await session.get(AuditLog, entry_id)
    if entry is None:
        raise NotFound("No such audit entry.", code="audit_entry_not_found")
    return entry


async def list_entries(
    session: AsyncSession,
    *,
    action: AuditAction | None = None,
    actor_id: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[AuditLog]:
    """Newest first (createdAt, id descending), starting after the keyset ``after``.

    Returns up to ``limit`` entries and whether more follow.
    """
    statement = select(AuditLog)
    if action is not None:
        statement = statement.where(AuditLog.action == action)
    if actor_id is not None:
        statement = statement.where(AuditLog.user_id == actor_id)
    if target_id is not None:
        statement = statement.where(AuditLog.target_id == target_id)
    if since is not None:
        statement = statement.where(AuditLog.created_at >= since)
    if until is not None:
        statement = statement.where(AuditLog.created_at < until)
    return await newest_first(
        session, statement, AuditLog.created_at, AuditLog.id, limit=limit, cursor=cursor
    )
