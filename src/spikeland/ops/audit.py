"""The audit trail of admin actions: rows are added and read here, never changed or removed.

Append-only is a property of this module: it has no update or delete. (The database still
removes an admin's rows when that admin's user row is deleted — ``audit_logs.userId`` is
``ON DELETE CASCADE`` in the specification.)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.errors import NotFound
from spikeland.ops.models import AuditAction, AuditLog

MAX_PAGE = 100


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
    after: tuple[datetime, str] | None = None,
    limit: int = 50,
) -> tuple[list[AuditLog], bool]:
    """Newest first (createdAt, id descending), starting after the keyset ``after``.

    Returns up to ``limit`` entries and whether more follow.
    """
    limit = max(1, min(limit, MAX_PAGE))
    statement = select(AuditLog).order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
    if action is not None:
        statement = statement.where(AuditLog.action == action)
    if actor_id is not None:
        statement = statement.where(AuditLog.user_id == actor_id)
    if target_id is not None:
        statement = statement.where(AuditLog.target_id == target_id)
    if after is not None:
        # Typed literals, so the row comparison stays on `timestamp` and can use the createdAt index.
        bound = tuple_(literal(after[0], AuditLog.created_at.type), literal(after[1], AuditLog.id.type))
        statement = statement.where(tuple_(AuditLog.created_at, AuditLog.id) < bound)
    rows = list((await session.scalars(statement.limit(limit + 1))).all())
    return rows[:limit], len(rows) > limit
