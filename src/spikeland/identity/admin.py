"""User administration: search, role changes, deletion, admin bootstrap; every change is audited.

Services re-read the acting user's role from the database rather than trusting the router's
check (which saw the row as it was when the request began). Role changes and deletions lock
the SUPER_ADMIN rows first, always in id order, so "at least one SUPER_ADMIN remains" holds
under concurrency and two admin actions never deadlock on each other.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from spikeland.core.export import to_csv
from spikeland.core.pagination import MAX_PAGE, Page, newest_first
from spikeland.core.security import hash_password, password_fits
from spikeland.identity import hooks, key_cache
from spikeland.identity.models import User, UserRole
from spikeland.identity.schemas import AuditEntryOut, Email
from spikeland.identity.service import create_user, find_user_by_email, revoke_sessions
from spikeland.ops import audit
from spikeland.ops.models import AdminAuditEvent, AuditAction, AuditLog
from spikeland.settings import Settings

ADMIN_ROLES = frozenset({UserRole.ADMIN, UserRole.SUPER_ADMIN})
MAX_QUERY_LENGTH = 100
MIN_PASSWORD_LENGTH = 8
# ON DELETE RESTRICT fails with restrict_violation; NO ACTION (checked later) with foreign_key_violation.
REFERENCE_VIOLATIONS = frozenset({"23001", "23503"})

# Foreign keys to users.id that are ON DELETE RESTRICT, and what they mean to an operator.
_RESTRICTED_BY = {
    "merch_orders_userId_fkey": "The user has merchandise orders, which must be kept.",
    "featured_gallery_items_createdBy_fkey": "The user created featured gallery items; remove them first.",
}

# ----------------------------------------------------------------------------- role checks


async def _require_role(session: AsyncSession, actor: User, *, super_admin: bool) -> None:
    role = await session.scalar(select(User.role).where(User.id == actor.id))
    if super_admin and role != UserRole.SUPER_ADMIN:
        raise Forbidden("Super-admin access required.", code="super_admin_required")
    if role not in ADMIN_ROLES:
        raise Forbidden("Admin access required.", code="admin_required")


async def lock_super_admins(session: AsyncSession) -> set[str]:
    """Lock every SUPER_ADMIN row (id order) until the transaction ends; returns their ids.

    ``FOR NO KEY UPDATE`` conflicts with role changes and deletions, not with inserts that only
    reference a user (a super admin can still sign in meanwhile). Under READ COMMITTED a row
    demoted by a transaction we waited for is re-checked and left out, so the count is never high.
    """
    result = await session.scalars(
        select(User.id)
        .where(User.role == UserRole.SUPER_ADMIN)
        .order_by(User.id)
        .with_for_update(key_share=True)
    )
    return set(result.all())


async def _lock_user(session: AsyncSession, user_id: str) -> User:
    statement = (
        select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
    )
    user = await session.scalar(statement)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return user


# ----------------------------------------------------------------------------- reading


async def list_users(
    session: AsyncSession,
    actor: User,
    *,
    query: str | None = None,
    role: UserRole | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[User]:
    """Users newest first (createdAt, id descending); ``query`` matches email or name, any case."""
    await _require_role(session, actor, super_admin=False)
    statement = select(User)
    if query and query.strip():
        escaped = query.strip()[:MAX_QUERY_LENGTH].replace("\\", "\\\\").replace("%", r"\%")
        pattern = "%" + escaped.replace("_", r"\_") + "%"
        statement = statement.where(
            or_(User.email.ilike(pattern, escape="\\"), User.name.ilike(pattern, escape="\\"))
        )
    if role is not None:
        statement = statement.where(User.role == role)
    return await newest_first(session, statement, User.created_at, User.id, limit=limit, cursor=cursor)


async def get_user(session: AsyncSession, actor: User, user_id: str) -> User:
    await _require_role(session, actor, super_admin=False)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return user


async def list_audit_entries(
    session: AsyncSession,
    actor: User,
    *,
    action: str | None = None,
    actor_id: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[AuditLog | AdminAuditEvent]:
    await _require_role(session, actor, super_admin=False)
    return await audit.list_entries(
        session,
        action=action,
        actor_id=actor_id,
        target_id=target_id,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )


async def export_audit_entries(
    session: AsyncSession, actor: User, *, at_most: int, **filters: Any
) -> list[AuditLog | AdminAuditEvent]:
    """The entries ``list_audit_entries`` pages through (same filters), newest first, up to
    ``at_most``: the role checked once, then full pages."""
    await _require_role(session, actor, super_admin=False)
    found: list[AuditLog | AdminAuditEvent] = []
    cursor: str | None = None
    while len(found) < at_most:
        page = await audit.list_entries(session, cursor=cursor, limit=MAX_PAGE, **filters)
        found += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    return found[:at_most]


EXPORT_LIMIT = 100_000
AUDIT_COLUMNS = ("id", "createdAt", "userId", "action", "targetId", "ipAddress", "metadata")


async def audit_csv(session: AsyncSession, actor: User, **filters: Any) -> str:
    """The entries of ``filters`` as CSV, newest first, at most ``EXPORT_LIMIT`` (a narrower range
    for more): what the admin API's export and the console's export link download."""
    entries = await export_audit_entries(session, actor, at_most=EXPORT_LIMIT, **filters)
    rows = [AuditEntryOut.of(entry).model_dump(mode="json", by_alias=True) for entry in entries]
    return to_csv(rows, AUDIT_COLUMNS)


# ----------------------------------------------------------------------------- changing


async def change_role(
    session: AsyncSession, actor: User, user_id: str, role: UserRole, ip: str | None
) -> User:
    """Set ``user_id``'s role. Only a SUPER_ADMIN changes roles (every change grants or revokes
    ADMIN or SUPER_ADMIN), and the last SUPER_ADMIN cannot be demoted, not even by themselves."""
    await _require_role(session, actor, super_admin=True)
    super_admins = await lock_super_admins(session)
    if actor.id not in super_admins:  # demoted while we waited for the lock
        raise Forbidden("Super-admin access required.", code="super_admin_required")
    target = await _lock_user(session, user_id)
    previous = target.role
    if previous == role:
        return target
    if previous == UserRole.SUPER_ADMIN and len(super_admins) <= 1:
        raise Conflict("The last super admin cannot be demoted.", code="last_super_admin")
    target.role = role
    await session.flush()
    await audit.record(
        session,
        actor_id=actor.id,
        action=AuditAction.ROLE_CHANGE,
        target_id=target.id,
        metadata={"from": previous.value, "to": role.value},
        ip=ip,
    )
    return target


async def delete_user(session: AsyncSession, actor: User, user_id: str, ip: str | None) -> list[str]:
    """Delete a user and, through the schema's cascades, their data; return the storage keys of
    their files (``hooks.on_user_delete``), for the caller to remove once this has committed.

    Admins delete users; only a SUPER_ADMIN deletes an ADMIN or SUPER_ADMIN; nobody deletes
    themselves here. A user still referenced under ON DELETE RESTRICT (orders, featured gallery
    items) is a 409 naming what holds them.
    """
    await _require_role(session, actor, super_admin=False)
    if user_id == actor.id:
        raise Forbidden("Admins cannot delete their own account here.", code="cannot_delete_self")
    super_admins = await lock_super_admins(session)
    target = await _lock_user(session, user_id)
    if target.role in ADMIN_ROLES and actor.id not in super_admins:
        raise Forbidden("Only a super admin can delete an admin.", code="super_admin_required")
    if target.role == UserRole.SUPER_ADMIN and len(super_admins) <= 1:
        raise Conflict("The last super admin cannot be deleted.", code="last_super_admin")
    snapshot = {"email": target.email, "name": target.name, "role": target.role.value}
    files = await hooks.run_user_delete_hooks(session, target.id)  # the row is locked: none added
    try:
        async with session.begin_nested():
            await session.execute(delete(User).where(User.id == target.id))
    except IntegrityError as exc:
        cause = getattr(exc.orig, "__cause__", None)
        constraint = getattr(cause, "constraint_name", None)
        if getattr(cause, "sqlstate", None) not in REFERENCE_VIOLATIONS:
            raise
        message = _RESTRICTED_BY.get(str(constraint), "Other records still refer to this user.")
        raise Conflict(
            message,
            code="user_has_dependent_records",
            details={"table": getattr(cause, "table_name", None), "constraint": constraint},
        ) from None
    session.expunge(target)
    key_cache.forget_user_keys(user_id)  # its keys went by cascade (see identity.key_cache)
    await audit.record(
        session,
        actor_id=actor.id,
        action=AuditAction.USER_DELETE,
        target_id=user_id,
        metadata=snapshot,
        ip=ip,
    )
    return files


async def record_admin_login(
    session: AsyncSession, user: User, ip: str | None, method: str = "password"
) -> None:
    """Write ADMIN_LOGIN when an ADMIN or SUPER_ADMIN signs in; other users leave no audit row."""
    if user.role in ADMIN_ROLES:
        await audit.record(
            session,
            actor_id=user.id,
            action=AuditAction.ADMIN_LOGIN,
            target_id=user.id,
            metadata={"method": method},
            ip=ip,
        )


# ----------------------------------------------------------------------------- bootstrap (CLI)


async def create_or_promote_admin(
    session: AsyncSession, settings: Settings, email: str, password: str | None, super_admin: bool
) -> User:
    """For ``spikeland users create-admin EMAIL``: make the user if missing, then raise their role.

    A new user needs a password. A password given for an existing user replaces theirs and signs
    out their sessions (the operator's way back into a locked-out admin account). A promotion
    never lowers a role: a SUPER_ADMIN stays one. The change is audited as the user's own
    ROLE_CHANGE, marked ``via: cli`` (there is no acting admin).
    """
    try:
        address = TypeAdapter(Email).validate_python(email)
    except ValidationError:
        raise ValidationFailed("That is not a valid email address.", code="invalid_email") from None
    if password is not None and (len(password) < MIN_PASSWORD_LENGTH or not password_fits(password)):
        raise ValidationFailed(
            f"The password must be {MIN_PASSWORD_LENGTH} characters to 72 bytes long.",
            code="invalid_password",
        )
    password_hash = await hash_password(password, settings.bcrypt_cost) if password is not None else None
    user = await find_user_by_email(session, address)
    if user is None:
        if password_hash is None:
            raise ValidationFailed("A new admin needs a password.", code="password_required")
        user = await create_user(session, email=address, password_hash=password_hash)
    elif password_hash is not None:
        user.password_hash = password_hash
        await revoke_sessions(session, user.id)
    await session.flush()
    user = await _lock_user(session, user.id)
    wanted = UserRole.SUPER_ADMIN if super_admin else UserRole.ADMIN
    if user.role in (UserRole.SUPER_ADMIN, wanted):
        return user
    previous = user.role
    user.role = wanted
    await session.flush()
    await audit.record(
        session,
        actor_id=user.id,
        action=AuditAction.ROLE_CHANGE,
        target_id=user.id,
        metadata={"from": previous.value, "to": wanted.value, "via": "cli"},
    )
    return user
