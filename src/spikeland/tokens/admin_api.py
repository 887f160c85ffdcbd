"""Admin adjustments of a user's tokens (audited)."""

from __future__ import annotations

from fastapi import APIRouter, status

from spikeland.core.deps import ClientIp, IdempotencyKey
from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.db.session import DbSession
from spikeland.identity import admin as identity_admin
from spikeland.identity.deps import AdminUser
from spikeland.ops import audit
from spikeland.ops.models import AuditAction
from spikeland.tokens import service
from spikeland.tokens.idempotency import fingerprint, idempotency_source
from spikeland.tokens.schemas import AdjustRequest, MovementOut

router = APIRouter(route_class=Route, prefix="/admin/users", tags=["admin"])


@router.post(
    "/{user_id}/tokens",
    openapi_extra=errors(user_not_found=404),
    response_model=MovementOut,
    status_code=status.HTTP_201_CREATED,
)
async def adjust(
    user_id: str,
    body: AdjustRequest,
    admin: AdminUser,
    session: DbSession,
    ip: ClientIp,
    key: IdempotencyKey = None,
) -> MovementOut:
    target = await identity_admin.get_user(session, admin, user_id)
    movement = await service.adjust(
        session,
        target.id,
        body.amount,
        reason=body.reason,
        actor_id=admin.id,
        source_id=idempotency_source(key),
        # The acting admin is part of the request: another admin's use of the key is another one.
        fingerprint=fingerprint("adjust", {**body.model_dump(mode="json"), "by": admin.id}) if key else None,
    )
    if movement.applied:
        await audit.record(
            session,
            actor_id=admin.id,
            action=AuditAction.TOKEN_ADJUSTMENT,
            target_id=target.id,
            metadata={"amount": body.amount, "reason": body.reason, "balanceAfter": movement.balance_after},
            ip=ip,
        )
    return MovementOut.model_validate(movement)
