"""An admin's adjustment of a user's tokens: through the ledger, audited (the API and the console)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.identity import admin as identity_admin
from spikeland.identity.models import User
from spikeland.ops import audit
from spikeland.ops.models import AuditAction
from spikeland.tokens import service
from spikeland.tokens.idempotency import fingerprint, idempotency_source
from spikeland.tokens.ledger import Movement


async def adjust(
    session: AsyncSession,
    admin: User,
    user_id: str,
    amount: int,
    reason: str,
    ip: str | None,
    key: str | None = None,
) -> Movement:
    """Move ``amount`` (+/-) on ``user_id``'s balance with ``reason``; with ``key`` (an
    Idempotency-Key, a form's one-time id) a repeat is answered with the first movement and applied
    once. The TOKEN_ADJUSTMENT audit entry is written with the movement, once."""
    target = await identity_admin.get_user(session, admin, user_id)
    request = {"amount": amount, "reason": reason, "by": admin.id}
    movement = await service.adjust(
        session,
        target.id,
        amount,
        reason=reason,
        actor_id=admin.id,
        source_id=idempotency_source(key),
        # The acting admin is part of the request: another admin's use of the key is another one.
        fingerprint=fingerprint("adjust", request) if key else None,
    )
    if movement.applied:
        await audit.record(
            session,
            actor_id=admin.id,
            action=AuditAction.TOKEN_ADJUSTMENT,
            target_id=target.id,
            metadata={"amount": amount, "reason": reason, "balanceAfter": movement.balance_after},
            ip=ip,
        )
    return movement
