"""Admin endpoints: user search, role changes, deletion and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Response, status

from spikeland.core.deps import ClientIp
from spikeland.core.openapi import errors
from spikeland.core.pagination import PageLimit
from spikeland.core.routing import Route
from spikeland.core.schemas import RequestSchema, Schema
from spikeland.db.session import DbSession
from spikeland.identity import admin
from spikeland.identity.deps import AdminUser, SuperAdminUser
from spikeland.identity.models import UserRole
from spikeland.identity.schemas import AuditEntryOut, UserOut
from spikeland.integrations.deps import StorageDep
from spikeland.integrations.storage import remove_objects

router = APIRouter(route_class=Route, prefix="/admin", tags=["admin"])

Cursor = Annotated[str | None, Query(max_length=500)]


class AdminUserOut(UserOut):
    updated_at: datetime
    referred_by_id: str | None


class AdminUserPage(Schema):
    items: list[AdminUserOut]
    next_cursor: str | None


class RoleChange(RequestSchema):
    role: UserRole


class AuditPage(Schema):
    items: list[AuditEntryOut]
    next_cursor: str | None


@router.get("/users", response_model=AdminUserPage)
async def list_users(
    actor: AdminUser,
    session: DbSession,
    q: Annotated[str | None, Query(max_length=admin.MAX_QUERY_LENGTH)] = None,
    role: UserRole | None = None,
    limit: PageLimit = 50,
    cursor: Cursor = None,
) -> AdminUserPage:
    page = await admin.list_users(session, actor, query=q, role=role, limit=limit, cursor=cursor)
    return AdminUserPage(
        items=[AdminUserOut.model_validate(user) for user in page.items], next_cursor=page.next_cursor
    )


@router.get("/users/{user_id}", openapi_extra=errors(user_not_found=404), response_model=AdminUserOut)
async def get_user(user_id: str, actor: AdminUser, session: DbSession) -> AdminUserOut:
    return AdminUserOut.model_validate(await admin.get_user(session, actor, user_id))


@router.patch(
    "/users/{user_id}/role",
    openapi_extra=errors(user_not_found=404, last_super_admin=409),
    response_model=AdminUserOut,
)
async def change_role(
    user_id: str, body: RoleChange, actor: SuperAdminUser, session: DbSession, ip: ClientIp
) -> AdminUserOut:
    user = await admin.change_role(session, actor, user_id, body.role, ip)
    return AdminUserOut.model_validate(user)


@router.delete(
    "/users/{user_id}",
    openapi_extra=errors(
        user_not_found=404, cannot_delete_self=403, last_super_admin=409, user_has_dependent_records=409
    ),
    status_code=status.HTTP_204_NO_CONTENT,
)
async def delete_user(
    user_id: str,
    actor: AdminUser,
    session: DbSession,
    ip: ClientIp,
    storage: StorageDep,
    background: BackgroundTasks,
) -> None:
    files = await admin.delete_user(session, actor, user_id, ip)
    # Background tasks run after the response, so after the request's transaction committed.
    background.add_task(remove_objects, storage, files)


ActorId = Annotated[str | None, Query(alias="actorId", max_length=100)]
TargetId = Annotated[str | None, Query(alias="targetId", max_length=100)]
Since = Annotated[datetime | None, Query(description="From this time (inclusive).")]
Until = Annotated[datetime | None, Query(description="Before this time.")]


@router.get("/audit-logs", response_model=AuditPage)
async def list_audit_logs(
    actor: AdminUser,
    session: DbSession,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor_id: ActorId = None,
    target_id: TargetId = None,
    since: Since = None,
    until: Until = None,
    limit: PageLimit = 50,
    cursor: Cursor = None,
) -> AuditPage:
    """The audit trail, newest first, by action, actor, target and time."""
    page = await admin.list_audit_entries(
        session,
        actor,
        action=action,
        actor_id=actor_id,
        target_id=target_id,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    return AuditPage(items=[AuditEntryOut.of(entry) for entry in page.items], next_cursor=page.next_cursor)


@router.get("/audit-logs/export", response_class=Response)
async def export_audit_logs(
    actor: AdminUser,
    session: DbSession,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor_id: ActorId = None,
    target_id: TargetId = None,
    since: Since = None,
    until: Until = None,
) -> Response:
    """The same entries as CSV (newest first, at most 100,000; narrow the range for more)."""
    found = await admin.audit_csv(
        session, actor, action=action, actor_id=actor_id, target_id=target_id, since=since, until=until
    )
    headers = {"Content-Disposition": 'attachment; filename="audit-log.csv"'}
    return Response(found, media_type="text/csv", headers=headers)
