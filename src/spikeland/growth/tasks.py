"""Growth's periodic jobs (scheduled by spikeland/jobs.py)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.growth import vouchers


async def settle_vouchers(session: AsyncSession) -> dict[str, int]:
    """``growth.settle_vouchers``: ACTIVE vouchers past their expiry become EXPIRED, those at their
    use limit DEPLETED. Redemptions and checks also write these when they find them, so the
    interval only bounds how long a list shows a stale ACTIVE (every 15 minutes is plenty)."""
    return await vouchers.settle_all(session)
