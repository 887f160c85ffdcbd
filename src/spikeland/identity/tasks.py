"""Identity's periodic work: sessions and verification tokens past their expiry are deleted."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.identity.service import purge_expired_sessions
from spikeland.identity.verification import purge_expired_tokens


async def purge_expired(session: AsyncSession) -> dict[str, int]:
    """Delete expired sessions and verification tokens; returns how many of each went."""
    return {
        "sessions": await purge_expired_sessions(session),
        "verification_tokens": await purge_expired_tokens(session),
    }
