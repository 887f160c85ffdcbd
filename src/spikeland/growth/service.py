"""Growth: vouchers and referrals (being written)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.tokens.ledger import Movement


async def apply_purchase_bonus(
    session: AsyncSession, user_id: str, purchased_tokens: int, source_id: str
) -> Movement | None:
    """Grant a pending PERCENTAGE_BONUS voucher on a token-pack purchase (none pending: None)."""
    return None
