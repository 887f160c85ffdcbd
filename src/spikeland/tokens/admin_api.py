"""Admin adjustments of a user's tokens (audited)."""

from __future__ import annotations

from fastapi import APIRouter, status

from spikeland.core.deps import ClientIp, IdempotencyKey
from spikeland.core.openapi import errors
from spikeland.core.routing import Route
from spikeland.db.session import DbSession
from spikeland.identity.deps import AdminUser
from spikeland.tokens.admin import adjust as admin_adjust
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
    movement = await admin_adjust(session, admin, user_id, body.amount, body.reason, ip, key)
    return MovementOut.model_validate(movement)
