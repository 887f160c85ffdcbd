"""Growth's reactions to identity events; importing this module registers them.

Identity's hooks carry no settings, so the referral rules read the process settings
(``get_settings()``), as the rest of a deployment does.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from spikeland.growth import referrals
from spikeland.identity.hooks import SignupContext, on_email_verified, on_signup
from spikeland.identity.models import User
from spikeland.settings import get_settings


@on_signup
async def record_referral(session: AsyncSession, user: User, context: SignupContext) -> None:
    await referrals.record_signup(session, user, context.ip)


@on_email_verified
async def complete_referral(session: AsyncSession, user: User) -> None:
    await referrals.complete(session, user, get_settings())
