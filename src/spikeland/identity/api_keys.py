"""API keys: ``sk_live_`` + 32 random bytes; only the SHA-256 digest and a display prefix are kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.core.security import digest
from spikeland.identity.models import ApiKey, User

KEY_PREFIX = "sk_live_"
# lastUsedAt is written only when it is older than this, so a busy key is not a write per request.
LAST_USED_GRANULARITY = timedelta(minutes=5)


@dataclass(frozen=True)
class AuthenticatedKey:
    user: User
    api_key_id: str


async def authenticate(session: AsyncSession, presented: str) -> AuthenticatedKey | None:
    """The owner of an active key, or None for an unknown, malformed or revoked one."""
    if not presented.startswith(KEY_PREFIX) or len(presented) > 200:
        return None
    row = (
        await session.execute(
            select(User, ApiKey.id, ApiKey.last_used_at)
            .join(ApiKey, ApiKey.user_id == User.id)
            .where(ApiKey.key_hash == digest(presented), ApiKey.is_active.is_(True))
        )
    ).one_or_none()
    if row is None:
        return None
    user, key_id, last_used = row
    now = utcnow()
    if last_used is None or now - last_used >= LAST_USED_GRANULARITY:
        await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
    return AuthenticatedKey(user=user, api_key_id=key_id)
