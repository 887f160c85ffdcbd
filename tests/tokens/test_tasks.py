from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.core.clock import utcnow
from spikeland.tokens import service
from spikeland.tokens.models import TokenTransactionType, UserTokenBalance
from spikeland.tokens.tasks import regenerate_due
from tests.support import make_user


async def test_the_job_regenerates_balances_nobody_read(session: AsyncSession) -> None:
    idle, full = await make_user(session), await make_user(session)
    await service.spend(session, idle.id, 6, TokenTransactionType.SPEND_ENHANCEMENT)  # 4 left
    await service.get_balance(session, full.id)  # 10 of 10: nothing to do
    an_hour_ago = utcnow() - timedelta(hours=1)
    await session.execute(
        update(UserTokenBalance)
        .where(UserTokenBalance.user_id.in_([idle.id, full.id]))
        .values(last_regeneration=an_hour_ago)
    )
    assert await regenerate_due(session) >= 1
    assert (await service.get_balance(session, idle.id)).balance == 8  # four quarter hours
    assert (await service.get_balance(session, full.id)).balance == 10
    await regenerate_due(session)
    assert (await service.get_balance(session, idle.id)).balance == 8  # applied once
