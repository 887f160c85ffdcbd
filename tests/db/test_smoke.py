from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support import make_user


async def test_user_round_trip(session: AsyncSession) -> None:
    user = await make_user(session)
    assert len(user.id) == 25 and user.id.startswith("c")
    assert user.role == "USER" and user.referral_count == 0
    assert user.created_at.tzinfo is not None
    found = await session.execute(text("select count(*) from users where id = :id"), {"id": user.id})
    assert found.scalar_one() == 1
