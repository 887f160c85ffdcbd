"""The audit trail of admin actions: rows are added and read here, never changed or removed.

Append-only is a property of this module: it has no update or delete. (The database still
removes an admin's rows when that admin's user row is deleted — ``userId`` is ``ON DELETE
CASCADE`` in the specification.)

Two tables hold one trail: an action with a label in the spec's ``AuditAction`` goes to
``audit_logs``; any other (``FEEDBACK_TRIAGE``, ``JOB_CANCEL``…) to ``admin_audit_events``
(migration 0011 says why). ``list_entries`` reads both as one list, newest first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.errors import NotFound
from spikeland.core.pagination import MAX_PAGE, Page, decode_cursor, encode_cursor
from spikeland.ops.models import AdminAuditEvent, AuditAction, AuditLog

_LABELS = {action.value for action in AuditAction}


async def record(
    session: AsyncSession,
    *,
    actor_id: str,
    action: AuditAction | str,
    target_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditLog | AdminAuditEvent:
    """Append one entry in the caller's transaction, so it stands or falls with the action it records."""
    name = action.value if isinstance(action, AuditAction) else action
    table: Any = AuditLog if name in _LABELS else AdminAuditEvent
    value: Any = AuditAction(name) if table is AuditLog else name
    statement = (
        insert(table)
        .values(user_id=actor_id, action=value, target_id=target_id, metadata_=metadata, ip_address=ip)
        .returning(table)
    )
    entry: AuditLog | AdminAuditEvent = (await session.scalars(statement)).one()
    return entry


async def get_entry(session: AsyncSession, entry_id: str) -> AuditLog | AdminAuditEvent:
    entry: AuditLog | AdminAuditEvent | None = await session.get(AuditLog, entry_id)
    if entry is None:
        entry = await session.get(AdminAuditEvent, entry_id)
    if entry is None:
        raise NotFound("No such audit entry.", code="audit_entry_not_found")
    return entry


def _filtered(
    table: Any,
    action: str | None,
    actor_id: str | None,
    target_id: str | None,
    since: datetime | None,
    until: datetime | None,
    after: tuple[Any, ...] | None,
) -> Select[Any]:
    clauses = []
    if action is not None:
        clauses.append(table.action == (AuditAction(action) if table is AuditLog else action))
    for column, value in ((table.user_id, actor_id), (table.target_id, target_id)):
        if value is not None:
            clauses.append(column == value)
    if since is not None:
        clauses.append(table.created_at >= since)
    if until is not None:
        clauses.append(table.created_at < until)
    if after is not None:
        clauses.append(tuple_(table.created_at, table.id) < tuple_(*after))
    statement = select(table).order_by(table.created_at.desc(), table.id.desc())
    return statement.where(and_(*clauses)) if clauses else statement


async def list_entries(
    session: AsyncSession,
    *,
    action: AuditAction | str | None = None,
    actor_id: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[AuditLog | AdminAuditEvent]:
    """Both tables as one trail, newest first (createdAt, id descending), after ``cursor``.

    Each table gives its next ``limit + 1`` rows past the cursor; merged, the first ``limit`` are
    the page (the key is global: ids are unique across both tables).
    """
    limit = max(1, min(limit, MAX_PAGE))
    name = action.value if isinstance(action, AuditAction) else action
    after = decode_cursor(cursor, [datetime, str]) if cursor else None
    found: list[Any] = []
    for table in (AuditLog, AdminAuditEvent):
        if name is not None and (name in _LABELS) != (table is AuditLog):
            continue  # the action lives in the other table
        statement = _filtered(table, name, actor_id, target_id, since, until, after)
        found += list(await session.scalars(statement.limit(limit + 1)))
    found.sort(key=lambda entry: (entry.created_at, entry.id), reverse=True)
    items = found[:limit]
    following = encode_cursor((items[-1].created_at, items[-1].id)) if len(found) > limit else None
    return Page(items, following)
